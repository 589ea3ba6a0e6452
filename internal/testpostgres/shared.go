package testpostgres

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the test package's server, started by the first Database call
// and stopped by Run.
var shared struct {
	once   sync.Once
	server *Server
	err    error
}

// Database returns the DSN of a new, empty database on the test package's
// server, starting the server on first use. It fails t when PostgreSQL is
// not installed or does not start.
func Database(t testing.TB) string {
	t.Helper()
	srv, err := Shared()
	if err != nil {
		t.Fatalf("testpostgres: %v", err)
	}
	dsn, err := srv.CreateDatabase(context.Background())
	if err != nil {
		t.Fatalf("testpostgres: %v", err)
	}
	return dsn
}

// Shared returns the test package's server, starting it on first use.
func Shared() (*Server, error) {
	shared.once.Do(func() { shared.server, shared.err = Start(context.Background()) })
	return shared.server, shared.err
}

// Run runs the package's tests, then stops the shared server if they
// started it, and returns the exit code for os.Exit. Call it from TestMain.
func Run(m *testing.M) int {
	code := m.Run()
	if shared.server != nil {
		if err := shared.server.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testpostgres: stop: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
