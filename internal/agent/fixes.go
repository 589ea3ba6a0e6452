package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"plumb.dev/plumb/internal/drift"
)

// This file holds the requests that flow back to an agent: fixes a person
// asked for on the hub, which the agent fetches (GET, long-polled), applies
// in its cluster under its own guardrails, and reports on (POST). The hub
// never dials the agent.

// FixState is where a fix is.
type FixState string

const (
	// FixPending: asked for; the agent has not reported on it yet.
	FixPending FixState = "pending"
	// FixApplied: the agent applied the plan (each object's outcome is
	// in Results).
	FixApplied FixState = "applied"
	// FixFailed: the agent did not apply it: a guardrail refused the
	// plan, or planning failed (Error says which).
	FixFailed FixState = "failed"
)

// Fix is a request to put objects of an agent's cluster back as declared.
type Fix struct {
	ID      int64  `json:"id"`
	Cluster string `json:"cluster"`
	// Findings are the hub's findings the fix is for; Keys their objects.
	Findings   []string          `json:"findings"`
	Keys       []drift.ObjectKey `json:"keys"`
	State      FixState          `json:"state"`
	CreatedAt  time.Time         `json:"createdAt"`
	FinishedAt *time.Time        `json:"finishedAt,omitempty"`
	FixReport
}

// FixReport is what the agent reports of a fix.
type FixReport struct {
	// Run is the run the agent recorded in its own history, if any.
	Run     int64       `json:"run,omitempty"`
	Results []FixResult `json:"results,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// FixResult is one object's outcome (store.StepOutcome).
type FixResult struct {
	Object  string `json:"object"`
	Outcome string `json:"outcome"`
	Message string `json:"message,omitempty"`
}

// RequestFix queues a fix of the objects of findings (found on the hub for
// cluster) for the cluster's agent.
func (r *Receiver) RequestFix(ctx context.Context, cluster string, findings []string, keys []drift.ObjectKey) (Fix, error) {
	f := Fix{Cluster: cluster, Findings: findings, Keys: keys, State: FixPending, CreatedAt: time.Now()}
	b, err := json.Marshal(f)
	if err != nil {
		return Fix{}, err
	}
	if f.ID, err = r.cursors.AddAgentFix(ctx, cluster, string(FixPending), string(b)); err != nil {
		return Fix{}, fmt.Errorf("cluster %s: fix: %w", cluster, err)
	}
	r.mu.Lock()
	close(r.fixAdded) // ends every long poll
	r.fixAdded = make(chan struct{})
	r.mu.Unlock()
	return f, nil
}

// Fixes lists the cluster's fixes, oldest first; only the pending ones
// with pending.
func (r *Receiver) Fixes(ctx context.Context, cluster string, pending bool) ([]Fix, error) {
	state := ""
	if pending {
		state = string(FixPending)
	}
	stored, err := r.cursors.AgentFixes(ctx, cluster, state)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: fixes: %w", cluster, err)
	}
	out := make([]Fix, 0, len(stored))
	for _, sf := range stored {
		var f Fix
		if err := json.Unmarshal([]byte(sf.Fix), &f); err != nil {
			return nil, fmt.Errorf("cluster %s: fix %d: %w", cluster, sf.ID, err)
		}
		f.ID, f.Cluster, f.State = sf.ID, sf.Cluster, FixState(sf.State)
		out = append(out, f)
	}
	return out, nil
}

// PendingFixes returns the cluster's pending fixes, waiting up to wait
// for one when there are none.
func (r *Receiver) PendingFixes(ctx context.Context, cluster string, wait time.Duration) ([]Fix, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		r.mu.Lock()
		added := r.fixAdded
		r.mu.Unlock()
		out, err := r.Fixes(ctx, cluster, true)
		if err != nil || len(out) > 0 {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-r.closed:
			return out, nil
		case <-t.C:
			return out, nil
		case <-added:
		}
	}
}

// Report records the agent's report on a fix. A report sent again (its
// answer was lost) changes nothing.
func (r *Receiver) Report(ctx context.Context, cluster string, id int64, rep FixReport) (Fix, error) {
	r.mu.Lock() // one report at a time: read, then write
	defer r.mu.Unlock()
	fixes, err := r.Fixes(ctx, cluster, false)
	if err != nil {
		return Fix{}, err
	}
	i := slices.IndexFunc(fixes, func(f Fix) bool { return f.ID == id })
	if i < 0 {
		return Fix{}, fmt.Errorf("%w: cluster %s has no fix %d", ErrNotFound, cluster, id)
	}
	f := fixes[i]
	if f.State != FixPending {
		return f, nil
	}
	now := time.Now()
	f.FixReport, f.FinishedAt, f.State = rep, &now, FixApplied
	if rep.Error != "" {
		f.State = FixFailed
	}
	b, err := json.Marshal(f)
	if err != nil {
		return Fix{}, err
	}
	if err := r.cursors.SetAgentFix(ctx, id, string(f.State), string(b)); err != nil {
		return Fix{}, fmt.Errorf("cluster %s: fix %d: %w", cluster, id, err)
	}
	return f, nil
}
