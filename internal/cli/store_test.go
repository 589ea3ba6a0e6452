package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testpostgres"
	"plumb.dev/plumb/internal/testwait"
)

// TestPostgresStore runs serve, fix, history and scan on one PostgreSQL
// store (a server started from Debian's package): serve records a drift
// that its API then answers, fix records its run, history reads it back
// (from --store and from the configuration's store), serve records the
// drift's end, and no command prints the password.
func TestPostgresStore(t *testing.T) {
	ctx := context.Background()
	srv, err := testpostgres.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	})
	dsn, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The server trusts local connections: a password is accepted and
	// ignored, which lets the test look for it in what plumb prints.
	dsn = strings.Replace(dsn, testpostgres.Superuser+"@", testpostgres.Superuser+":s3cret@", 1)
	testStores.Store(t.Name(), dsn) // fix and history use it

	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", dsn)
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	testwait.For(t, 10*time.Second, "the api drift in serve's API", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Name == "api" && fs[0].Changes[0].Manager == "kubectl-set"
	})

	code, d, stderr := fix(t, ns, "--source", shop, "--yes")
	if code != ExitInSync || d.Run == 0 {
		t.Fatalf("fix: exit %d, run %d: %s", code, d.Run, stderr)
	}
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("fix printed the store's password:\n%s", stderr)
	}
	var h struct{ Runs []store.Run }
	if err := json.Unmarshal([]byte(history(t, "-o", "json")), &h); err != nil {
		t.Fatal(err)
	}
	runs := h.Runs
	if len(runs) != 1 || runs[0].ID != d.Run || runs[0].Command != "fix" || runs[0].Outcome != "applied" {
		t.Fatalf("history = %+v, want fix's run %d, applied", runs, d.Run)
	}

	// The configuration's store: driver postgres, its dsn.
	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nstore: {driver: postgres, dsn: '"+dsn+"'}\n")
	if code, out, stderr := run(t, "history", "-c", cfg, "-o", "json"); code != 0 || !strings.Contains(out, `"command": "fix"`) {
		t.Errorf("history -c (store.driver postgres): exit %d: %s%s", code, out, stderr)
	}

	var events struct{ Items []store.Event }
	testwait.For(t, 10*time.Second, "the api drift's event resolved", func() bool {
		getJSON(t, base+"/api/v1/events", &events)
		return len(events.Items) == 1 && events.Items[0].Name == "api" && events.Items[0].ResolvedAt != nil
	})

	// scan reads serve's store, and says which store it could not open
	// without its password.
	if code, _, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop, "--store", dsn); code != ExitInSync {
		t.Errorf("scan --store: exit %d: %s", code, stderr)
	}
	bad := strings.Replace(dsn, "/plumb_", "/nonexistent_", 1)
	code, _, stderr = run(t, "history", "--store", bad)
	if code < 2 || !strings.Contains(stderr, "nonexistent_") || strings.Contains(stderr, "s3cret") {
		t.Errorf("history on a missing database: exit %d, stderr %q; want an error naming it, without the password", code, stderr)
	}
}
