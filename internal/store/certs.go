package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ServingCert is one of plumb's serving certificates, PEM-encoded. Key is
// a private key: it never leaves the store but to serve.
type ServingCert struct {
	Cert, Key, CA []byte
	// PreviousCA is the CA of the certificate this one replaced.
	PreviousCA []byte
}

// ServingCert returns the certificate kept under name, or ErrNotFound.
func (s *DB) ServingCert(ctx context.Context, name string) (ServingCert, error) {
	var c ServingCert
	var cert, key, ca, prev string
	err := s.queryRow(ctx, s.db, `SELECT cert, key, ca, previous_ca FROM serving_certs WHERE name = ?`, name).Scan(&cert, &key, &ca, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.Cert, c.Key, c.CA, c.PreviousCA = []byte(cert), []byte(key), []byte(ca), []byte(prev)
	return c, err
}

// SetServingCert keeps c under name, in place of what was there.
func (s *DB) SetServingCert(ctx context.Context, name string, c ServingCert) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO serving_certs (name, cert, key, ca, previous_ca, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET cert = excluded.cert, key = excluded.key, ca = excluded.ca, previous_ca = excluded.previous_ca, updated_at = excluded.updated_at`,
		name, string(c.Cert), string(c.Key), string(c.CA), string(c.PreviousCA), time.Now().UnixMilli())
	return err
}
