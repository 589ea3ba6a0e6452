package store

import (
	"context"
	"encoding/json"
	"time"
)

// BreakGlass is one write the admission webhook let through because its
// author, allowed to break glass, annotated the object with a reason.
type BreakGlass struct {
	ID         int64     `json:"id"`
	Time       time.Time `json:"time"`
	Cluster    string    `json:"cluster"`
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Namespace  string    `json:"namespace,omitempty"`
	Name       string    `json:"name"`
	UID        string    `json:"uid,omitempty"`
	// User and Groups are the identity the API server authenticated.
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	Reason string   `json:"reason"`
	// Operation is UPDATE or DELETE.
	Operation string `json:"operation"`
	// Paths are the declared fields the write overrode (none for DELETE).
	Paths []string `json:"paths"`
	// Source is the declaration's file:line.
	Source string `json:"source,omitempty"`
}

// BreakGlassFilter pages BreakGlasses.
type BreakGlassFilter struct {
	// Before pages: only records with an id below it. 0 starts at the newest.
	Before int64
	// Limit bounds the page. Default 100, at most 1000.
	Limit int
}

// RecordBreakGlass stores b and returns its id.
func (s *DB) RecordBreakGlass(ctx context.Context, b *BreakGlass) (int64, error) {
	var id int64
	err := s.queryRow(ctx, s.db, `INSERT INTO break_glass (at, cluster, api_version, kind, namespace, name, uid, "user", groups, reason, operation, paths, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		b.Time.UnixMilli(), b.Cluster, b.APIVersion, b.Kind, b.Namespace, b.Name, b.UID, b.User, jsonList(b.Groups), b.Reason, b.Operation,
		jsonList(b.Paths), b.Source).Scan(&id)
	if err != nil {
		return 0, err
	}
	b.ID = id
	return id, nil
}

// BreakGlasses lists break-glass writes, newest first.
func (s *DB) BreakGlasses(ctx context.Context, f BreakGlassFilter) ([]BreakGlass, error) {
	limit := pageSize(f.Limit)
	where, args := "", []any{}
	if f.Before > 0 {
		where, args = " WHERE id < ?", append(args, f.Before)
	}
	rows, err := s.query(ctx, s.db, `SELECT id, at, cluster, api_version, kind, namespace, name, uid, "user", groups, reason, operation, paths, source
		FROM break_glass`+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []BreakGlass{}
	for rows.Next() {
		var b BreakGlass
		var at int64
		var groups, paths string
		if err := rows.Scan(&b.ID, &at, &b.Cluster, &b.APIVersion, &b.Kind, &b.Namespace, &b.Name, &b.UID, &b.User, &groups, &b.Reason, &b.Operation, &paths, &b.Source); err != nil {
			return nil, err
		}
		b.Time = time.UnixMilli(at).UTC()
		if b.Groups, err = parseList(groups); err != nil {
			return nil, err
		}
		if b.Paths, err = parseList(paths); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// jsonList is a list as one JSON column: groups and reasons are free text.
func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always marshals
	return string(b)
}

func parseList(s string) ([]string, error) {
	out := []string{}
	return out, json.Unmarshal([]byte(s), &out)
}
