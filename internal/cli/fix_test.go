package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

type fixDoc struct {
	Steps []struct {
		Kind, Name, Action, Risk, Manager string
		Changes                           []struct{ Path, Risk string }
	}
	Refusals []struct{ Guardrail, Object, Reason string }
	Results []struct {
		Outcome string
		Message string
	}
	Skipped []struct{ Object, Reason string }
	Run     int64
}

// testStores gives each test its own store file, shared by its commands.
var testStores sync.Map

func storeFor(t *testing.T) string {
	if p, ok := testStores.Load(t.Name()); ok {
		return p.(string)
	}
	p := filepath.Join(t.TempDir(), "plumb.db")
	testStores.Store(t.Name(), p)
	return p
}

func fix(t *testing.T, ns string, args ...string) (int, fixDoc, string) {
	t.Helper()
	code, out, stderr := run(t, append([]string{"fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "-o", "json", "--store", storeFor(t)}, args...)...)
	var d fixDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("fix -o json: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	return code, d, stderr
}

func TestFixPutsDriftBack(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/web", "--replicas=5")
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("annotate", "deployment/api", "example.com/owner-")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	k("delete", "configmap/flags")

	// The plan, without --yes and without a terminal: shown, not applied.
	code, plan, stderr := fix(t, ns, "--source", shop)
	if code != ExitDrift || !strings.Contains(stderr, "pass --yes") {
		t.Fatalf("without --yes: exit %d, stderr %s", code, stderr)
	}
	var steps []string
	for _, s := range plan.Steps {
		steps = append(steps, s.Kind+"/"+s.Name+" "+s.Action+" "+s.Risk)
	}
	sort.Strings(steps)
	want := []string{"ConfigMap/flags create medium", "ConfigMap/settings apply medium", "Deployment/api apply high", "Deployment/web apply medium", "Secret/api-credentials apply medium"}
	if strings.Join(steps, "; ") != strings.Join(want, "; ") {
		t.Errorf("plan steps:\n got %q\nwant %q", steps, want)
	}

	// A server-side dry run changes nothing.
	if code, d, _ := fix(t, ns, "--source", shop, "--dry-run=server"); code != ExitInSync || len(d.Results) != 5 {
		t.Errorf("dry run: exit %d, results %+v", code, d.Results)
	}
	if code, r, _ := scanJSON(t, ns, "--source", shop); code != ExitDrift || len(r.Findings) != 5 {
		t.Fatalf("after the dry run: exit %d, %d findings; want the 5 still there", code, len(r.Findings))
	}

	// Applied: every object is back.
	code, d, stderr := fix(t, ns, "--source", shop, "--yes")
	if code != ExitInSync {
		t.Fatalf("fix --yes: exit %d, results %+v, stderr %s", code, d.Results, stderr)
	}
	requireInSync(t, ns, "--source", shop)
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("web replicas = %s after fix, want 2", got)
	}
}

func TestFixGuardrails(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("scale", "deployment/web", "--replicas=5")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)

	refusedBy := func(d fixDoc) string {
		var g []string
		for _, r := range d.Refusals {
			g = append(g, r.Guardrail+":"+r.Object)
		}
		sort.Strings(g)
		return strings.Join(g, ",")
	}
	// Too many objects: refused whole.
	if code, d, stderr := fix(t, ns, "--source", shop, "--yes", "--max-objects", "2"); code != ExitDrift || refusedBy(d) != "max-objects:" || !strings.Contains(stderr, "refused by max-objects") {
		t.Errorf("max-objects: exit %d, refusals %q, stderr %s", code, refusedBy(d), stderr)
	}
	// The image change is high risk: refused under --max-risk medium.
	if code, d, _ := fix(t, ns, "--source", shop, "--yes", "--max-risk", "medium"); code != ExitDrift || refusedBy(d) != "max-risk:Deployment "+ns+"/api" {
		t.Errorf("max-risk: exit %d, refusals %q", code, refusedBy(d))
	}
	// Nothing was applied by the refused runs.
	if _, r, _ := scanJSON(t, ns, "--source", shop); len(r.Findings) != 3 {
		t.Fatalf("refused plans changed something: %d findings, want 3", len(r.Findings))
	}
	// --allow-risk lifts it.
	if code, _, stderr := fix(t, ns, "--source", shop, "--yes", "--max-risk", "medium", "--allow-risk"); code != ExitInSync {
		t.Errorf("--allow-risk: exit %d, %s", code, stderr)
	}
	requireInSync(t, ns, "--source", shop)
}

func TestFixRefusesProtectedNamespaces(t *testing.T) {
	name := "plumb-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: kube-system\ndata: {mode: fast}\n"
	env.Kubectl(t, manifest, "apply", "--server-side", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "-n", "kube-system", "delete", "configmap", name) })
	env.Kubectl(t, "", "-n", "kube-system", "patch", "configmap", name, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	src := writeTemp(t, manifest)
	code, d, _ := fix(t, "default", "--source", src, "--yes")
	if code != ExitDrift || len(d.Refusals) != 1 || d.Refusals[0].Guardrail != "protected-namespace" {
		t.Errorf("kube-system: exit %d, refusals %+v", code, d.Refusals)
	}
	if got := env.Kubectl(t, "", "-n", "kube-system", "get", "configmap", name, "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Errorf("a protected object was changed: mode=%s", got)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "src.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
