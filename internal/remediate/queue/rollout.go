package queue

import (
	"fmt"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/store"
)

// waitForWaves says why auto mode may not fix e's object in c yet ("" when
// it may), under Options.Rollout, and has e handled again when it is
// worth another look. Callers hold mu.
func (s *Queue) waitForWaves(e event.Event, c *Cluster, now time.Time) string {
	if s.opts.Rollout == nil {
		return ""
	}
	reason, after := s.opts.Rollout.Hold(c.Name, now, s.clusterState)
	if reason != "" && after > 0 {
		time.AfterFunc(after, func() {
			s.mu.Lock()
			it := s.items[e.FindingID]
			_, newer := s.events[e.FindingID]
			s.mu.Unlock()
			if it != nil && it.State == StateWaiting && !newer {
				s.Publish(e)
			}
		})
	}
	return reason
}

// clusterState is what the rollout gate needs of a cluster. Callers hold
// mu.
func (s *Queue) clusterState(name string) rollout.ClusterState {
	st := rollout.ClusterState{Ready: true, LastFix: s.lastFix[name]}
	c := s.clusters[name]
	if c == nil {
		return st // no remediation there: nothing to wait for
	}
	if c.Ready != nil {
		st.Ready = c.Ready()
	}
	for _, e := range s.events {
		if e.Cluster == name && e.Finding != nil && (e.Finding.State == drift.StateDrifted || e.Finding.State == drift.StateMissing) {
			st.Outstanding = fmt.Sprintf("%s drifted, not fixed yet", e.Finding.Key())
			return st
		}
	}
	for _, it := range s.items {
		if it.Cluster == name && (it.State == StateFailed || it.State == StateFighting || it.State == StateWaiting) {
			st.Outstanding = fmt.Sprintf("remediation %d is %s: %s", it.ID, it.State, it.Reason)
			return st
		}
	}
	return st
}

// recordWaves notes, under Options.Rollout, the wave of each cluster an
// automatic run fixed, so that history shows auto mode's waves as it
// shows plumb fix's.
func (s *Queue) recordWaves(run *store.Run) {
	if s.opts.Rollout == nil || run.Command != "serve" {
		return
	}
	status := rollout.StatusFixed
	if run.Outcome != store.RunApplied {
		status = rollout.StatusFailed
	}
	for _, c := range run.Clusters {
		if w := s.opts.Rollout.Wave(c); w != "" {
			run.Waves = append(run.Waves, store.RunWave{Wave: w, Cluster: c, Status: string(status), StartedAt: run.StartedAt, FinishedAt: run.FinishedAt})
		}
	}
}
