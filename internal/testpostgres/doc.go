// Package testpostgres gives tests a real PostgreSQL server, started from
// the binaries of Debian's postgresql package (initdb and postgres under
// /usr/lib/postgresql/VERSION/bin), listening on 127.0.0.1 at a free port,
// with its data in a temporary folder, trusting local connections.
//
// One server serves a whole test package, started on first use. Stop it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testpostgres.Run(m)) }
//
// and give each test a database of its own:
//
//	dsn := testpostgres.Database(t) // postgres://postgres@127.0.0.1:PORT/plumb_N?sslmode=disable
//
// Start, Server.CreateDatabase and Server.Stop do the same for a caller that
// manages its own server (a benchmark harness, several servers).
//
// PostgreSQL refuses to run as root: as root, initdb and postgres run as
// the postgres user the package creates (else nobody). postgres dies with
// the process that started it (a parent-death signal), so a test binary
// killed by its timeout leaves no server running.
//
// When the package is not installed, Database fails the test loudly: a
// test that needs PostgreSQL never silently skips. hack/install-deps.sh
// installs it.
//
// It is for tests only and must not be imported by plumb's binary.
package testpostgres
