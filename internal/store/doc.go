// Package store keeps plumb's history: the current findings, and drift
// events with their lifecycle (opened when an object first differs, updated
// when its changes change, resolved when it is back in sync), so that
// history answers "what drifted last week, for how long, who did it".
//
// The default store is SQLite, embedded through a pure-Go driver (no cgo),
// in WAL mode, with its schema migrations embedded in the binary and
// applied on open. Callers depend on the Reader and Writer interfaces, so a
// PostgreSQL store can be added without touching them.
//
// Nothing a Secret holds is stored: findings arrive with Secret values
// already redacted by the drift engine.
//
// It must not compare objects or contact a cluster, and it never stores a
// Secret's values: findings arrive masked.
package store
