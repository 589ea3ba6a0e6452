package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

// TestReplicasOpenOneEvent: several processes (replicas) that share a store
// and observe the same drift at the same moment open one event between
// them, and resolve it once.
func TestReplicasOpenOneEvent(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		replicas := []*DB{open(), open(), open()}
		web := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
		const rounds, writers = 5, 12
		for round := range rounds {
			for _, step := range []struct {
				f    *drift.Finding
				want Transition
			}{
				{finding(web, "kubectl-set", fmt.Sprintf("nginx:%d", round)), Opened},
				{nil, Resolved},
			} {
				got := map[Transition]int{}
				var mu sync.Mutex
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						tr, err := replicas[w%len(replicas)].Observe(ctx, "prod", web, step.f, "kubectl", t0.Add(time.Duration(round)*time.Minute))
						if err != nil {
							t.Errorf("round %d, writer %d: %v", round, w, err)
							return
						}
						mu.Lock()
						got[tr]++
						mu.Unlock()
					})
				}
				wg.Wait()
				want := map[Transition]int{step.want: 1, Unchanged: writers - 1}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("round %d, %d writers observing at once (-want +got):\n%s", round, writers, d)
				}
			}
		}
		events, err := replicas[0].Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.ResolvedAt == nil || e.Updates != 0 {
				t.Errorf("event %d: resolved %v, %d updates; want resolved, never updated", e.ID, e.ResolvedAt, e.Updates)
			}
		}
		if len(events) != rounds {
			t.Errorf("%d events, want %d", len(events), rounds)
		}
	})
}

// TestReplicasMigrateOnce: replicas started at once on an empty store all
// open it, and each migration is applied once.
func TestReplicasMigrateOnce(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target string) {
		ctx := context.Background()
		const replicas = 4
		stores := make([]*DB, replicas)
		errs := make([]error, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() { stores[i], errs[i] = Open(ctx, target) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				continue
			}
			defer stores[i].Close()
		}
		if t.Failed() {
			return
		}
		var applied, distinct int
		if err := stores[0].db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
			t.Fatal(err)
		}
		names, _ := migrations.ReadDir("migrations")
		if applied != len(names) || distinct != len(names) {
			t.Errorf("schema_migrations has %d rows (%d versions), want %d", applied, distinct, len(names))
		}
	})
}
