package testpostgres

import (
	"context"
	"database/sql"
	"net"
	"os"
	"strconv"
	"testing"
)

// TestServer: a server starts from Debian's package, gives each caller a
// database of its own, and leaves nothing behind when it stops.
func TestServer(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()
	a, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two databases share the DSN %s", a)
	}
	dbA, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	if _, err := dbA.ExecContext(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	dbB, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer dbB.Close()
	var n int
	if err := dbB.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a table made in %s is seen in %s (%d, %v)", a, b, n, err)
	}
	dbA.Close()
	dbB.Close()

	dir := srv.dir
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data folder %s left behind: %v", dir, err)
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port))); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", srv.Port)
	}
}

// TestDatabase: the shared server hands out working, distinct databases.
func TestDatabase(t *testing.T) {
	a, b := Database(t), Database(t)
	if a == b {
		t.Fatalf("two databases share the DSN %s", a)
	}
	db, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if want := "plumb_2"; name != want {
		t.Errorf("current_database() = %s, want %s", name, want)
	}
}

func TestMain(m *testing.M) { os.Exit(Run(m)) }
