package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"plumb.dev/plumb/internal/drift"
)

func TestDeltasAndChangesReadTheirColumns(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		defer s.Close()
		at := t0
		replicas := drift.Change{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: float64(3), Live: float64(5), Manager: "kubectl-scale", Time: &at}
		observe := func(cluster, name string, state drift.State, delta corev1.ResourceList, changes ...drift.Change) {
			k := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: name}
			f := &drift.Finding{Cluster: cluster, APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: name, State: state, Changes: changes, ResourceDelta: delta}
			if _, err := s.Observe(ctx, cluster, k, f, "", t0); err != nil {
				t.Fatal(err)
			}
		}
		more := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m")}
		less := corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1Gi")}
		observe("eu", "api", drift.StateDrifted, more, replicas)
		observe("us", "api", drift.StateDrifted, less, replicas)
		observe("us", "web", drift.StateDrifted, nil, replicas) // no delta
		observe("us", "db", drift.StateMissing, nil)

		deltas, err := s.Deltas(ctx, Filter{State: drift.StateDrifted})
		if err != nil {
			t.Fatal(err)
		}
		want := []Delta{
			{ID: "eu/apps/Deployment/shop/api", Cluster: "eu", Kind: "Deployment", Namespace: "shop", Name: "api", ResourceDelta: more},
			{ID: "us/apps/Deployment/shop/api", Cluster: "us", Kind: "Deployment", Namespace: "shop", Name: "api", ResourceDelta: less},
		}
		if d := cmp.Diff(want, deltas, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); d != "" {
			t.Errorf("deltas (-want +got):\n%s", d)
		}
		if us, err := s.Deltas(ctx, Filter{Cluster: "us"}); err != nil || len(us) != 1 || us[0].Name != "api" {
			t.Errorf("deltas of us = %+v, %v: want api's alone", us, err)
		}

		changes, err := s.Changes(ctx, Filter{State: drift.StateDrifted, Cluster: "us"})
		if err != nil {
			t.Fatal(err)
		}
		wantChanges := []drift.Finding{
			{Cluster: "us", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api", State: drift.StateDrifted, Changes: []drift.Change{replicas}},
			{Cluster: "us", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", State: drift.StateDrifted, Changes: []drift.Change{replicas}},
		}
		if d := cmp.Diff(wantChanges, changes, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
			t.Errorf("changes (-want +got):\n%s", d)
		}
	})
}

func TestUndoneBy(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		defer s.Close()
		record := func(r Run) int64 {
			r.StartedAt, r.FinishedAt, r.User, r.Clusters = t0, t0, "serve", []string{"prod"}
			id, err := s.RecordRun(ctx, &r)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		fix := record(Run{Command: "fix", Outcome: "applied"})
		if by, err := s.UndoneBy(ctx, fix); err != nil || by != 0 {
			t.Errorf("UndoneBy before any undo = %d, %v; want 0", by, err)
		}
		record(Run{Command: "undo", UndoOf: fix, Outcome: "refused"}) // wrote nothing
		record(Run{Command: "undo", UndoOf: fix, Outcome: "failed"})
		undo := record(Run{Command: "undo", UndoOf: fix, Outcome: "partial"})
		if by, err := s.UndoneBy(ctx, fix); err != nil || by != undo {
			t.Errorf("UndoneBy = %d, %v; want %d, the undo that wrote", by, err, undo)
		}
	})
}
