package store

import (
	"context"
	"database/sql"
	"time"
)

// RunWave is one cluster of one wave of a rollout: when it was fixed and
// how that went. A run without waves fixed its clusters all at once.
type RunWave struct {
	Wave    string `json:"wave"`
	Cluster string `json:"cluster"`
	// Status is pending (not reached yet), fixed, failed, or drifted (new
	// drift appeared while the wave baked).
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Message    string    `json:"message,omitempty"`
}

// UpdateRun replaces the run r.ID with r whole (a resumed rollout goes on
// in the run it started), or returns ErrNotFound.
func (s *DB) UpdateRun(ctx context.Context, r *Run) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := s.exec(ctx, tx, `UPDATE runs SET finished_at = ?, outcome = ?, clusters = ?, objects = ?, plan = ? WHERE id = ?`,
		r.FinishedAt.UnixMilli(), r.Outcome, joinList(r.Clusters), r.Objects, planJSON(r.Plan), r.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	for _, table := range []string{"run_objects", "run_waves"} {
		if _, err := s.exec(ctx, tx, `DELETE FROM `+table+` WHERE run_id = ?`, r.ID); err != nil {
			return err
		}
	}
	if err := s.insertSteps(ctx, tx, r.ID, r.Steps); err != nil {
		return err
	}
	if err := s.insertWaves(ctx, tx, r.ID, r.Waves); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *DB) insertWaves(ctx context.Context, tx *sql.Tx, id int64, waves []RunWave) error {
	for i, w := range waves {
		if _, err := s.exec(ctx, tx, `INSERT INTO run_waves (run_id, seq, wave, cluster, status, started_at, finished_at, message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, i, w.Wave, w.Cluster, w.Status, unixMilli(w.StartedAt), unixMilli(w.FinishedAt), w.Message); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) readWaves(ctx context.Context, id int64) ([]RunWave, error) {
	rows, err := s.query(ctx, s.db, `SELECT wave, cluster, status, started_at, finished_at, message FROM run_waves WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunWave
	for rows.Next() {
		var w RunWave
		var started, finished int64
		if err := rows.Scan(&w.Wave, &w.Cluster, &w.Status, &started, &finished, &w.Message); err != nil {
			return nil, err
		}
		w.StartedAt, w.FinishedAt = fromMilli(started), fromMilli(finished)
		out = append(out, w)
	}
	return out, rows.Err()
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
