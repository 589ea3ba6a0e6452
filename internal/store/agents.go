package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AgentCursor is where the hub is in one agent's outbox.
type AgentCursor struct {
	Cluster, Stream string
	Applied         int64
	SeenAt          time.Time
}

// AgentCursor returns the cluster's cursor; a zero one (no stream) when
// no agent has sent it anything.
func (s *DB) AgentCursor(ctx context.Context, cluster string) (AgentCursor, error) {
	c := AgentCursor{Cluster: cluster}
	var ms int64
	err := s.queryRow(ctx, s.db, `SELECT stream, applied, seen_at FROM agent_cursors WHERE cluster = ?`, cluster).Scan(&c.Stream, &c.Applied, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	c.SeenAt = time.UnixMilli(ms)
	return c, err
}

// SetAgentCursor records the cluster's cursor.
func (s *DB) SetAgentCursor(ctx context.Context, c AgentCursor) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO agent_cursors (cluster, stream, applied, seen_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (cluster) DO UPDATE SET stream = excluded.stream, applied = excluded.applied, seen_at = excluded.seen_at`,
		c.Cluster, c.Stream, c.Applied, c.SeenAt.UnixMilli())
	return err
}

// AgentCursors lists every agent cluster's cursor, by name.
func (s *DB) AgentCursors(ctx context.Context) ([]AgentCursor, error) {
	rows, err := s.query(ctx, s.db, `SELECT cluster, stream, applied, seen_at FROM agent_cursors ORDER BY cluster`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgentCursor
	for rows.Next() {
		var c AgentCursor
		var ms int64
		if err := rows.Scan(&c.Cluster, &c.Stream, &c.Applied, &ms); err != nil {
			return nil, err
		}
		c.SeenAt = time.UnixMilli(ms)
		out = append(out, c)
	}
	return out, rows.Err()
}

// AgentFix is a fix asked of an agent's cluster, as stored: Fix is its
// JSON, which the agent package reads.
type AgentFix struct {
	ID             int64
	Cluster, State string
	Fix            string
}

// AddAgentFix stores a new fix and returns its id.
func (s *DB) AddAgentFix(ctx context.Context, cluster, state, fix string) (int64, error) {
	var id int64
	err := s.queryRow(ctx, s.db, `INSERT INTO agent_fixes (cluster, state, fix) VALUES (?, ?, ?) RETURNING id`, cluster, state, fix).Scan(&id)
	return id, err
}

// SetAgentFix replaces a fix's state and JSON.
func (s *DB) SetAgentFix(ctx context.Context, id int64, state, fix string) error {
	_, err := s.exec(ctx, s.db, `UPDATE agent_fixes SET state = ?, fix = ? WHERE id = ?`, state, fix, id)
	return err
}

// AgentFixes lists a cluster's fixes, oldest first; only those in state
// unless it is empty.
func (s *DB) AgentFixes(ctx context.Context, cluster, state string) ([]AgentFix, error) {
	q, args := `SELECT id, cluster, state, fix FROM agent_fixes WHERE cluster = ?`, []any{cluster}
	if state != "" {
		q, args = q+` AND state = ?`, append(args, state)
	}
	rows, err := s.query(ctx, s.db, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AgentFix
	for rows.Next() {
		var f AgentFix
		if err := rows.Scan(&f.ID, &f.Cluster, &f.State, &f.Fix); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SetAgentToken binds the token whose SHA-256 is hash to cluster, in place
// of the cluster's previous token.
func (s *DB) SetAgentToken(ctx context.Context, cluster, hash string, at time.Time) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO agent_tokens (cluster, hash, created_at) VALUES (?, ?, ?)
		ON CONFLICT (cluster) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at`, cluster, hash, at.UnixMilli())
	return err
}

// AgentTokenCluster returns the cluster the token whose SHA-256 is hash
// is bound to, or ErrNotFound.
func (s *DB) AgentTokenCluster(ctx context.Context, hash string) (string, error) {
	var cluster string
	err := s.queryRow(ctx, s.db, `SELECT cluster FROM agent_tokens WHERE hash = ?`, hash).Scan(&cluster)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return cluster, err
}
