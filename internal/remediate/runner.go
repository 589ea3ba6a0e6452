package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Runs is where runs are recorded, and read back to undo one.
type Runs interface {
	store.RunWriter
	store.RunReader
	// UndoneBy is the run that undid run id, or 0.
	UndoneBy(ctx context.Context, id int64) (int64, error)
	// UpdateRun replaces a recorded run whole (a resumed rollout).
	UpdateRun(ctx context.Context, r *store.Run) error
}

var _ Runs = (*store.DB)(nil)

// Opener is Runs opened only when first needed (plumb fix creates its
// store only when a plan is to be applied, so that a plan shown and not
// applied leaves none behind). Carry and Rollout open it once a plan is
// to be applied and before anything is written, so that a store that
// cannot be opened stops the run before it writes to a cluster.
type Opener interface {
	Open(ctx context.Context) error
}

// Errors of Runner.PlanUndo and of an undo's outcome.
var (
	// ErrRunNotFound: no run has that id.
	ErrRunNotFound = errors.New("no such run")
	// ErrCannotUndo: the run cannot be undone here (already undone,
	// nothing written, another cluster); the error says why.
	ErrCannotUndo = errors.New("the run cannot be undone")
	// ErrUndoRefused: the guardrails refuse the undo's plan.
	ErrUndoRefused = errors.New("the guardrails refuse to undo the run")
	// ErrNotUndone: the undo was tried and put nothing back, because
	// every object changed since the run (or could not be written).
	ErrNotUndone = errors.New("nothing was put back")
)

// Planning is what a Runner needs of a planner: *Planner for one
// cluster, Fleet for a run across clusters, and the remediation queue's tests give
// one of their own.
type Planning interface {
	Plan(ctx context.Context, objs []source.Object) (Plan, error)
	PlanUndo(ctx context.Context, run *store.Run) (Plan, error)
	Apply(ctx context.Context, plan Plan, opts ApplyOptions) ([]Result, error)
}

var _ Planning = (*Planner)(nil)

// Runner carries a remediation through one lifecycle, whichever command
// asks for it (plumb fix, serve's remediation queue and undo API, plumb agent):
// plan, refuse what the guardrails refuse, confirm, apply conflict-safe,
// record the run, and say what became of it.
type Runner struct {
	Planner Planning
	// Runs records the runs; nil records nothing.
	Runs Runs
	// User is the identity the runs act as.
	User string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// RunOptions tune one run.
type RunOptions struct {
	// Command names the run in its record: fix, undo, serve,
	// serve-approve, agent.
	Command string
	// UndoOf is the run an undo puts back.
	UndoOf int64
	// DryRun applies with the server's dry run and records nothing.
	DryRun bool
	// Confirm, if set, is asked before anything is applied (not for a
	// dry run). Until it says yes the plan is only a plan: one it does
	// not approve (Run.Declined says why), or one the guardrails refuse
	// before it is asked, is not recorded.
	Confirm func(Plan) (ok bool, why string)
	// RecordInSync records a run whose every object was already as
	// planned (plumb fix does; serve, which acts on events, does not).
	RecordInSync bool
	// Started is when the run began (planning included). Default now.
	Started time.Time
}

// Run is what one run did.
type Run struct {
	// ID is the run's record; 0 when nothing was recorded.
	ID      int64
	Plan    Plan
	Results []Result
	Outcome store.RunOutcome
	// Declined says why the plan was not approved.
	Declined string
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Fix plans putting objs back as declared and carries the plan out.
func (r *Runner) Fix(ctx context.Context, objs []source.Object, opts RunOptions) (Run, error) {
	if opts.Started.IsZero() {
		opts.Started = r.now()
	}
	plan, err := r.Planner.Plan(ctx, objs)
	if err != nil {
		return Run{Plan: plan}, err
	}
	return r.Carry(ctx, plan, opts)
}

// Carry takes a plan from refusal to record: a plan that was to be
// applied without asking (no Confirm) and that the guardrails refuse is
// recorded as refused, and an applied one with each step's outcome. A
// plan that is only shown (not approved, refused before anyone was asked,
// a dry run, or without steps) is recorded nowhere: a plan writes
// nothing.
func (r *Runner) Carry(ctx context.Context, plan Plan, opts RunOptions) (Run, error) {
	if opts.Started.IsZero() {
		opts.Started = r.now()
	}
	run := Run{Plan: plan, Outcome: store.RunNothing}
	info := RunInfo{Command: opts.Command, User: r.User, UndoOf: opts.UndoOf, Started: opts.Started}
	switch {
	case len(plan.Steps) == 0:
		return run, nil
	case plan.Refused():
		run.Outcome = store.RunRefused
		if opts.Confirm != nil {
			return run, nil // nobody approved it: a plan
		}
		return run, r.record(ctx, &run, info, opts)
	}
	if opts.Confirm != nil && !opts.DryRun {
		if ok, why := opts.Confirm(plan); !ok {
			run.Outcome, run.Declined = store.RunDeclined, why
			return run, nil
		}
	}
	if err := r.open(ctx, opts.DryRun); err != nil {
		return run, err
	}
	results, err := r.Planner.Apply(ctx, plan, ApplyOptions{DryRun: opts.DryRun})
	if err != nil {
		return run, err
	}
	run.Results, run.Outcome = results, outcomeOf(results)
	if !opts.RecordInSync && !slices.ContainsFunc(results, func(res Result) bool { return res.Outcome != store.StepInSync }) {
		return run, nil
	}
	return run, r.record(ctx, &run, info, opts)
}

// open opens Runs that are opened when first needed (Opener), before a
// run that is not a dry run writes anything.
func (r *Runner) open(ctx context.Context, dryRun bool) error {
	if o, ok := r.Runs.(Opener); ok && !dryRun {
		return o.Open(ctx)
	}
	return nil
}

// record stores the run, unless it is a dry run or there is no store.
func (r *Runner) record(ctx context.Context, run *Run, info RunInfo, opts RunOptions) error {
	if opts.DryRun || r.Runs == nil {
		return nil
	}
	info.Finished = r.now()
	rec, err := Record(info, run.Plan, run.Results)
	if err != nil {
		return err
	}
	if run.ID, err = r.Runs.RecordRun(ctx, rec); err != nil {
		return fmt.Errorf("the run could not be recorded: %w", err)
	}
	return nil
}

// Undoable says why run cannot be undone (ErrCannotUndo): an undo of it
// already wrote something, or it wrote nothing itself; nil when it can be.
func Undoable(ctx context.Context, runs Runs, run *store.Run) error {
	by, err := runs.UndoneBy(ctx, run.ID)
	if err != nil {
		return err
	}
	if by != 0 {
		return fmt.Errorf("%w: run %d was already undone by run %d", ErrCannotUndo, run.ID, by)
	}
	if !slices.ContainsFunc(run.Steps, func(st store.RunStep) bool { return st.Outcome == store.StepApplied }) {
		return fmt.Errorf("%w: run %d wrote nothing (%s)", ErrCannotUndo, run.ID, run.Outcome)
	}
	return nil
}

// read reads run id back from the store.
func (r *Runner) read(ctx context.Context, id int64) (*store.Run, error) {
	if r.Runs == nil {
		return nil, fmt.Errorf("no store to read run %d from", id)
	}
	run, err := r.Runs.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %d", ErrRunNotFound, id)
	}
	return run, err
}

// PlanUndo reads run id back and plans putting back what it changed
// (Planning.PlanUndo). It refuses, with ErrCannotUndo, a run that is not
// Undoable or changed a cluster the planner does not reach.
func (r *Runner) PlanUndo(ctx context.Context, id int64) (Plan, error) {
	run, err := r.read(ctx, id)
	if err != nil {
		return Plan{}, err
	}
	return r.planUndo(ctx, run)
}

func (r *Runner) planUndo(ctx context.Context, run *store.Run) (Plan, error) {
	if err := Undoable(ctx, r.Runs, run); err != nil {
		return Plan{}, err
	}
	plan, err := r.Planner.PlanUndo(ctx, run)
	if err != nil {
		return plan, fmt.Errorf("%w: %v", ErrCannotUndo, err)
	}
	return plan, nil
}

// Undo puts back what run id changed (UndoRun).
func (r *Runner) Undo(ctx context.Context, id int64, opts RunOptions) (Run, error) {
	if opts.Started.IsZero() {
		opts.Started = r.now()
	}
	run, err := r.read(ctx, id)
	if err != nil {
		return Run{}, err
	}
	return r.UndoRun(ctx, run, opts)
}

// UndoRun puts back what run changed, read from the store: the planning
// of PlanUndo, then Carry as an undo. A plan with nothing to put back is
// ErrCannotUndo, a refused one ErrUndoRefused (recorded), and one that put
// nothing back ErrNotUndone (recorded).
func (r *Runner) UndoRun(ctx context.Context, run *store.Run, opts RunOptions) (Run, error) {
	if opts.Started.IsZero() {
		opts.Started = r.now()
	}
	id := run.ID
	plan, err := r.planUndo(ctx, run)
	if err != nil {
		return Run{Plan: plan}, err
	}
	opts.Command, opts.UndoOf, opts.RecordInSync = "undo", id, true
	if len(plan.Steps) == 0 {
		var why []string
		for _, sk := range plan.Skipped {
			why = append(why, sk.Object+": "+sk.Reason)
		}
		return Run{Plan: plan, Outcome: store.RunNothing}, fmt.Errorf("%w: run %d: nothing to put back: %s", ErrCannotUndo, id, strings.Join(why, "; "))
	}
	done, err := r.Carry(ctx, plan, opts)
	if err != nil {
		return done, err
	}
	switch done.Outcome {
	case store.RunRefused:
		return done, fmt.Errorf("%w: %s", ErrUndoRefused, Refusals(plan))
	case store.RunDeclined:
		return done, nil
	}
	if !slices.ContainsFunc(done.Results, func(res Result) bool { return res.Outcome == store.StepApplied }) && !opts.DryRun {
		var why []string
		for _, res := range done.Results {
			why = append(why, res.Step.Object()+": "+string(res.Outcome)+": "+res.Message)
		}
		return done, fmt.Errorf("%w: %s", ErrNotUndone, strings.Join(why, "; "))
	}
	return done, nil
}

// Refusals says in one line why the guardrails refuse a plan.
func Refusals(p Plan) string {
	var out []string
	for _, r := range p.Refusals {
		out = append(out, r.String())
	}
	return strings.Join(out, "; ")
}

// outcomeOf is the outcome of a run whose steps ended as results.
func outcomeOf(results []Result) store.RunOutcome {
	applied, other := 0, 0
	for _, r := range results {
		if r.Outcome == store.StepApplied || r.Outcome == store.StepInSync {
			applied++
		} else {
			other++
		}
	}
	switch {
	case other == 0:
		return store.RunApplied
	case applied == 0:
		return store.RunFailed
	}
	return store.RunPartial
}
