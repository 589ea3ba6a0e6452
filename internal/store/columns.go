package store

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"plumb.dev/plumb/internal/drift"
)

// This file reads the few columns of current findings that one view
// needs (the cost of drift, skew), so that a fleet's worth of findings is
// not decoded whole to add up deltas or compare values.

// Delta is one drifted workload's resource delta, without the rest of
// its finding.
type Delta struct {
	ID, Cluster, Kind, Namespace, Name string
	ResourceDelta                      corev1.ResourceList
}

// Deltas lists the current findings that have a resource delta, filtered
// as Findings is, reading only their names and the delta column.
func (s *DB) Deltas(ctx context.Context, f Filter) ([]Delta, error) {
	where, args := f.where()
	rows, err := s.query(ctx, s.db, `SELECT id, cluster, kind, namespace, name, resource_delta FROM findings`+
		and(where, "resource_delta <> ''")+` ORDER BY cluster, namespace, kind, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Delta{}
	for rows.Next() {
		var d Delta
		var delta string
		if err := rows.Scan(&d.ID, &d.Cluster, &d.Kind, &d.Namespace, &d.Name, &delta); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(delta), &d.ResourceDelta); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Changes lists the current findings, filtered as Findings is, with
// their object and changes only: no provenance, times or delta.
func (s *DB) Changes(ctx context.Context, f Filter) ([]drift.Finding, error) {
	where, args := f.where()
	rows, err := s.query(ctx, s.db, `SELECT cluster, api_version, kind, namespace, name, state, changes FROM findings`+where+
		` ORDER BY cluster, namespace, kind, name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []drift.Finding{}
	for rows.Next() {
		var fd drift.Finding
		var changes string
		if err := rows.Scan(&fd.Cluster, &fd.APIVersion, &fd.Kind, &fd.Namespace, &fd.Name, &fd.State, &changes); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(changes), &fd.Changes); err != nil {
			return nil, err
		}
		out = append(out, fd)
	}
	return out, rows.Err()
}

// and adds cond to a WHERE clause of Filter.where, which may be empty.
func and(where, cond string) string {
	if where == "" {
		return " WHERE " + cond
	}
	return where + " AND " + cond
}
