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
