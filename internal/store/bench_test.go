package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/testpostgres"
)

// BenchmarkObserve measures one Observe on each backend: "change" cycles
// 100 objects through opened, updated and resolved (every call writes);
// "unchanged" observes an open finding again (serve's resync, no write).
// PostgreSQL is a local server (testpostgres), reached over TCP.
//
//	go test ./internal/store -run '^$' -bench Observe -benchtime 3000x
func BenchmarkObserve(b *testing.B) {
	// What fsync costs: commits return before their WAL is on disk, as
	// SQLite's synchronous=NORMAL does in WAL mode.
	async := backend{"postgres-async", func(b testing.TB) string { return testpostgres.Database(b) + "&synchronous_commit=off" }}
	for _, backend := range append(backends, async) {
		ctx := context.Background()
		s, err := Open(ctx, backend.target(b))
		if err != nil {
			b.Fatal(err)
		}
		keys := make([]drift.ObjectKey, 100)
		for i := range keys {
			keys[i] = drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: fmt.Sprintf("web-%d", i)}
		}
		b.Run(backend.name+"/change", func(b *testing.B) {
			for i := range b.N {
				k := keys[i%len(keys)]
				var f *drift.Finding
				switch (i / len(keys)) % 3 {
				case 0:
					f = finding(k, "kubectl-set", "nginx:1.28")
				case 1:
					f = finding(k, "kubectl-edit", "nginx:1.29")
				}
				if _, err := s.Observe(ctx, "prod", k, f, "kubectl", t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(backend.name+"/unchanged", func(b *testing.B) {
			f := finding(keys[0], "kubectl-set", "nginx:1.28")
			if _, err := s.Observe(ctx, "prod", keys[0], f, "", t0); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				if tr, err := s.Observe(ctx, "prod", keys[0], f, "", t0); err != nil || tr != Unchanged {
					b.Fatalf("%s, %v", tr, err)
				}
			}
		})
		s.Close()
	}
}
