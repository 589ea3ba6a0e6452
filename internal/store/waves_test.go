package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRunWaves: a rollout's waves are recorded with the run, read back in
// order, and replaced whole when the run goes on (UpdateRun).
func TestRunWaves(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		r := &Run{StartedAt: t0, FinishedAt: t0.Add(time.Minute), User: "alice", Command: "fix", Outcome: "stopped",
			Clusters: []string{"canary"}, Objects: 1, Plan: json.RawMessage(`{"steps":[1]}`),
			Steps: []RunStep{{Cluster: "canary", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cfg", Action: "apply", Outcome: "applied"}},
			Waves: []RunWave{
				{Wave: "canary", Cluster: "canary", Status: "drifted", StartedAt: t0, FinishedAt: t0.Add(time.Second), Message: "ConfigMap shop/cfg drifted"},
				{Wave: "rest", Cluster: "eu", Status: "pending"},
			}}
		id, err := s.RecordRun(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r.Waves, got.Waves); diff != "" {
			t.Errorf("waves (-want +got):\n%s", diff)
		}

		got.Outcome, got.FinishedAt = "applied", t0.Add(2*time.Minute)
		got.Waves[0].Status, got.Waves[1].Status = "fixed", "fixed"
		got.Steps = append(got.Steps, RunStep{Cluster: "eu", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cfg", Action: "apply", Outcome: "applied"})
		got.Clusters, got.Objects = []string{"canary", "eu"}, 2
		if err := s.UpdateRun(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := s.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("after UpdateRun (-want +got):\n%s", diff)
		}
		if err := s.UpdateRun(ctx, &Run{ID: id + 100}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateRun of a run not recorded: %v, want ErrNotFound", err)
		}
	})
}
