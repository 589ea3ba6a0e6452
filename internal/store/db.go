package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

//go:embed migrations/*.sql
var migrations embed.FS

// ErrNotFound is returned for an id that names nothing.
var ErrNotFound = errors.New("not found")

// DB is a store in a SQL database: SQLite (OpenSQLite) or PostgreSQL
// (OpenPostgres). Both have the same schema, made by the same migrations,
// and answer the same queries; dialect holds what differs.
type DB struct {
	db      *sql.DB
	dialect dialect
}

var (
	_ Reader    = (*DB)(nil)
	_ Writer    = (*DB)(nil)
	_ RunReader = (*DB)(nil)
	_ RunWriter = (*DB)(nil)
)

// dialect is what one SQL database does its own way. Queries and
// migrations are written once, in the SQL both understand, with ?
// placeholders.
type dialect interface {
	// bind rewrites a query's ? placeholders for the driver.
	bind(query string) string
	// ddl rewrites a migration's column types for the database.
	ddl(migration string) string
	// lock holds an exclusive lock on name until tx ends, against every
	// other process that shares the database.
	lock(ctx context.Context, tx *sql.Tx, name string) error
}

// Open opens the store target names: a postgres:// or postgresql:// URL
// is a PostgreSQL database, anything else a SQLite file.
func Open(ctx context.Context, target string) (*DB, error) {
	if IsPostgres(target) {
		return OpenPostgres(ctx, target)
	}
	return OpenSQLite(ctx, target)
}

// Close closes the database cleanly (for SQLite, checkpointing the WAL).
func (s *DB) Close() error { return s.db.Close() }

// querier is what a query runs on: the pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.dialect.bind(query), args...)
}

func (s *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.dialect.bind(query), args...)
}

func (s *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.dialect.bind(query), args...)
}

// migrate applies the migrations the database has not seen, in name order,
// in one transaction that holds the migration lock: when several processes
// open the database at once, one migrates and the others then find nothing
// left to do.
func (s *DB) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.dialect.lock(ctx, tx, "plumb/schema_migrations"); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.dialect.ddl(`CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`)); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		var done int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, name).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.dialect.ddl(string(body))); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, name, time.Now().UnixMilli()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Observe implements Writer.
func (s *DB) Observe(ctx context.Context, cluster string, key drift.ObjectKey, f *drift.Finding, by string, at time.Time) (Transition, error) {
	id := FindingID(cluster, key)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	// Two writers observing one object (replicas sharing a database) take
	// turns, so that only one of them opens its event.
	if err := s.dialect.lock(ctx, tx, "plumb/finding/"+id); err != nil {
		return "", err
	}

	var eventID int64
	var oldChanges, oldState, oldOrigin string
	err = s.queryRow(ctx, tx, `SELECT event_id, changes, state, source FROM findings WHERE id = ?`, id).Scan(&eventID, &oldChanges, &oldState, &oldOrigin)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	ms := at.UnixMilli()

	if f == nil {
		if !exists {
			return Unchanged, nil
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM findings WHERE id = ?`, id); err != nil {
			return "", err
		}
		if _, err := s.exec(ctx, tx, `UPDATE events SET resolved_at = ?, resolved_by = ? WHERE id = ?`, ms, by, eventID); err != nil {
			return "", err
		}
		return Resolved, tx.Commit()
	}

	changes, err := json.Marshal(nonNil(f.Changes))
	if err != nil {
		return "", err
	}
	managers := managersOf(f.Changes)
	delta, err := deltaJSON(f)
	if err != nil {
		return "", err
	}
	var source, origin string
	var line int
	if f.Source != nil {
		source, line = f.Source.Path, f.Source.Line
		b, err := json.Marshal(f.Source)
		if err != nil {
			return "", err
		}
		origin = string(b)
	}
	if exists && string(changes) == oldChanges && oldState == string(f.State) {
		if origin == oldOrigin {
			return Unchanged, nil
		}
		// Compared again with another declaration (a new commit) that
		// gives the same finding: the finding records where it came from,
		// the event goes on.
		if _, err := s.exec(ctx, tx, `UPDATE findings SET source_path = ?, source_line = ?, source = ? WHERE id = ?`, source, line, origin, id); err != nil {
			return "", err
		}
		return Unchanged, tx.Commit()
	}
	if !exists {
		if err := s.queryRow(ctx, tx, `INSERT INTO events (finding_id, cluster, api_version, kind, namespace, name, state, changes, managers, opened_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, cluster, f.APIVersion, key.Kind, key.Namespace, key.Name, f.State, string(changes), managers, ms, ms).Scan(&eventID); err != nil {
			return "", err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO findings (id, cluster, api_version, kind, namespace, name, state, source_path, source_line, source, changes, managers, unconfirmed, first_seen, last_change, event_id, resource_delta)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, cluster, f.APIVersion, key.Kind, key.Namespace, key.Name, f.State, source, line, origin, string(changes), managers, flag(f.Unconfirmed), ms, ms, eventID, delta); err != nil {
			return "", err
		}
		return Opened, tx.Commit()
	}
	if _, err := s.exec(ctx, tx, `UPDATE findings SET state = ?, changes = ?, managers = ?, unconfirmed = ?, last_change = ?, source_path = ?, source_line = ?, source = ?, resource_delta = ? WHERE id = ?`,
		f.State, string(changes), managers, flag(f.Unconfirmed), ms, source, line, origin, delta, id); err != nil {
		return "", err
	}
	if _, err := s.exec(ctx, tx, `UPDATE events SET state = ?, changes = ?, managers = ?, updated_at = ?, updates = updates + 1 WHERE id = ?`,
		f.State, string(changes), managers, ms, eventID); err != nil {
		return "", err
	}
	return Updated, tx.Commit()
}

// Relocate implements Writer.
func (s *DB) Relocate(ctx context.Context, cluster string, key drift.ObjectKey, origin source.Origin) error {
	b, err := json.Marshal(origin)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, s.db, `UPDATE findings SET source_path = ?, source_line = ?, source = ? WHERE id = ?`,
		origin.Path, origin.Line, string(b), FindingID(cluster, key))
	return err
}

// Prune implements Writer.
func (s *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, s.db, `DELETE FROM events WHERE resolved_at IS NOT NULL AND resolved_at < ?`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

const findingColumns = `id, cluster, api_version, kind, namespace, name, state, source_path, source_line, source, changes, unconfirmed, first_seen, last_change, event_id, resource_delta`

// Findings implements Reader.
func (s *DB) Findings(ctx context.Context, f Filter) ([]Finding, error) {
	where, args := f.where()
	rows, err := s.query(ctx, s.db, `SELECT `+findingColumns+` FROM findings`+where+` ORDER BY cluster, namespace, kind, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Finding{}
	for rows.Next() {
		fd, err := scanFinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *fd)
	}
	return out, rows.Err()
}

// Finding implements Reader.
func (s *DB) Finding(ctx context.Context, id string) (*Finding, error) {
	fd, err := scanFinding(s.queryRow(ctx, s.db, `SELECT `+findingColumns+` FROM findings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return fd, err
}

type scanner interface{ Scan(...any) error }

func scanFinding(r scanner) (*Finding, error) {
	var fd Finding
	var changes, sourcePath, origin, delta string
	var line int
	var first, last int64
	if err := r.Scan(&fd.ID, &fd.Cluster, &fd.APIVersion, &fd.Kind, &fd.Namespace, &fd.Name, &fd.State, &sourcePath, &line, &origin,
		&changes, &fd.Unconfirmed, &first, &last, &fd.EventID, &delta); err != nil {
		return nil, err
	}
	if delta != "" {
		if err := json.Unmarshal([]byte(delta), &fd.ResourceDelta); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal([]byte(changes), &fd.Changes); err != nil {
		return nil, err
	}
	switch {
	case origin != "":
		fd.Source = &source.Origin{}
		if err := json.Unmarshal([]byte(origin), fd.Source); err != nil {
			return nil, err
		}
	case sourcePath != "": // recorded before the source column
		fd.Source = &source.Origin{Path: sourcePath, Line: line}
	}
	fd.FirstSeen, fd.LastChange = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
	return &fd, nil
}

// Events implements Reader.
func (s *DB) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	where, args := f.Filter.where()
	add := func(cond string, arg any) {
		if where == "" {
			where = " WHERE " + cond
		} else {
			where += " AND " + cond
		}
		args = append(args, arg)
	}
	if !f.Since.IsZero() {
		add("opened_at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("opened_at < ?", f.Until.UnixMilli())
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	limit := pageSize(f.Limit)
	rows, err := s.query(ctx, s.db, `SELECT id, finding_id, cluster, api_version, kind, namespace, name, state, changes, managers, opened_at, updated_at, updates, resolved_at, resolved_by
		FROM events`+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var changes, managers string
		var opened, updated int64
		var resolved sql.NullInt64
		if err := rows.Scan(&e.ID, &e.FindingID, &e.Cluster, &e.APIVersion, &e.Kind, &e.Namespace, &e.Name, &e.State, &changes, &managers,
			&opened, &updated, &e.Updates, &resolved, &e.ResolvedBy); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
			return nil, err
		}
		e.Managers = splitList(managers)
		e.OpenedAt, e.UpdatedAt = time.UnixMilli(opened).UTC(), time.UnixMilli(updated).UTC()
		if resolved.Valid {
			t := time.UnixMilli(resolved.Int64).UTC()
			e.ResolvedAt = &t
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// OpenKeys implements Reader.
func (s *DB) OpenKeys(ctx context.Context, cluster string) ([]drift.ObjectKey, error) {
	rows, err := s.query(ctx, s.db, `SELECT api_version, kind, namespace, name FROM findings WHERE cluster = ?`, cluster)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []drift.ObjectKey
	for rows.Next() {
		var apiVersion string
		var k drift.ObjectKey
		if err := rows.Scan(&apiVersion, &k.Kind, &k.Namespace, &k.Name); err != nil {
			return nil, err
		}
		k.Group = drift.Finding{APIVersion: apiVersion}.Key().Group
		out = append(out, k)
	}
	return out, rows.Err()
}

func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{{"cluster", f.Cluster}, {"namespace", f.Namespace}, {"kind", f.Kind}, {"state", string(f.State)}} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	if f.Manager != "" {
		conds = append(conds, "(',' || managers || ',') LIKE ?")
		args = append(args, "%,"+f.Manager+",%")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// deltaJSON is the finding's resource delta as stored: JSON, or empty.
func deltaJSON(f *drift.Finding) (string, error) {
	if len(f.ResourceDelta) == 0 {
		return "", nil
	}
	b, err := json.Marshal(f.ResourceDelta)
	return string(b), err
}

// flag is a boolean as stored: an INTEGER, 1 or 0.
func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}

func managersOf(cs []drift.Change) string {
	var ms []string
	for _, c := range cs {
		if c.Manager != "" && !slices.Contains(ms, c.Manager) {
			ms = append(ms, c.Manager)
		}
	}
	sort.Strings(ms)
	return strings.Join(ms, ",")
}

// pageSize is a page's size as asked: default 100, at most 1000.
func pageSize(limit int) int {
	if limit <= 0 {
		return 100
	}
	return min(limit, 1000)
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func nonNil(cs []drift.Change) []drift.Change {
	if cs == nil {
		return []drift.Change{}
	}
	return cs
}
