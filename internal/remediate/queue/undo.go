package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/store"
)

// Undone is what undoing a run did.
type Undone struct {
	// Run is the id the undo was recorded under; 0 when it was not.
	Run     int64              `json:"run,omitempty"`
	UndoOf  int64              `json:"undoOf"`
	Plan    remediate.Plan     `json:"plan"`
	Results []remediate.Result `json:"results,omitempty"`
}

// Undo puts back what run id changed, as plumb fix --undo does
// (remediate.Runner.Undo): planned under the cluster's guardrails, applied
// only to objects still as the run left them, and recorded as an undo run
// made by serve's identity. The run must have changed one cluster that
// serve remediates. Undos are made one at a time.
func (s *Queue) Undo(ctx context.Context, id int64) (Undone, error) {
	s.undoMu.Lock()
	defer s.undoMu.Unlock()
	out := Undone{UndoOf: id}
	run, err := s.runs.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("%w: %d", remediate.ErrRunNotFound, id)
	}
	if err != nil {
		return out, err
	}
	if err := remediate.Undoable(ctx, s.runs, run); err != nil {
		return out, err
	}
	if len(run.Clusters) != 1 {
		return out, fmt.Errorf("%w: run %d changed clusters %s; undo it with plumb fix --undo %d --context on each", remediate.ErrCannotUndo, id, strings.Join(run.Clusters, ", "), id)
	}
	c := s.clusters[run.Clusters[0]]
	if c == nil {
		return out, fmt.Errorf("%w: run %d changed cluster %s, which plumb serve does not remediate (remediation off); use plumb fix --undo %d --context %s",
			remediate.ErrCannotUndo, id, run.Clusters[0], id, run.Clusters[0])
	}
	done, err := s.runner(c).UndoRun(ctx, run, remediate.RunOptions{})
	out.Run, out.Plan, out.Results = done.ID, done.Plan, done.Results
	for _, r := range done.Results {
		s.opts.Logger.Info("undo "+string(r.Outcome), "cluster", c.Name, "run", id, "object", r.Step.Object(), "message", r.Message)
	}
	return out, err
}

// runner carries c's remediations through remediate's one lifecycle,
// recording runs with their rollout waves.
func (s *Queue) runner(c *Cluster) *remediate.Runner {
	return &remediate.Runner{Planner: c.Planner, Runs: wavesRecorder{runLog: s.runs, s: s}, User: c.User, Now: s.opts.Now}
}

// wavesRecorder records runs with the rollout waves serve's fixes count
// toward.
type wavesRecorder struct {
	runLog
	s *Queue
}

// runLog is remediate.Runs under a name that does not hide its Runs
// method when embedded.
type runLog interface{ remediate.Runs }

func (w wavesRecorder) RecordRun(ctx context.Context, run *store.Run) (int64, error) {
	w.s.recordWaves(run)
	return w.runLog.RecordRun(ctx, run)
}
