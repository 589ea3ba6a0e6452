package agent

import (
	"context"
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

// FixResult is one object's outcome (remediate.Outcome).
type FixResult struct {
	Object  string `json:"object"`
	Outcome string `json:"outcome"`
	Message string `json:"message,omitempty"`
}

// RequestFix queues a fix of the objects of findings (found on the hub for
// cluster) for the cluster's agent.
func (r *Receiver) RequestFix(cluster string, findings []string, keys []drift.ObjectKey) Fix {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextFix++
	f := Fix{ID: r.nextFix, Cluster: cluster, Findings: findings, Keys: keys, State: FixPending, CreatedAt: time.Now()}
	r.fixes = append(r.fixes, &f)
	r.wakeAgents()
	return f
}

// wakeAgents ends every long poll. Callers hold mu.
func (r *Receiver) wakeAgents() {
	close(r.fixAdded)
	r.fixAdded = make(chan struct{})
}

// Fixes lists the cluster's fixes, oldest first; only the pending ones
// with pending.
func (r *Receiver) Fixes(cluster string, pending bool) []Fix {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fixesOf(cluster, pending)
}

// fixesOf is Fixes; callers hold mu.
func (r *Receiver) fixesOf(cluster string, pending bool) []Fix {
	out := []Fix{}
	for _, f := range r.fixes {
		if f.Cluster == cluster && (!pending || f.State == FixPending) {
			out = append(out, *f)
		}
	}
	return out
}

// PendingFixes returns the cluster's pending fixes, waiting up to wait
// for one when there are none.
func (r *Receiver) PendingFixes(ctx context.Context, cluster string, wait time.Duration) []Fix {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		r.mu.Lock()
		out, added := r.fixesOf(cluster, true), r.fixAdded
		r.mu.Unlock()
		if len(out) > 0 {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-r.closed:
			return out
		case <-t.C:
			return out
		case <-added:
		}
	}
}

// Report records the agent's report on a fix. A report sent again (its
// answer was lost) changes nothing.
func (r *Receiver) Report(cluster string, id int64, rep FixReport) (Fix, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := slices.IndexFunc(r.fixes, func(f *Fix) bool { return f.ID == id && f.Cluster == cluster })
	if i < 0 {
		return Fix{}, fmt.Errorf("%w: cluster %s has no fix %d", ErrNotFound, cluster, id)
	}
	f := r.fixes[i]
	if f.State != FixPending {
		return *f, nil
	}
	now := time.Now()
	f.FixReport, f.FinishedAt, f.State = rep, &now, FixApplied
	if rep.Error != "" {
		f.State = FixFailed
	}
	return *f, nil
}
