package store

import (
	"context"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plumb.db", "plumb.db"},
		{"postgres://plumb@db/plumb?sslmode=disable", "postgres://plumb@db/plumb?sslmode=disable"},
		{"postgres://plumb:s3cret@db:5432/plumb", "postgres://plumb:xxxxx@db:5432/plumb"},
		{"postgresql://plumb@db/plumb?password=s3cret&sslmode=require", "postgresql://plumb@db/plumb?password=xxxxx&sslmode=require"},
		{"postgres://plumb:s3cret@[db/plumb", "postgres://(unparsable URL)"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPostgresErrorsHidePassword: a store that cannot be opened says which,
// without its password.
func TestPostgresErrorsHidePassword(t *testing.T) {
	for _, dsn := range []string{
		"postgres://plumb:s3cret@127.0.0.1:1/plumb?sslmode=disable&connect_timeout=5", // nothing listens on port 1
		"postgres://plumb:s3cret@127.0.0.1:1/plumb?sslmode=bogus",
		"postgresql://plumb@127.0.0.1:1/plumb?password=s3cret&sslmode=disable",
	} {
		_, err := Open(context.Background(), dsn)
		if err == nil {
			t.Fatalf("%s: opened", Redact(dsn))
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") || !strings.Contains(msg, "127.0.0.1:1/plumb") {
			t.Errorf("error %q: want the store named, without its password", msg)
		}
	}
}

func TestPostgresBind(t *testing.T) {
	got := postgres{}.bind(`SELECT a FROM t WHERE b = ? AND c LIKE '%?%' AND d IN (?, ?)`)
	if want := `SELECT a FROM t WHERE b = $1 AND c LIKE '%?%' AND d IN ($2, $3)`; got != want {
		t.Errorf("bind:\n got %s\nwant %s", got, want)
	}
}
