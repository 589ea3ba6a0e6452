package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testpostgres"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) { os.Exit(testpostgres.Run(m)) }

// forEachStore runs test against each backend, SQLite and PostgreSQL (a
// server the tests start), as subtests named after them. open opens the
// subtest's store, the same file or database each time, and closes it when
// the subtest ends.
func forEachStore(t *testing.T, test func(t *testing.T, open func() *DB)) {
	forEachTarget(t, func(t *testing.T, target string) {
		test(t, func() *DB {
			t.Helper()
			s, err := Open(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// backend names a new, empty store of one kind.
type backend struct {
	name string
	// target returns the store's target (a SQLite file, a PostgreSQL URL).
	target func(testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "plumb.db") }},
	{"postgres", testpostgres.Database},
}

// forEachTarget runs test against each backend with the target of a store
// not yet opened.
func forEachTarget(t *testing.T, test func(t *testing.T, target string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.target(t)) })
	}
}

func finding(key drift.ObjectKey, manager, live string) *drift.Finding {
	return &drift.Finding{APIVersion: "apps/v1", Kind: key.Kind, Namespace: key.Namespace, Name: key.Name, State: drift.StateDrifted,
		Changes: []drift.Change{{Path: ".spec.template.spec.containers[name=\"web\"].image", Type: drift.ChangeModified, Desired: "nginx:1.27", Live: live, Manager: manager}}}
}

func TestLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		web := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
		api := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}

		steps := []struct {
			key  drift.ObjectKey
			f    *drift.Finding
			by   string
			want Transition
		}{
			{web, nil, "", Unchanged},
			{web, finding(web, "kubectl-set", "nginx:1.28"), "", Opened},
			{web, finding(web, "kubectl-set", "nginx:1.28"), "", Unchanged},
			{web, finding(web, "kubectl-edit", "nginx:1.29"), "", Updated},
			{api, finding(api, "kubectl-set", "api:2"), "", Opened},
			{web, nil, "kubectl-set", Resolved},
			{web, finding(web, "k9s", "nginx:1.30"), "", Opened},
		}
		for i, st := range steps {
			got, err := s.Observe(ctx, "prod-eu", st.key, st.f, st.by, t0.Add(time.Duration(i)*time.Minute))
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got != st.want {
				t.Errorf("step %d: %s, want %s", i, got, st.want)
			}
		}

		events, err := s.Events(ctx, EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		type brief struct {
			Name     string
			Updates  int
			Resolved bool
			By       string
			Managers []string
		}
		var got []brief
		for _, e := range events {
			got = append(got, brief{e.Name, e.Updates, e.ResolvedAt != nil, e.ResolvedBy, e.Managers})
		}
		want := []brief{ // newest first
			{"web", 0, false, "", []string{"k9s"}},
			{"api", 0, false, "", []string{"kubectl-set"}},
			{"web", 1, true, "kubectl-set", []string{"kubectl-edit"}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if d := events[2].ResolvedAt.Sub(events[2].OpenedAt); d != 4*time.Minute {
			t.Errorf("the first web event lasted %s, want 4m", d)
		}

		// Filters and one finding by id.
		byManager, err := s.Findings(ctx, Filter{Manager: "kubectl-set"})
		if err != nil || len(byManager) != 1 || byManager[0].Name != "api" {
			t.Errorf("findings by manager kubectl-set = %+v, %v", byManager, err)
		}
		one, err := s.Finding(ctx, FindingID("prod-eu", web))
		if err != nil || one.Changes[0].Live != "nginx:1.30" || one.EventID != events[0].ID {
			t.Errorf("finding web = %+v, %v", one, err)
		}
		if _, err := s.Finding(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id: %v, want ErrNotFound", err)
		}

		// Paging: two pages of one and two.
		page1, _ := s.Events(ctx, EventFilter{Limit: 1})
		page2, _ := s.Events(ctx, EventFilter{Limit: 2, Before: page1[0].ID})
		if len(page1) != 1 || len(page2) != 2 || page2[1].ID != events[2].ID {
			t.Errorf("paging: %d then %d events", len(page1), len(page2))
		}
		// Time range.
		if inRange, _ := s.Events(ctx, EventFilter{Since: t0.Add(4 * time.Minute), Until: t0.Add(5 * time.Minute)}); len(inRange) != 1 || inRange[0].Name != "api" {
			t.Errorf("events opened in [4m,5m) = %+v", inRange)
		}

		// History survives a restart; migrations run once.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = open()
		defer s.Close()
		again, _ := s.Events(ctx, EventFilter{})
		if len(again) != 3 {
			t.Errorf("after reopening: %d events, want 3", len(again))
		}
		keys, err := s.OpenKeys(ctx, "prod-eu")
		if err != nil || len(keys) != 2 {
			t.Errorf("open keys = %+v, %v", keys, err)
		}

		// Retention drops resolved events only.
		n, err := s.Prune(ctx, t0.Add(time.Hour))
		if err != nil || n != 1 {
			t.Errorf("prune = %d, %v; want the one resolved event", n, err)
		}
	})
}

// TestFindingRecordsItsCommit: a finding keeps its declaration's whole
// provenance (repository and commit, release and revision); compared again
// at a new commit with the same result, or relocated without a comparison,
// it names the new commit and its event goes on.
func TestFindingRecordsItsCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		web := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
		at := func(commit string) *source.Origin {
			return &source.Origin{Path: "deploy/web.yaml", Line: 1, Repo: "https://git.example/shop", Commit: commit}
		}
		f := finding(web, "kubectl", "nginx:1.28")
		f.Source = at("c1")
		if tr, err := s.Observe(ctx, "prod", web, f, "", t0); err != nil || tr != Opened {
			t.Fatalf("Observe: %v, %v", tr, err)
		}
		stored := func() source.Origin {
			t.Helper()
			fd, err := s.Finding(ctx, FindingID("prod", web))
			if err != nil || fd.Source == nil {
				t.Fatalf("Finding: %+v, %v", fd, err)
			}
			return *fd.Source
		}
		if got := stored(); !got.Equal(*at("c1")) {
			t.Errorf("stored source %+v, want %+v", got, *at("c1"))
		}

		f2 := finding(web, "kubectl", "nginx:1.28")
		f2.Source = at("c2")
		if tr, err := s.Observe(ctx, "prod", web, f2, "", t0.Add(time.Minute)); err != nil || tr != Unchanged {
			t.Fatalf("same finding at a new commit: %v, %v; want unchanged", tr, err)
		}
		if got := stored(); got.Commit != "c2" {
			t.Errorf("after a comparison at c2 the finding names %s", got.Commit)
		}
		if err := s.Relocate(ctx, "prod", web, *at("c3")); err != nil {
			t.Fatal(err)
		}
		if got := stored(); got.Commit != "c3" {
			t.Errorf("after relocating to c3 the finding names %s", got.Commit)
		}
		evs, err := s.Events(ctx, EventFilter{})
		if err != nil || len(evs) != 1 || evs[0].Updates != 0 {
			t.Errorf("events %+v, %v; want the one event, never updated", evs, err)
		}
		// Relocating an object without a finding does nothing.
		api := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}
		if err := s.Relocate(ctx, "prod", api, *at("c3")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Finding(ctx, FindingID("prod", api)); !errors.Is(err, ErrNotFound) {
			t.Errorf("relocating an object in sync made a finding: %v", err)
		}
	})
}

// TestFindingKeepsItsResourceDelta stores a scaled workload's delta and
// reads it back through Findings and Finding, in a reopened store.
func TestFindingKeepsItsResourceDelta(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		db := drift.ObjectKey{Group: "apps", Kind: "StatefulSet", Namespace: "db", Name: "cassandra"}
		f := &drift.Finding{APIVersion: "apps/v1", Kind: db.Kind, Namespace: db.Namespace, Name: db.Name, State: drift.StateDrifted,
			Changes:       []drift.Change{{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: int64(3), Live: int64(5)}},
			ResourceDelta: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m"), corev1.ResourceMemory: resource.MustParse("2Gi")}}
		if _, err := s.Observe(ctx, "prod", db, f, "", t0); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open()
		defer s.Close()
		all, err := s.Findings(ctx, Filter{})
		if err != nil || len(all) != 1 {
			t.Fatalf("Findings: %v, %d findings, want 1", err, len(all))
		}
		one, err := s.Finding(ctx, FindingID("prod", db))
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []corev1.ResourceList{all[0].ResourceDelta, one.ResourceDelta} {
			if got.Cpu().String() != "600m" || got.Memory().String() != "2Gi" {
				t.Errorf("resource delta read back as %v, want cpu 600m and memory 2Gi", got)
			}
		}
	})
}

// TestSQLiteFromBefore: a SQLite store written before the PostgreSQL store
// (testdata/sqlite-v1.db: its runs table's user column made unquoted, all
// migrations up to 0004 applied) opens with no migration run again, reads
// what it held, and takes new findings and runs.
func TestSQLiteFromBefore(t *testing.T) {
	ctx := context.Background()
	old, err := os.ReadFile("testdata/sqlite-v1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "plumb.db")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var applied int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	if applied != len(names) {
		t.Errorf("%d migrations recorded, want %d, each once", applied, len(names))
	}
	web := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	fd, err := s.Finding(ctx, FindingID("prod", web))
	if err != nil {
		t.Fatal(err)
	}
	if fd.Changes[0].Live != "nginx:1.28" || fd.Source == nil || fd.Source.Line != 3 {
		t.Errorf("old finding read back as %+v", fd)
	}
	run, err := s.Run(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.User != "alice" || len(run.Steps) != 1 || string(run.Steps[0].Before) != `{"a":1}` {
		t.Errorf("old run read back as %+v", run)
	}
	if tr, err := s.Observe(ctx, "prod", web, nil, "kubectl", t0.Add(time.Hour)); err != nil || tr != Resolved {
		t.Errorf("resolving the old finding: %s, %v", tr, err)
	}
	id, err := s.RecordRun(ctx, &Run{StartedAt: t0, FinishedAt: t0, User: "bob", Command: "undo", UndoOf: 1, Outcome: "applied"})
	if err != nil || id != 2 {
		t.Errorf("new run: id %d, %v; want 2", id, err)
	}
	if runs, err := s.Runs(ctx, RunFilter{}); err != nil || len(runs) != 2 || runs[0].User != "bob" {
		t.Errorf("runs %+v, %v", runs, err)
	}
}
