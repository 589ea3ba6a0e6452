package remediate

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// TestRunnerLifecycle drives one remediation through every way it can
// end, against a real API server and a real store: declined (a plan:
// nothing recorded, nothing written), refused by the guardrails before
// anyone approved it (a plan too), refused when it was to be applied
// without asking (recorded), applied (recorded), undone, and a second undo
// of the same run refused.
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
	no := func(Plan) (bool, string) { return false, "declined" }
	recorded := func() int {
		runs, err := st.Runs(ctx, store.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}

	declined, err := r.Fix(ctx, objs, RunOptions{Command: "fix", Confirm: no})
	if err != nil || declined.Outcome != store.RunDeclined || declined.Declined != "declined" || declined.ID != 0 || len(declined.Results) != 0 || mode() != "slow" || recorded() != 0 {
		t.Fatalf("declined: %+v, %v; mode %s, %d runs recorded: want a plan, nothing recorded or written", declined, err, mode(), recorded())
	}

	p.guard.ProtectedNamespaces = []string{ns}
	shown, err := r.Fix(ctx, objs, RunOptions{Command: "fix", Confirm: no})
	if err != nil || shown.Outcome != store.RunRefused || shown.ID != 0 || mode() != "slow" || recorded() != 0 {
		t.Fatalf("refused before it was asked for: %+v, %v; mode %s, %d runs recorded: want a plan, nothing recorded", shown, err, mode(), recorded())
	}
	refused, err := r.Fix(ctx, objs, RunOptions{Command: "fix"})
	if err != nil || refused.Outcome != store.RunRefused || refused.ID == 0 || mode() != "slow" {
		t.Fatalf("refused: %+v, %v; mode %s: want recorded as refused, nothing written", refused, err, mode())
	}
	p.guard = DefaultGuardrails()

	fixed, err := r.Fix(ctx, objs, RunOptions{Command: "fix"})
	if err != nil || fixed.Outcome != store.RunApplied || fixed.ID == 0 || mode() != "fast" {
		t.Fatalf("fix: %+v, %v; mode %s: want applied and recorded", fixed, err, mode())
	}
	rec, err := st.Run(ctx, fixed.ID)
	if err != nil || rec.Outcome != store.RunApplied || rec.User != "tester" || rec.Command != "fix" {
		t.Fatalf("the fix's record: %+v, %v", rec, err)
	}

	if _, err := r.Undo(ctx, refused.ID, RunOptions{}); !errors.Is(err, ErrCannotUndo) {
		t.Errorf("undo of a refused run: %v, want ErrCannotUndo (it wrote nothing)", err)
	}
	undone, err := r.Undo(ctx, fixed.ID, RunOptions{})
	if err != nil || undone.Outcome != store.RunApplied || mode() != "slow" {
		t.Fatalf("undo: %+v, %v; mode %s: want slow back", undone, err, mode())
	}
	if _, err := r.Undo(ctx, fixed.ID, RunOptions{}); !errors.Is(err, ErrCannotUndo) {
		t.Errorf("a second undo of run %d: %v, want ErrCannotUndo (already undone)", fixed.ID, err)
	}
	if _, err := r.Undo(ctx, 999, RunOptions{}); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("undo of no such run: %v, want ErrRunNotFound", err)
	}
}

// lazyRuns is a store opened when first needed, as plumb fix's is: it
// counts the runner's Opens, and fails them with err.
type lazyRuns struct {
	*store.DB
	opens int
	err   error
}

func (l *lazyRuns) Open(context.Context) error {
	l.opens++
	return l.err
}

// TestRunnerOpensRunsOnlyToApply: a store opened when first needed
// (Opener) is not opened for a plan that is declined, refused before it
// was approved, or run as a dry run; it is opened before a plan is
// applied, and a store that cannot be opened stops the run before
// anything is written.
func TestRunnerOpensRunsOnlyToApply(t *testing.T) {
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
	runs := &lazyRuns{DB: st}
	r := &Runner{Planner: p, Runs: runs, User: "tester"}
	no := func(Plan) (bool, string) { return false, "declined" }

	if _, err := r.Fix(ctx, objs, RunOptions{Command: "fix", Confirm: no}); err != nil || runs.opens != 0 {
		t.Fatalf("declined: %v, %d opens; want none", err, runs.opens)
	}
	if _, err := r.Fix(ctx, objs, RunOptions{Command: "fix", DryRun: true}); err != nil || runs.opens != 0 {
		t.Fatalf("dry run: %v, %d opens; want none", err, runs.opens)
	}
	p.guard.ProtectedNamespaces = []string{ns}
	if _, err := r.Fix(ctx, objs, RunOptions{Command: "fix", Confirm: no}); err != nil || runs.opens != 0 {
		t.Fatalf("refused before it was asked for: %v, %d opens; want none", err, runs.opens)
	}
	p.guard = DefaultGuardrails()

	runs.err = errors.New("disk full")
	if _, err := r.Fix(ctx, objs, RunOptions{Command: "fix"}); !errors.Is(err, runs.err) || runs.opens != 1 || mode() != "slow" {
		t.Fatalf("a store that cannot be opened: %v, %d opens, mode %s; want its error, nothing written", err, runs.opens, mode())
	}
	runs.err = nil
	fixed, err := r.Fix(ctx, objs, RunOptions{Command: "fix"})
	if err != nil || fixed.ID == 0 || runs.opens != 2 || mode() != "fast" {
		t.Fatalf("applied: %+v, %v, %d opens, mode %s; want opened, applied and recorded", fixed, err, runs.opens, mode())
	}
}

// TestRunnerRolloutResume fixes two clusters (two namespaces of one API
// server, named apart) wave by wave: the second wave is refused, so the
// rollout stops and is recorded as stopped; resumed after the guardrail
// is lifted, it finishes in the same run, which can then be undone across
// both clusters as one run, and cannot be resumed again.
func TestRunnerRolloutResume(t *testing.T) {
	ctx := context.Background()
	planners := map[string]*Planner{}
	objs := map[string][]source.Object{}
	for _, name := range []string{"east", "west"} {
		ns := env.Namespace(t)
		env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
		env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
		c, err := cluster.NewForConfig(name, ns, env.Config, nil, cluster.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		e, err := drift.New(c, drift.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		planners[name] = NewPlanner(e, DefaultGuardrails(), Options{})
		objs[name] = source.Load(ctx, []string{shop}, source.Options{Namespace: ns}).Objects
		if name == "west" {
			planners[name].guard.ProtectedNamespaces = []string{ns}
		}
	}
	mode := func(name string) string {
		return env.Kubectl(t, "", "-n", planners[name].engine.Cluster().Namespace, "get", "configmap/settings", "-o", "jsonpath={.data.mode}")
	}
	f := Fleet{
		Planner: func(name string) (*Planner, error) { return planners[name], nil },
		Load: func(_ context.Context, name string) ([]source.Object, []source.Error) {
			return objs[name], nil
		},
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := &Runner{Runs: st}
	waves := []rollout.Wave{{Name: "first", Clusters: []string{"east"}, MaxParallel: 1}, {Name: "second", Clusters: []string{"west"}, MaxParallel: 1}}
	opts := RolloutOptions{Waves: rollout.Options{Interval: 10 * time.Millisecond}}

	stopped, err := r.Rollout(ctx, f, waves, opts)
	if err != nil || stopped.Outcome != store.RunStopped || stopped.ID == 0 || !slices.Equal(stopped.Left, []string{"second"}) {
		t.Fatalf("rollout: %+v, %v: want stopped at wave second, recorded", stopped, err)
	}
	if mode("east") != "fast" || mode("west") != "slow" {
		t.Fatalf("after the stop: east %s, west %s; want east fixed, west untouched", mode("east"), mode("west"))
	}

	planners["west"].guard = DefaultGuardrails()
	done, err := r.Resume(ctx, stopped.ID, f, waves, opts)
	if err != nil || done.ID != stopped.ID || done.Outcome != store.RunApplied || mode("west") != "fast" {
		t.Fatalf("resume: %+v, %v; west %s: want run %d finished, applied", done, err, mode("west"), stopped.ID)
	}
	rec, err := st.Run(ctx, stopped.ID)
	if err != nil || rec.Outcome != store.RunApplied || len(rec.Steps) != 2 || !slices.Equal(rec.Clusters, []string{"east", "west"}) || len(rec.Waves) != 2 {
		t.Fatalf("the resumed run's record: %+v, %v: want both clusters' steps and waves, applied", rec, err)
	}
	if _, err := r.Resume(ctx, stopped.ID, f, waves, opts); !errors.Is(err, ErrCannotResume) {
		t.Errorf("a second resume: %v, want ErrCannotResume (it did not stop)", err)
	}

	undoer := &Runner{Runs: st, Planner: f}
	undone, err := undoer.Undo(ctx, stopped.ID, RunOptions{})
	if err != nil || undone.Outcome != store.RunApplied || mode("east") != "slow" || mode("west") != "slow" {
		t.Fatalf("undo: %+v, %v; east %s, west %s: want both back to slow", undone, err, mode("east"), mode("west"))
	}
}
