package remediate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"plumb.dev/plumb/internal/store"
)

// TestRunnerLifecycle drives one remediation through every way it can
// end, against a real API server and a real store: declined (recorded,
// nothing written), refused by the guardrails (recorded), applied
// (recorded), undone, and a second undo of the same run refused.
func TestRunnerLifecycle(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	mode := func() string {
		return env.Kubectl(t, "", "-n", ns, "get", "configmap/settings", "-o", "jsonpath={.data.mode}")
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, objs := planner(t, ns)
	r := &Runner{Planner: p, Runs: st, User: "tester"}

	declined, err := r.Fix(ctx, objs, RunOptions{Command: "fix", Confirm: func(Plan) (bool, string) { return false, "declined" }})
	if err != nil || declined.Outcome != RunDeclined || declined.ID == 0 || len(declined.Results) != 0 || mode() != "slow" {
		t.Fatalf("declined: %+v, %v; mode %s: want recorded as declined, nothing written", declined, err, mode())
	}

	p.guard.ProtectedNamespaces = []string{ns}
	refused, err := r.Fix(ctx, objs, RunOptions{Command: "fix"})
	if err != nil || refused.Outcome != RunRefused || refused.ID == 0 || mode() != "slow" {
		t.Fatalf("refused: %+v, %v; mode %s: want recorded as refused, nothing written", refused, err, mode())
	}
	p.guard = DefaultGuardrails()

	fixed, err := r.Fix(ctx, objs, RunOptions{Command: "fix"})
	if err != nil || fixed.Outcome != RunApplied || fixed.ID == 0 || mode() != "fast" {
		t.Fatalf("fix: %+v, %v; mode %s: want applied and recorded", fixed, err, mode())
	}
	rec, err := st.Run(ctx, fixed.ID)
	if err != nil || rec.Outcome != string(RunApplied) || rec.User != "tester" || rec.Command != "fix" {
		t.Fatalf("the fix's record: %+v, %v", rec, err)
	}

	if _, err := r.Undo(ctx, declined.ID, RunOptions{}); !errors.Is(err, ErrCannotUndo) {
		t.Errorf("undo of a declined run: %v, want ErrCannotUndo (it wrote nothing)", err)
	}
	undone, err := r.Undo(ctx, fixed.ID, RunOptions{})
	if err != nil || undone.Outcome != RunApplied || mode() != "slow" {
		t.Fatalf("undo: %+v, %v; mode %s: want slow back", undone, err, mode())
	}
	if _, err := r.Undo(ctx, fixed.ID, RunOptions{}); !errors.Is(err, ErrCannotUndo) {
		t.Errorf("a second undo of run %d: %v, want ErrCannotUndo (already undone)", fixed.ID, err)
	}
	if _, err := r.Undo(ctx, 999, RunOptions{}); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("undo of no such run: %v, want ErrRunNotFound", err)
	}
}
