package schedule

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/store"
)

// Runs is where the scheduler records runs, and reads them back to undo
// one.
type Runs interface {
	store.RunWriter
	store.RunReader
	// UndoneBy is the run that undid run id, or 0.
	UndoneBy(ctx context.Context, id int64) (int64, error)
}

var _ Runs = (*store.DB)(nil)

// Errors of Undo.
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

// Undone is what undoing a run did.
type Undone struct {
	// Run is the id the undo was recorded under; 0 when it was not.
	Run     int64              `json:"run,omitempty"`
	UndoOf  int64              `json:"undoOf"`
	Plan    remediate.Plan     `json:"plan"`
	Results []remediate.Result `json:"results,omitempty"`
}

// Undo puts back what run id changed, as plumb fix --undo does: planned
// by remediate.Planner.PlanUndo under the cluster's guardrails, applied
// only to objects still as the run left them, and recorded as an undo
// run made by serve's identity. The run must have changed one cluster
// that serve remediates. Undos are made one at a time.
func (s *Scheduler) Undo(ctx context.Context, id int64) (Undone, error) {
	s.undoMu.Lock()
	defer s.undoMu.Unlock()
	out := Undone{UndoOf: id}
	started := s.opts.Now()
	run, err := s.runs.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("%w: %d", ErrRunNotFound, id)
	}
	if err != nil {
		return out, err
	}
	by, err := s.runs.UndoneBy(ctx, id)
	if err != nil {
		return out, err
	}
	if by != 0 {
		return out, fmt.Errorf("%w: run %d was already undone by run %d", ErrCannotUndo, id, by)
	}
	if !slices.ContainsFunc(run.Steps, func(st store.RunStep) bool { return st.Outcome == string(remediate.OutcomeApplied) }) {
		return out, fmt.Errorf("%w: run %d wrote nothing (%s)", ErrCannotUndo, id, run.Outcome)
	}
	if len(run.Clusters) != 1 {
		return out, fmt.Errorf("%w: run %d changed clusters %s; undo it with plumb fix --undo %d --context on each", ErrCannotUndo, id, strings.Join(run.Clusters, ", "), id)
	}
	c := s.clusters[run.Clusters[0]]
	if c == nil {
		return out, fmt.Errorf("%w: run %d changed cluster %s, which plumb serve does not remediate (remediation off); use plumb fix --undo %d --context %s",
			ErrCannotUndo, id, run.Clusters[0], id, run.Clusters[0])
	}
	if out.Plan, err = c.Planner.PlanUndo(ctx, run); err != nil {
		return out, fmt.Errorf("%w: %v", ErrCannotUndo, err)
	}
	info := remediate.RunInfo{Command: "undo", UndoOf: id, User: c.User, Started: started}
	switch {
	case len(out.Plan.Steps) == 0:
		var why []string
		for _, sk := range out.Plan.Skipped {
			why = append(why, sk.Object+": "+sk.Reason)
		}
		return out, fmt.Errorf("%w: run %d: nothing to put back: %s", ErrCannotUndo, id, strings.Join(why, "; "))
	case out.Plan.Refused():
		// Recorded, as plumb fix records a refused plan.
		info.Finished = s.opts.Now()
		if out.Run, err = s.record(ctx, info, out.Plan, nil); err != nil {
			return out, err
		}
		return out, fmt.Errorf("%w: %s", ErrUndoRefused, refusals(out.Plan))
	}
	if out.Results, err = c.Planner.Apply(ctx, out.Plan, remediate.ApplyOptions{}); err != nil {
		return out, err
	}
	for _, r := range out.Results {
		s.opts.Logger.Info("undo "+string(r.Outcome), "cluster", c.Name, "run", id, "object", r.Step.Object(), "message", r.Message)
	}
	info.Finished = s.opts.Now()
	if out.Run, err = s.record(ctx, info, out.Plan, out.Results); err != nil {
		return out, err
	}
	if !anyOutcome(out.Results, remediate.OutcomeApplied) {
		var why []string
		for _, r := range out.Results {
			why = append(why, r.Step.Object()+": "+string(r.Outcome)+": "+r.Message)
		}
		return out, fmt.Errorf("%w: %s", ErrNotUndone, strings.Join(why, "; "))
	}
	return out, nil
}

// record stores a run and returns its id.
func (s *Scheduler) record(ctx context.Context, info remediate.RunInfo, plan remediate.Plan, results []remediate.Result) (int64, error) {
	run, err := remediate.Record(info, plan, results)
	if err != nil {
		return 0, err
	}
	s.recordWaves(run)
	id, err := s.runs.RecordRun(ctx, run)
	if err != nil {
		return 0, fmt.Errorf("the run could not be recorded: %w", err)
	}
	return id, nil
}
