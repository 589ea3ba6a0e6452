package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/testwait"
)

type fixDoc struct {
	Steps []struct {
		Kind, Name, Action, Risk, Manager string
		Changes                           []struct{ Path, Risk string }
	}
	Refusals []struct{ Guardrail, Object, Reason string }
	Results  []struct {
		Outcome string
		Message string
	}
	Skipped     []struct{ Object, Reason string }
	LeftInPlace []struct{ Cluster, Object, Path, Type, Manager string }
	Errors      []struct {
		Path    string
		Line    int
		Message string
	}
	Run int64
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
	// ns "" gives no -n, for manifests that name their own namespace.
	all := []string{"fix", "--kubeconfig", env.Kubeconfig, "-o", "json", "--store", storeFor(t)}
	if ns != "" {
		all = append(all, "-n", ns)
	}
	code, out, stderr := run(t, append(all, args...)...)
	var d fixDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("fix -o json: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "plan", out)
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

// TestFixJSONNamesBadInput: a document plumb cannot read is in the plan's
// errors with its file and line, as a scan's are, the rest is planned,
// and the plan exits 2.
func TestFixJSONNamesBadInput(t *testing.T) {
	ns := env.Namespace(t)
	file := writeTemp(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: good
data:
  a: "1"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data: [unclosed
`)
	code, d, stderr := fix(t, ns, "--source", file)
	if code != ExitError || len(d.Steps) != 1 || d.Steps[0].Name != "good" || d.Steps[0].Action != "create" {
		t.Errorf("exit %d (want %d), steps %+v; want good created: %s", code, ExitError, d.Steps, stderr)
	}
	if len(d.Errors) != 1 || d.Errors[0].Path != file || d.Errors[0].Line != 12 || !strings.Contains(d.Errors[0].Message, "invalid YAML") {
		t.Errorf("errors = %+v; want %s line 12, invalid YAML", d.Errors, file)
	}
}

func TestFixRefusesProtectedNamespaces(t *testing.T) {
	name := "plumb-test-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: kube-system\ndata: {mode: fast}\n"
	env.Kubectl(t, manifest, "apply", "--server-side", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "-n", "kube-system", "delete", "configmap", name) })
	env.Kubectl(t, "", "-n", "kube-system", "patch", "configmap", name, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	src := writeTemp(t, manifest)
	code, d, _ := fix(t, "", "--source", src, "--yes")
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

// TestFixRemoveAdded: fields set out of band stay unless --remove-added,
// and the plan lists them; with it they go, an added container only with
// --allow-risk (removing a container is critical).
func TestFixRemoveAdded(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("set", "env", "deployment/web", "DEBUG=1")
	k("label", "configmap/settings", "hand-made=yes")
	k("patch", "deployment/api", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"debug","image":"busybox"}}]`)
	k("set", "resources", "deployment/api", "-c", "api", "--limits=cpu=2")

	// Added fields stay: only the limit is put back, and drift remains.
	if code, d, _ := fix(t, ns, "--source", shop, "--yes"); code != ExitDrift || len(d.Steps) != 1 || len(d.Steps[0].Changes) != 1 || len(d.LeftInPlace) != 3 {
		t.Fatalf("without --remove-added: exit %d, steps %+v, left in place %+v", code, d.Steps, d.LeftInPlace)
	}
	code, d, _ := fix(t, ns, "--source", shop, "--yes", "--remove-added")
	if code != ExitDrift || len(d.Refusals) != 1 || d.Refusals[0].Object != "Deployment "+ns+"/api" || d.Refusals[0].Guardrail != "max-risk" {
		t.Fatalf("--remove-added: exit %d, refusals %+v; want the container removal refused", code, d.Refusals)
	}
	code, d, stderr := fix(t, ns, "--source", shop, "--yes", "--remove-added", "--allow-risk")
	if code != ExitInSync || len(d.Results) != 3 {
		t.Fatalf("--remove-added --allow-risk: exit %d, results %+v: %s", code, d.Results, stderr)
	}
	requireInSync(t, ns, "--source", shop)
	if got := k("get", "deployment/api", "-o", "jsonpath={.spec.template.spec.containers[*].name}"); got != "api" {
		t.Errorf("api containers = %q, want the added one gone", got)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.metadata.labels}"); strings.Contains(got, "hand-made") {
		t.Errorf("settings labels = %s, want hand-made gone", got)
	}
}

// TestFixPrune: unmanaged objects are deleted only with --prune, deleting
// is critical, and a protected kind needs its own allowance.
func TestFixPrune(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	pvc := func(name string) string {
		return "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: " + name + "}\n" +
			"spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n"
	}
	// The sources declare one claim, so claims are in scope of --prune.
	keep := writeTemp(t, pvc("keep"))
	k("apply", "--server-side", "-f", shop, "-f", keep)
	k("create", "configmap", "stray", "--from-literal=a=b")
	env.Kubectl(t, pvc("data"), "-n", ns, "create", "-f", "-")
	// A kind no source uses is out of --prune's scope, though scan
	// --unmanaged reports it.
	k("create", "role", "debugger", "--verb=get", "--resource=pods")

	if code, d, _ := fix(t, ns, "--source", shop, "--source", keep, "--yes"); code != ExitInSync || len(d.Steps) != 0 {
		t.Fatalf("without --prune: exit %d, steps %+v", code, d.Steps)
	}
	refusals := func(d fixDoc) string {
		var g []string
		for _, r := range d.Refusals {
			g = append(g, r.Guardrail+":"+r.Object)
		}
		sort.Strings(g)
		return strings.Join(g, ",")
	}
	code, d, _ := fix(t, ns, "--source", shop, "--source", keep, "--yes", "--prune")
	want := "max-risk:ConfigMap " + ns + "/stray,max-risk:PersistentVolumeClaim " + ns + "/data,protected-kind:PersistentVolumeClaim " + ns + "/data"
	if code != ExitDrift || refusals(d) != want {
		t.Fatalf("--prune: exit %d, refusals %q, want %q", code, refusals(d), want)
	}
	if code, d, _ := fix(t, ns, "--source", shop, "--source", keep, "--yes", "--prune", "--allow-risk"); code != ExitDrift || refusals(d) != "protected-kind:PersistentVolumeClaim "+ns+"/data" {
		t.Fatalf("--prune --allow-risk: exit %d, refusals %q", code, refusals(d))
	}
	k("get", "configmap/stray") // refused plans delete nothing

	code, d, stderr := fix(t, ns, "--source", shop, "--source", keep, "--yes", "--prune", "--allow-risk", "--allow-delete", "PersistentVolumeClaim")
	if code != ExitInSync || len(d.Results) != 2 {
		t.Fatalf("--prune allowed: exit %d, results %+v: %s", code, d.Results, stderr)
	}
	if _, err := env.KubectlErr("", "-n", ns, "get", "configmap/stray"); err == nil {
		t.Error("configmap/stray survived --prune")
	}
	k("get", "role/debugger") // not pruned
	k("delete", "role/debugger")
	// No controller-manager runs here to drop the PVC's protection
	// finalizer; do its part.
	k("patch", "pvc/data", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	requireInSync(t, ns, "--source", shop, "--source", keep, "--unmanaged")

	// Undoing the prune recreates both, as they were.
	if code, _, stderr := fix(t, ns, "--undo", strconv.FormatInt(d.Run, 10), "--yes"); code != ExitInSync {
		t.Fatalf("undo of the prune: exit %d: %s", code, stderr)
	}
	if got := k("get", "configmap/stray", "-o", "jsonpath={.data.a}"); got != "b" {
		t.Errorf("stray recreated with a=%q, want b", got)
	}
	k("get", "pvc/data")
}

// TestFixGuardrailsFromConfig: plumb.yaml's guardrails apply; a flag
// given explicitly wins.
func TestFixGuardrailsFromConfig(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/web", "--replicas=5")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	cfg := filepath.Join(t.TempDir(), "plumb.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: plumb.dev/v1alpha1\nkind: Config\nguardrails:\n  maxObjectsPerRun: 1\n  maxRisk: low\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, d, _ := fix(t, ns, "--source", shop, "-c", cfg, "--yes")
	var got []string
	for _, r := range d.Refusals {
		got = append(got, r.Guardrail)
	}
	sort.Strings(got)
	if code != ExitDrift || strings.Join(got, ",") != "max-objects,max-risk,max-risk" {
		t.Fatalf("config guardrails: exit %d, refusals %v", code, got)
	}
	if code, _, stderr := fix(t, ns, "--source", shop, "-c", cfg, "--yes", "--max-objects", "5", "--max-risk", "medium"); code != ExitInSync {
		t.Errorf("flags over config: exit %d: %s", code, stderr)
	}
}

// TestFixClientSideApplied: objects deployed with kubectl's client-side
// apply are put back as its manager, and a field dropped from the source
// since the last apply is removed.
func TestFixClientSideApplied(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	old := writeTemp(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {mode: fast, legacy: \"yes\"}\n")
	k("apply", "-f", shop)
	k("apply", "-f", old)
	k("scale", "deployment/web", "--replicas=0")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	src := writeTemp(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {mode: fast}\n")

	code, d, stderr := fix(t, ns, "--source", shop, "--source", src, "--yes")
	if code != ExitInSync || len(d.Results) != 3 {
		t.Fatalf("fix: exit %d, results %+v: %s", code, d.Results, stderr)
	}
	requireInSync(t, ns, "--source", shop, "--source", src)
	if got := k("get", "configmap/cfg", "-o", "jsonpath={.data}"); strings.Contains(got, "legacy") {
		t.Errorf("cfg data = %s, want legacy (dropped from the source) removed", got)
	}
}

// TestFixLeavesAddedFieldsAndSaysSo: an env var added by hand and an image
// changed by hand. fix with default flags puts the image back and leaves
// the env var, as kubectl apply leaves fields it does not own; its plan
// says so, its exit code says drift remains, and scan and diff afterwards
// report the env var alone. --remove-added removes it, and scan is clean.
func TestFixLeavesAddedFieldsAndSaysSo(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("set", "env", "deployment/web", "DEBUG=1")
	k("set", "image", "deployment/web", "web=nginx:1.28-hotfix")
	debug := `.spec.template.spec.containers[name="web"].env[name="DEBUG"]`
	image := `.spec.template.spec.containers[name="web"].image`
	base := []string{"fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--store", storeFor(t), "--source", shop}

	// The plan, as people read it: the image goes back, the env var stays.
	code, out, _ := run(t, base...)
	for _, want := range []string{
		"Plan: 1 object; 1 added field left in place (--remove-added removes it)\n",
		"    " + image + `: "nginx:1.28-hotfix" -> "nginx:1.27"  [modified, high]`,
		"\nLeft in place, added out of band (--remove-added removes them):\n  Deployment " + ns + "/web\n    " + debug + "  [added by kubectl-set]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if code != ExitDrift {
		t.Errorf("plan without --yes: exit %d, want %d", code, ExitDrift)
	}

	// Applied with default flags: exit 1, as drift remains.
	code, d, stderr := fix(t, ns, "--source", shop, "--yes")
	if code != ExitDrift || len(d.Results) != 1 || d.Results[0].Outcome != "applied" {
		t.Fatalf("fix --yes: exit %d, results %+v, want 1 (the added field left), web applied: %s", code, d.Results, stderr)
	}
	if len(d.Steps) != 1 || len(d.Steps[0].Changes) != 1 || d.Steps[0].Changes[0].Path != image {
		t.Errorf("steps = %+v, want web's image alone", d.Steps)
	}
	wantLeft := []struct{ Cluster, Object, Path, Type, Manager string }{{"", "Deployment " + ns + "/web", debug, "added", "kubectl-set"}}
	for i := range d.LeftInPlace {
		d.LeftInPlace[i].Cluster = ""
	}
	if diff := cmp.Diff(wantLeft, d.LeftInPlace); diff != "" {
		t.Errorf("leftInPlace (-want +got):\n%s", diff)
	}

	// Scan afterwards: the env var alone, as the plan said.
	code, r, _ := scanJSON(t, ns, "--source", shop)
	want := []seen{{"Deployment/web", debug, "added", "kubectl-set"}}
	if diff := cmp.Diff(want, changesOf(r)); code != ExitDrift || diff != "" {
		t.Errorf("scan after fix: exit %d, changes (-want +got):\n%s", code, diff)
	}
	// diff describes it as the plan does.
	code, out, _ = run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop)
	note := "# plumb fix: 1 added field left in place (--remove-added removes it):\n#   " + debug + "  [added by kubectl-set]\n--- live/apps.v1.Deployment." + ns + ".web\n"
	if code != ExitDrift || !strings.Contains(out, note) || !regexp.MustCompile(`(?m)^-\s+- name: DEBUG$`).MatchString(out) {
		t.Errorf("diff: exit %d, want 1 and the note %q and the env var as - lines:\n%s", code, note, out)
	}
	// fix again: nothing to apply, and it says what it leaves.
	code, out, _ = run(t, append(base, "--yes")...)
	if code != ExitDrift || !strings.HasPrefix(out, "Nothing to apply; 1 added field left in place (--remove-added removes it)\n") {
		t.Errorf("fix again: exit %d, want 1:\n%s", code, out)
	}

	// --remove-added removes it: in sync.
	if code, d, stderr := fix(t, ns, "--source", shop, "--yes", "--remove-added"); code != ExitInSync || len(d.LeftInPlace) != 0 {
		t.Fatalf("--remove-added: exit %d, left %+v: %s", code, d.LeftInPlace, stderr)
	}
	requireInSync(t, ns, "--source", shop)
}

// TestFixPlanWritesNothing: a plan that is not applied (no --yes and no
// terminal, -o json without --yes, refused, --dry-run), history and an
// undo of a run that is not there create no store, neither in the state
// directory nor in the working directory; a plan exits 1 while it would
// fix drift, 0 once there is none. The first plan applied makes the
// default store, in $XDG_STATE_HOME/plumb (mode 0700), where history
// then finds it.
func TestFixPlanWritesNothing(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	noStore := func(after string) {
		t.Helper()
		for _, p := range []string{filepath.Join(state, "plumb"), filepath.Join(wd, "plumb.db")} {
			if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after %s: %s exists (%v); want no store", after, p, err)
			}
		}
	}
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	fix := []string{"fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}

	if code, out, stderr := run(t, "history"); code != 0 || !strings.Contains(out, "No history: no store at "+filepath.Join(state, "plumb", "plumb.db")) {
		t.Errorf("history with no store: exit %d: %s%s", code, out, stderr)
	}
	if code, out, stderr := run(t, "history", "-o", "json"); code != 0 ||
		!strings.Contains(out, `"apiVersion": "plumb.dev/v1alpha1"`) || !strings.Contains(out, `"kind": "History"`) || !strings.Contains(out, `"runs": []`) {
		t.Errorf("history -o json with no store: exit %d: %s%s", code, out, stderr)
	} else {
		requireSchema(t, "history", out)
	}
	if code, _, stderr := run(t, "history", "1"); code != ExitError || !strings.Contains(stderr, "run 1 is not in the store") {
		t.Errorf("history 1 with no store: exit %d: %s", code, stderr)
	}
	noStore("history")

	code, out, stderr := run(t, fix...)
	if code != ExitDrift || !strings.Contains(out, "Plan: 1 object") || strings.Contains(out, "Recorded") || !strings.Contains(stderr, "pass --yes") {
		t.Errorf("the plan: exit %d, want %d\n%s%s", code, ExitDrift, out, stderr)
	}
	noStore("the plan")
	code, out, stderr = run(t, append(fix, "-o", "json")...)
	var d fixDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != ExitDrift || len(d.Steps) != 1 || d.Run != 0 {
		t.Errorf("the plan as JSON: exit %d (want %d), %v: %s%s", code, ExitDrift, err, out, stderr)
	}
	requireSchema(t, "plan", out)
	noStore("the plan as JSON")
	if code, out, stderr := run(t, append(fix, "--max-risk", "low")...); code != ExitDrift || !strings.Contains(stderr, "refused by max-risk") {
		t.Errorf("a refused plan: exit %d: %s%s", code, out, stderr)
	}
	noStore("a refused plan")
	if code, out, stderr := run(t, append(fix, "--dry-run=server")...); code != ExitInSync || !strings.Contains(out, "(server dry run)") {
		t.Errorf("a dry run: exit %d: %s%s", code, out, stderr)
	}
	noStore("a dry run")
	if code, _, stderr := run(t, "fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--undo", "1", "--yes"); code != ExitError || !strings.Contains(stderr, "run 1 is not in the store") {
		t.Errorf("an undo with no store: exit %d: %s", code, stderr)
	}
	noStore("an undo with no store")

	code, out, stderr = run(t, append(fix, "--yes")...)
	if code != ExitInSync || !strings.Contains(out, "Recorded as run 1; put it back with: plumb fix --undo 1") {
		t.Fatalf("fix --yes: exit %d: %s%s", code, out, stderr)
	}
	dir, err := os.Stat(filepath.Join(state, "plumb"))
	if err != nil || dir.Mode().Perm() != 0o700 {
		t.Fatalf("the default store's directory: %v, %v; want mode 0700", dir, err)
	}
	if _, err := os.Stat(filepath.Join(wd, "plumb.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a store in the working directory: %v", err)
	}
	var h struct {
		Runs []struct{ Command, Outcome string }
	}
	if code, out, stderr := run(t, "history", "-o", "json"); code != 0 || json.Unmarshal([]byte(out), &h) != nil ||
		len(h.Runs) != 1 || h.Runs[0].Command != "fix" || h.Runs[0].Outcome != "applied" {
		t.Errorf("history after the fix: exit %d: %s%s; want the fix, applied, alone", code, out, stderr)
	}
	// In sync, the plan has nothing to do: exit 0.
	code, out, stderr = run(t, append(fix, "-o", "json")...)
	if code != ExitInSync {
		t.Errorf("the plan in sync: exit %d: %s%s", code, out, stderr)
	}
	requireSchema(t, "plan", out)
}

// TestFixFailedRunOffersNoUndo: an admission policy of the API server
// lets the plan's dry runs through and refuses the write itself, so every
// step fails: the run is recorded as failed, exits 2, and offers no
// --undo, since it wrote nothing to put back.
func TestFixFailedRunOffersNoUndo(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	freezeConfigMaps(t, ns)

	code, out, stderr := run(t, "fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop, "--store", storeFor(t), "--yes")
	if code != ExitError || !strings.Contains(out, "settings failed") || !strings.Contains(out, "Recorded as run 1 (failed).") || strings.Contains(out, "--undo") {
		t.Errorf("every step failed: exit %d (want %d); want recorded as failed and no --undo offered:\n%s%s", code, ExitError, out, stderr)
	}
}

// freezeConfigMaps makes the API server refuse every write of a ConfigMap
// in ns that is not a dry run (a ValidatingAdmissionPolicy): plans are
// made, and their steps fail.
func freezeConfigMaps(t *testing.T, ns string) {
	t.Helper()
	name := "plumb-" + ns
	env.Kubectl(t, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: `+name+`}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
  validations:
    - {expression: "request.dryRun == true", message: "frozen by the test"}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: `+name+`}
spec:
  policyName: `+name+`
  validationActions: [Deny]
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: `+ns+`}}
`, "apply", "--server-side", "-f", "-")
	t.Cleanup(func() {
		_, _ = env.KubectlErr("", "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name)
	})
	probe := 0
	testwait.For(t, 30*time.Second, "the policy in force", func() bool {
		probe++
		_, err := env.KubectlErr("", "-n", ns, "create", "configmap", fmt.Sprintf("probe-%d", probe))
		return err != nil
	})
}
