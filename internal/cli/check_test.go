package cli

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// copyShop copies the example shop into a new folder and returns it.
func copyShop(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(shop)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(shop, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inNamespace puts every top-level object of the shop copy in dir in ns.
func inNamespace(t *testing.T, dir, ns string) {
	t.Helper()
	for _, f := range []string{"api.yaml", "config.yaml", "web.yaml", "worker.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "\nmetadata:\n", "\nmetadata:\n  namespace: "+ns+"\n"))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rewrite(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckOffline: a pull request that deletes the shop's namespace,
// scales web to 0 and exposes it fails plumb check with those violations,
// in each output format; an innocent change passes.
func TestCheckOffline(t *testing.T) {
	ns := "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	old := copyShop(t)
	if err := os.WriteFile(filepath.Join(old, "namespace.yaml"), []byte(ns), 0o644); err != nil {
		t.Fatal(err)
	}
	inNamespace(t, old, "shop")

	// An image bump only.
	bump := copyShop(t)
	_ = os.WriteFile(filepath.Join(bump, "namespace.yaml"), []byte(ns), 0o644)
	inNamespace(t, bump, "shop")
	rewrite(t, filepath.Join(bump, "api.yaml"), "shop-api:1.4.2", "shop-api:1.4.3")
	if code, out, stderr := run(t, "check", "--against", old, "--source", bump); code != ExitInSync || !strings.Contains(out, "No guardrail fired.") {
		t.Errorf("image bump: exit %d\n%s\n%s", code, out, stderr)
	}

	// The catastrophic pull request.
	bad := copyShop(t)
	inNamespace(t, bad, "shop")
	rewrite(t, filepath.Join(bad, "web.yaml"), "replicas: 2", "replicas: 0")
	rewrite(t, filepath.Join(bad, "web.yaml"), "spec:\n  selector:\n    app.kubernetes.io/name: web", "spec:\n  type: LoadBalancer\n  selector:\n    app.kubernetes.io/name: web")

	code, out, stderr := run(t, "check", "--against", old, "--source", bad, "-o", "json")
	var res struct {
		APIVersion, Kind string
		Violations       []struct {
			Rule, Severity, Kind, Namespace, Name, Message string
			Affected                                       int
			Source                                         *struct {
				Path string
				Line int
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("check -o json: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "check", out)
	if res.APIVersion != "plumb.dev/v1alpha1" || res.Kind != "CheckResult" {
		t.Errorf("check -o json: apiVersion %q kind %q, want plumb.dev/v1alpha1 CheckResult", res.APIVersion, res.Kind)
	}
	var got []string
	for _, v := range res.Violations {
		got = append(got, strings.Join([]string{v.Severity, v.Rule, v.Kind, v.Namespace, v.Name}, " ")+" affected="+itoa(int64(v.Affected)))
	}
	want := []string{
		"deny scale-to-zero Deployment shop web affected=0",
		"deny delete-namespace Namespace  shop affected=9",
		"warn expose-service Service shop web affected=0",
	}
	if diff := cmp.Diff(want, got); code != ExitDrift || diff != "" {
		t.Errorf("check: exit %d, violations (-want +got):\n%s", code, diff)
	}
	if !strings.Contains(out, `"violations": [`) || !strings.Contains(out, `"affected": 9`) {
		t.Errorf("JSON shape:\n%s", out)
	}
	// Each violation names the file and line that declare its object: the
	// new version's for a change, the previous one's for a deletion.
	var where []string
	for _, v := range res.Violations {
		if v.Source == nil {
			where = append(where, "none")
			continue
		}
		where = append(where, v.Source.Path+":"+itoa(int64(v.Source.Line)))
	}
	wantWhere := []string{filepath.Join(bad, "web.yaml") + ":1", filepath.Join(old, "namespace.yaml") + ":1", filepath.Join(bad, "web.yaml") + ":34"}
	if diff := cmp.Diff(wantWhere, where); diff != "" {
		t.Errorf("check -o json: sources (-want +got):\n%s", diff)
	}
	if code, out, _ := run(t, "check", "--against", old, "--source", bad, "-o", "yaml"); code != ExitDrift || !strings.Contains(out, "kind: CheckResult") {
		t.Errorf("yaml: exit %d\n%s", code, out)
	} else {
		requireSchema(t, "check", out)
	}
	if code, out, _ := run(t, "check", "--against", old, "--source", bad, "-o", "markdown"); code != ExitDrift ||
		!strings.Contains(out, "**plumb check**: 2 denied, 1 warning.") || !strings.Contains(out, "| ⛔ deny | `delete-namespace` | Namespace shop | 9 |") ||
		!strings.Contains(out, "| `"+filepath.Join(old, "namespace.yaml")+":1` |") {
		t.Errorf("markdown: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "check", "--against", old, "--source", bad); code != ExitDrift || !strings.Contains(out, "SEVERITY") || !strings.Contains(out, "scale-to-zero") ||
		!strings.Contains(out, "SOURCE") || !strings.Contains(out, filepath.Join(bad, "web.yaml")+":34") || !strings.Contains(out, filepath.Join(old, "namespace.yaml")+":1") {
		t.Errorf("table: exit %d, want each violation's file:line\n%s", code, out)
	}
	if code, out, _ := run(t, "check", "--against", old, "--source", bad, "--no-headers"); code != ExitDrift || strings.Contains(out, "SEVERITY") || !strings.HasPrefix(out, "deny") {
		t.Errorf("--no-headers: exit %d, want the rows alone\n%s", code, out)
	}
	// Each rule is one flag away from off; warnings alone pass.
	if code, out, _ := run(t, "check", "--against", old, "--source", bad, "--disable-rule", "scale-to-zero", "--disable-rule", "delete-namespace"); code != ExitInSync || !strings.Contains(out, "expose-service") {
		t.Errorf("with the deny rules off: exit %d\n%s", code, out)
	}

	// Bad input names the file and line and checks nothing.
	if err := os.WriteFile(filepath.Join(bad, "broken.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "check", "--against", old, "--source", bad); code != ExitError || out != "" || !strings.Contains(stderr, "broken.yaml") {
		t.Errorf("bad input: exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	if code, _, stderr := run(t, "check", "--against", old, "--source", bump, "--disable-rule", "no-such-rule"); code != ExitError || !strings.Contains(stderr, "no such rule") {
		t.Errorf("unknown rule: exit %d, %s", code, stderr)
	}
}

// TestCheckUserPolicies: CEL rules from --policy and from the
// configuration's policies run beside the built-in ones; a rule that does
// not compile stops the check with its file, line and name.
func TestCheckUserPolicies(t *testing.T) {
	old := copyShop(t)
	pinned := copyShop(t)
	rewrite(t, filepath.Join(pinned, "api.yaml"), "shop-api:1.4.2", "shop-api:latest")
	dir := t.TempDir()
	pol := filepath.Join(dir, "pinned.yaml")
	if err := os.WriteFile(pol, []byte(`apiVersion: plumb.dev/v1alpha1
kind: GuardrailPolicy
spec:
  rules:
    - name: no-latest-tag
      match: {apiGroups: [apps], kinds: [Deployment]}
      expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"
      message: images must be pinned to a version
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "check", "--against", old, "--source", pinned, "--policy", pol); code != ExitDrift ||
		!strings.Contains(out, "no-latest-tag") || !strings.Contains(out, "images must be pinned to a version") {
		t.Errorf("--policy: exit %d\n%s\n%s", code, out, stderr)
	}
	cfg := filepath.Join(dir, "plumb.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: plumb.dev/v1alpha1\nkind: Config\npolicies: [pinned.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := run(t, "check", "-c", cfg, "--against", old, "--source", pinned); code != ExitDrift || !strings.Contains(out, "no-latest-tag") {
		t.Errorf("-c with policies: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "check", "--against", old, "--source", pinned); code != ExitInSync {
		t.Errorf("without the policy: exit %d\n%s", code, out)
	}

	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("apiVersion: plumb.dev/v1alpha1\nkind: GuardrailPolicy\nspec:\n  rules:\n    - name: typo\n      expression: \"object.spec.replicas >\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "check", "--against", old, "--source", pinned, "--policy", broken); code != ExitError || out != "" ||
		!strings.Contains(stderr, broken+`:5: rule "typo": expression does not compile`) {
		t.Errorf("broken policy: exit %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
}

// TestCheckAgainstCluster: without --against, plumb check compares the
// sources with the live objects through the server's dry-run; with
// --against and a context, deletions are of live objects and what they
// take along is counted live.
func TestCheckAgainstCluster(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	live := func(args ...string) (int, string, string) {
		return run(t, append([]string{"check", "--kubeconfig", env.Kubeconfig, "-n", ns}, args...)...)
	}
	if code, out, stderr := live("--source", shop); code != ExitInSync || !strings.Contains(out, "No guardrail fired.") {
		t.Fatalf("in sync: exit %d\n%s\n%s", code, out, stderr)
	}

	next := copyShop(t)
	rewrite(t, filepath.Join(next, "web.yaml"), "replicas: 2", "replicas: 0")
	rewrite(t, filepath.Join(next, "web.yaml"), "spec:\n  selector:\n    app.kubernetes.io/name: web", "spec:\n  type: NodePort\n  selector:\n    app.kubernetes.io/name: web")
	if err := os.WriteFile(filepath.Join(next, "debug.yaml"), []byte(`apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: shell, image: busybox:1.36, securityContext: {privileged: true}}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := live("--source", next, "-o", "json")
	type violations struct {
		Violations []struct {
			Rule, Severity, Kind, Name, Message string
			Source                              *struct {
				Path string
				Line int
			}
		}
	}
	var res violations
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "check", out)
	var got, where []string
	for _, v := range res.Violations {
		got = append(got, v.Severity+" "+v.Rule+" "+v.Kind+"/"+v.Name+": "+v.Message)
		if v.Source != nil {
			where = append(where, v.Source.Path+":"+itoa(int64(v.Source.Line)))
		}
	}
	if code, out, stderr := live("--source", next, "-o", "sarif"); code != ExitDrift || !strings.Contains(out, `"uri": "`+filepath.ToSlash(filepath.Join(next, "debug.yaml"))+`"`) {
		t.Errorf("against the cluster, -o sarif: exit %d\n%s\n%s", code, out, stderr)
	} else {
		requireSchema(t, "sarif", out)
	}
	// Against the cluster too, each violation names its file and line.
	wantWhere := []string{filepath.Join(next, "web.yaml") + ":1", filepath.Join(next, "debug.yaml") + ":1", filepath.Join(next, "web.yaml") + ":33"}
	if diff := cmp.Diff(wantWhere, where); diff != "" {
		t.Errorf("against the cluster: sources (-want +got):\n%s", diff)
	}
	want := []string{
		`deny scale-to-zero Deployment/web: scales Deployment from 2 replicas to 0`,
		`deny privileged-pod Pod/debug: runs container "shell" privileged`,
		`warn expose-service Service/web: exposes the Service outside the cluster as NodePort`,
	}
	if diff := cmp.Diff(want, got); code != ExitDrift || diff != "" {
		t.Errorf("against the cluster: exit %d, violations (-want +got):\n%s", code, diff)
	}

	// A new selector: the server's dry-run refuses it, and that is the
	// immutable-field rule firing with the server's reason.
	selector := copyShop(t)
	b, err := os.ReadFile(filepath.Join(selector, "worker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(selector, "worker.yaml"), []byte(strings.ReplaceAll(string(b), "app.kubernetes.io/name: worker", "app.kubernetes.io/name: worker-v2")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = live("--source", selector)
	if code != ExitDrift || !strings.Contains(out, "immutable-field") || !strings.Contains(out, "field is immutable") || !strings.Contains(out, "worker") ||
		!strings.Contains(out, filepath.Join(selector, "worker.yaml")+":") {
		t.Errorf("a new selector: exit %d, want the refusal with worker.yaml's line\n%s\n%s", code, out, stderr)
	}

	// The previous version also declared the namespace and a ConfigMap
	// that is not live; the new one drops both.
	old := copyShop(t)
	if err := os.WriteFile(filepath.Join(old, "namespace.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: never-applied}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = live("--context", "envtest", "--against", old, "--source", shop, "-o", "json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "check", out)
	// A deletion is where the previous version declared the object.
	if len(res.Violations) != 1 || res.Violations[0].Source == nil || res.Violations[0].Source.Path != filepath.Join(old, "namespace.yaml") || res.Violations[0].Source.Line != 1 {
		t.Errorf("deleting the namespace: want its source %s:1\n%s", filepath.Join(old, "namespace.yaml"), out)
	}
	var withAffected struct {
		Violations []struct {
			Rule, Name string
			Affected   int
		}
	}
	_ = json.Unmarshal([]byte(out), &withAffected)
	if code != ExitDrift || len(withAffected.Violations) != 1 || withAffected.Violations[0].Rule != "delete-namespace" ||
		withAffected.Violations[0].Name != ns || withAffected.Violations[0].Affected != 9 {
		t.Errorf("deleting the namespace: exit %d, %+v (want delete-namespace with the 9 live objects of the shop)\n%s", code, withAffected.Violations, stderr)
	}
}

// theCatastrophe writes the shop's previous version (with its namespace)
// and a pull request that deletes the namespace, scales web to 0 and
// exposes it; it returns both folders.
func theCatastrophe(t *testing.T) (old, bad string) {
	t.Helper()
	old = copyShop(t)
	if err := os.WriteFile(filepath.Join(old, "namespace.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inNamespace(t, old, "shop")
	bad = copyShop(t)
	inNamespace(t, bad, "shop")
	rewrite(t, filepath.Join(bad, "web.yaml"), "replicas: 2", "replicas: 0")
	rewrite(t, filepath.Join(bad, "web.yaml"), "spec:\n  selector:\n    app.kubernetes.io/name: web", "spec:\n  type: LoadBalancer\n  selector:\n    app.kubernetes.io/name: web")
	return old, bad
}

// sarifLog is the part of a SARIF 2.1.0 log the tests read.
type sarifLog struct {
	Version string
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string
				Rules []struct {
					ID                   string
					DefaultConfiguration struct{ Level string }
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex int
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string }
					Region           struct{ StartLine int }
				}
			}
		}
	}
}

// TestCheckSARIF: plumb check -o sarif writes a SARIF 2.1.0 log that the
// OASIS schema takes: every rule that ran, one result per violation at
// its file and line, error for a denial and warning for a warning; the
// exit code is check's.
func TestCheckSARIF(t *testing.T) {
	old, bad := theCatastrophe(t)
	code, out, stderr := run(t, "check", "--against", old, "--source", bad, "-o", "sarif", "--disable-rule", "host-path")
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitDrift, out, stderr)
	}
	requireSchema(t, "sarif", out)
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("not one SARIF run: %v\n%s", err, out)
	}
	r := log.Runs[0]
	var rules []string
	for _, rule := range r.Tool.Driver.Rules {
		rules = append(rules, rule.ID+"="+rule.DefaultConfiguration.Level)
	}
	wantRules := []string{"delete-crd=error", "delete-namespace=error", "delete-volume=error", "scale-to-zero=error", "immutable-field=error",
		"remove-resources=warning", "rbac-wildcard=error", "bind-cluster-admin=error", "expose-service=warning", "privileged-pod=error"}
	if diff := cmp.Diff(wantRules, rules); log.Version != "2.1.0" || r.Tool.Driver.Name != "plumb" || diff != "" {
		t.Errorf("version %q, tool %q, rules (-want +got):\n%s", log.Version, r.Tool.Driver.Name, diff)
	}
	var got []string
	for _, res := range r.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(r.Tool.Driver.Rules) || r.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID || len(res.Locations) != 1 {
			t.Errorf("result %s: ruleIndex %d, %d locations", res.RuleID, res.RuleIndex, len(res.Locations))
			continue
		}
		loc := res.Locations[0].PhysicalLocation
		got = append(got, res.Level+" "+res.RuleID+" "+loc.ArtifactLocation.URI+":"+itoa(int64(loc.Region.StartLine))+" "+res.Message.Text)
	}
	want := []string{
		"error scale-to-zero " + filepath.ToSlash(filepath.Join(bad, "web.yaml")) + ":1 Deployment shop/web: scales Deployment from 2 replicas to 0",
		"error delete-namespace " + filepath.ToSlash(filepath.Join(old, "namespace.yaml")) + ":1 Namespace shop: deleting a Namespace deletes every object in it",
		"warning expose-service " + filepath.ToSlash(filepath.Join(bad, "web.yaml")) + ":34 Service shop/web: exposes the Service outside the cluster as LoadBalancer",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	// Nothing fired: a valid log with no results, exit 0.
	code, out, _ = run(t, "check", "--against", old, "--source", old, "-o", "sarif")
	if code != ExitInSync || !strings.Contains(out, `"results": []`) {
		t.Errorf("no violation: exit %d\n%s", code, out)
	}
	requireSchema(t, "sarif", out)
}

// junitReport is the JUnit XML plumb check -o junit writes.
type junitReport struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			File    string `xml:"file,attr"`
			Line    int    `xml:"line,attr"`
			Failure *struct {
				Type string `xml:"type,attr"`
				Text string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestCheckJUnit: plumb check -o junit writes a testsuite per rule that
// ran and a testcase per object it fired on, at its file and line, a
// failure for a denial; a warning passes with its message in system-out,
// and a rule that fired on nothing is one passing testcase.
func TestCheckJUnit(t *testing.T) {
	old, bad := theCatastrophe(t)
	code, out, stderr := run(t, "check", "--against", old, "--source", bad, "-o", "junit")
	if code != ExitDrift || !strings.HasPrefix(out, "<?xml") {
		t.Fatalf("exit %d, want %d and XML\n%s\n%s", code, ExitDrift, out, stderr)
	}
	var doc junitReport
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, out)
	}
	var got []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			line := s.Name + " | " + c.Name + " | " + c.File + ":" + itoa(int64(c.Line))
			switch {
			case c.Failure != nil:
				line += " | failure " + c.Failure.Type + ": " + c.Failure.Text
			case c.SystemOut != "":
				line += " | " + c.SystemOut
			}
			if s.Failures > s.Tests {
				t.Errorf("suite %s: %d failures of %d tests", s.Name, s.Failures, s.Tests)
			}
			got = append(got, line)
		}
	}
	web, ns := filepath.Join(bad, "web.yaml"), filepath.Join(old, "namespace.yaml")
	want := []string{
		"delete-crd | no change violates delete-crd | :0",
		"delete-namespace | Namespace shop | " + ns + ":1 | failure deny: " + ns + ":1: Namespace shop: deleting a Namespace deletes every object in it",
		"delete-volume | no change violates delete-volume | :0",
		"scale-to-zero | Deployment shop/web | " + web + ":1 | failure deny: " + web + ":1: Deployment shop/web: scales Deployment from 2 replicas to 0",
		"immutable-field | no change violates immutable-field | :0",
		"remove-resources | no change violates remove-resources | :0",
		"rbac-wildcard | no change violates rbac-wildcard | :0",
		"bind-cluster-admin | no change violates bind-cluster-admin | :0",
		"expose-service | Service shop/web | " + web + ":34 | warning: " + web + ":34: Service shop/web: exposes the Service outside the cluster as LoadBalancer",
		"privileged-pod | no change violates privileged-pod | :0",
		"host-path | no change violates host-path | :0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("test cases (-want +got):\n%s", diff)
	}
	if doc.Tests != 11 || doc.Failures != 2 {
		t.Errorf("testsuites: %d tests, %d failures; want 11 and 2", doc.Tests, doc.Failures)
	}

	// Warnings alone pass, as check does.
	if code, out, _ := run(t, "check", "--against", old, "--source", bad, "-o", "junit", "--disable-rule", "scale-to-zero", "--disable-rule", "delete-namespace"); code != ExitInSync ||
		!strings.Contains(out, `failures="0"`) || strings.Contains(out, "<failure") {
		t.Errorf("warnings only: exit %d\n%s", code, out)
	}
	// Bad input: exit 2 and no report.
	if err := os.WriteFile(filepath.Join(bad, "broken.yaml"), []byte("kind: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "check", "--against", old, "--source", bad, "-o", "junit"); code != ExitError || out != "" || !strings.Contains(stderr, "broken.yaml") {
		t.Errorf("bad input: exit %d\n%s\n%s", code, out, stderr)
	}
}
