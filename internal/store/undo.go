package store

import (
	"context"
	"database/sql"
	"errors"
)

// UndoneBy returns the id of the run that undid run id (an undo of it
// that wrote something: applied or partial), or 0 when none did.
func (s *DB) UndoneBy(ctx context.Context, id int64) (int64, error) {
	var by int64
	err := s.queryRow(ctx, s.db, `SELECT id FROM runs WHERE undo_of = ? AND outcome IN (?, ?) ORDER BY id LIMIT 1`, id, RunApplied, RunPartial).Scan(&by)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return by, err
}
