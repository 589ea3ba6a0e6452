package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" driver, pure Go
)

// SQLiteFiles lists the files a SQLite store at path writes: the database
// and the journals SQLite keeps beside it.
func SQLiteFiles(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

// OpenSQLite opens (creating if needed) the database file at path, in WAL
// mode, and applies pending migrations.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	// Transactions take the write lock when they begin, so that a process
	// sharing the file (plumb fix beside plumb serve) waits its turn
	// instead of failing to upgrade a read to a write.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a single connection keeps
	// transactions from waiting on each other's locks.
	db.SetMaxOpenConns(1)
	s := &DB{db: db, dialect: sqlite{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// sqlite is the dialect the migrations and queries are written in. Its
// transactions are serialized (one connection, each transaction
// immediate), so it needs no locks of its own.
type sqlite struct{}

func (sqlite) bind(query string) string                    { return query }
func (sqlite) ddl(migration string) string                 { return migration }
func (sqlite) lock(context.Context, *sql.Tx, string) error { return nil }
