package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/store"
)

// history runs plumb history against the test's store.
func history(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, append([]string{"history", "--store", storeFor(t)}, args...)...)
	if code != 0 {
		t.Fatalf("history %v: exit %d: %s", args, code, stderr)
	}
	return out
}

// comparable drops what the server changes on every write.
func comparable(raw json.RawMessage) map[string]any {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		panic(err)
	}
	for _, f := range []string{"resourceVersion", "managedFields", "generation"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	unstructured.RemoveNestedField(u.Object, "status")
	return u.Object
}

// TestFixIsRecordedAndUndone fixes the shop's drift, reads the run back
// from history, and undoes it: every object nobody touched since is
// exactly as before the fix, the one changed meanwhile is left alone, the
// created object is deleted again, and the Secret (whose values are never
// recorded) is skipped.
func TestFixIsRecordedAndUndone(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/web", "--replicas=5")
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("annotate", "deployment/api", "example.com/owner-")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	k("delete", "configmap/flags")

	code, d, stderr := fix(t, ns, "--source", shop, "--yes")
	if code != ExitInSync || d.Run == 0 {
		t.Fatalf("fix: exit %d, run %d: %s", code, d.Run, stderr)
	}
	requireInSync(t, ns, "--source", shop)

	// History: the run, who ran it, its outcome.
	var h struct {
		APIVersion, Kind string
		Runs             []map[string]any
	}
	list := history(t, "-o", "json")
	if err := json.Unmarshal([]byte(list), &h); err != nil {
		t.Fatal(err)
	}
	requireSchema(t, "history", list)
	requireSchema(t, "history", history(t, "-o", "yaml"))
	runs := h.Runs
	whoami := env.Kubectl(t, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if h.APIVersion != "plumb.dev/v1alpha1" || h.Kind != "History" || len(runs) != 1 || runs[0]["id"] != float64(d.Run) || runs[0]["user"] != whoami || runs[0]["outcome"] != "applied" {
		t.Fatalf("history -o json = %+v; want History, run %d by %s, applied", h, d.Run, whoami)
	}
	// Times are RFC 3339 with their zone.
	if at, _ := runs[0]["time"].(string); !rfc3339Zoned(at) {
		t.Errorf("history -o json: time %q, want RFC 3339 with a zone", at)
	}
	if table := history(t); !strings.Contains(table, whoami) || !strings.Contains(table, "applied") {
		t.Errorf("history table:\n%s", table)
	}
	var rec store.Run
	one := history(t, strconv.FormatInt(d.Run, 10), "-o", "json")
	if err := json.Unmarshal([]byte(one), &rec); err != nil {
		t.Fatal(err)
	}
	requireSchema(t, "history", one)
	if !strings.Contains(one, `"kind": "HistoryRun"`) {
		t.Errorf("history RUN -o json: want kind HistoryRun\n%s", one)
	}
	if len(rec.Steps) != 5 || len(rec.Plan) == 0 {
		t.Fatalf("run %d: %d steps, plan %s", d.Run, len(rec.Steps), rec.Plan)
	}
	befores := map[string]json.RawMessage{}
	for _, s := range rec.Steps {
		if s.Outcome != "applied" || len(s.After) == 0 {
			t.Errorf("step %s/%s: outcome %s, after %d bytes", s.Kind, s.Name, s.Outcome, len(s.After))
		}
		befores[s.Kind+"/"+s.Name] = s.Before
	}
	if befores["ConfigMap/flags"] != nil {
		t.Errorf("the created ConfigMap has a before: %s", befores["ConfigMap/flags"])
	}
	// Secret values are nowhere in the store, neither the hand-made one
	// (before) nor the declared one (after).
	db, err := os.ReadFile(storeFor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"changed-by-hand", "not-a-real-token", "Y2hhbmdlZC1ieS1oYW5k", "bm90LWEtcmVhbC10b2tlbg"} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("the store holds the Secret value %q", secret)
		}
	}

	// Someone changes settings after the fix: undo must leave it alone.
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"currency":"USD"}}`)

	// Undo deletes the created ConfigMap: critical, refused by default.
	code, u, _ := fix(t, ns, "--undo", strconv.FormatInt(d.Run, 10), "--yes")
	if code != ExitDrift || len(u.Refusals) != 1 || u.Refusals[0].Guardrail != "max-risk" || u.Refusals[0].Object != "ConfigMap "+ns+"/flags" {
		t.Fatalf("undo without --allow-risk: exit %d, refusals %+v", code, u.Refusals)
	}
	code, u, stderr = fix(t, ns, "--undo", strconv.FormatInt(d.Run, 10), "--yes", "--allow-risk")
	if code != ExitDrift {
		t.Errorf("undo: exit %d, want 1 (the Secret skipped, settings changed since): %s", code, stderr)
	}
	outcomes := map[string]string{}
	for i, r := range u.Results {
		outcomes[u.Steps[i].Kind+"/"+u.Steps[i].Name] = r.Outcome
	}
	want := map[string]string{"Deployment/web": "applied", "Deployment/api": "applied", "ConfigMap/flags": "applied", "ConfigMap/settings": "changed-since-planned"}
	if d := cmp.Diff(want, outcomes); d != "" {
		t.Errorf("undo outcomes (-want +got):\n%s", d)
	}
	if len(u.Skipped) != 1 || u.Skipped[0].Object != "Secret "+ns+"/api-credentials" {
		t.Errorf("skipped = %+v, want the Secret", u.Skipped)
	}

	// Exactly the before state, field for field.
	for _, name := range []string{"deployment/web", "deployment/api"} {
		now := k("get", name, "-o", "json")
		key := "Deployment/" + strings.TrimPrefix(name, "deployment/")
		if d := cmp.Diff(comparable(befores[key]), comparable(json.RawMessage(now))); d != "" {
			t.Errorf("%s after undo differs from before the fix (-before +now):\n%s", name, d)
		}
	}
	if _, err := env.KubectlErr("", "-n", ns, "get", "configmap/flags"); err == nil {
		t.Error("configmap/flags still exists after undo; the run had created it")
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode} {.data.currency}"); got != "fast USD" {
		t.Errorf("settings = %q; the change made after the fix was overwritten", got)
	}

	// The undo is a run too, and can itself be undone.
	var h2 struct{ Runs []map[string]any }
	if err := json.Unmarshal([]byte(history(t, "-o", "json")), &h2); err != nil {
		t.Fatal(err)
	}
	after := h2.Runs
	if len(after) != 3 || after[0]["command"] != "undo" || after[0]["undoOf"] != float64(d.Run) || after[0]["outcome"] != "partial" ||
		after[1]["outcome"] != "refused" {
		t.Errorf("history after undo = %v", after)
	}
	if code, _, stderr := fix(t, ns, "--undo", strconv.FormatInt(u.Run, 10), "--yes"); code != ExitInSync {
		t.Errorf("undo of the undo: exit %d: %s", code, stderr)
	}
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("web replicas = %s after undoing the undo, want 2", got)
	}
	// A run is undone once, as serve's API refuses a second undo too.
	if code, _, stderr := run(t, "fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--store", storeFor(t), "--undo", strconv.FormatInt(d.Run, 10), "--yes", "--allow-risk"); code != ExitError ||
		!strings.Contains(stderr, fmt.Sprintf("already undone by run %d", u.Run)) {
		t.Errorf("a second undo of run %d: exit %d: %s; want 2, already undone by run %d", d.Run, code, stderr, u.Run)
	}
}
