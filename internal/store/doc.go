// Package store keeps plumb's history: the current findings, and drift
// events with their lifecycle (opened when an object first differs, updated
// when its changes change, resolved when it is back in sync), so that
// history answers "what drifted last week, for how long, who did it".
//
// A store is a DB in one of two databases, opened by Open from a target:
// SQLite (the default), a file, embedded through a pure-Go driver (no cgo)
// in WAL mode; or PostgreSQL, a postgres:// URL, through pgx, for replicas
// that share state. Both have one schema, made by one set of migrations
// (migrations/*.sql, embedded in the binary and applied on open), written
// in SQLite's SQL; the dialect rewrites placeholders and column types for
// PostgreSQL. Everything that reads a finding and then writes it does so in
// a transaction that holds a lock on that finding (an advisory lock in
// PostgreSQL), and migrations run under a lock, so several processes can
// share a store. Redact takes the password out of a target before it is
// printed. Callers depend on the Reader and Writer interfaces.
//
// Nothing a Secret holds is stored: findings arrive with Secret values
// already redacted by the drift engine.
//
// It must not compare objects or contact a cluster, and it never stores a
// Secret's values: findings arrive masked.
package store
