package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"plumb.dev/plumb/internal/store"
)

// TestCertsAreKeptAndRenewed: the webhook's certificate is kept in the
// store, so a restart serves the one the API servers trust; a certificate
// for another host is replaced; one near expiry is renewed, its CA and the
// new one both in the bundle, the old certificate served until the switch,
// and a client trusting the bundle reaches the webhook before and after.
func TestCertsAreKeptAndRenewed(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first, err := LoadCerts(ctx, "127.0.0.1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadCerts(ctx, "127.0.0.1", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Bundle()) != string(first.Bundle()) {
		t.Error("a restart made a new certificate: the API servers' caBundle would no longer verify it")
	}
	if other, err := LoadCerts(ctx, "plumb.plumb-system.svc", st, nil); err != nil || string(other.Bundle()) == string(first.Bundle()) {
		t.Errorf("another host kept the certificate: %v", err)
	}
	c, err := LoadCerts(ctx, "127.0.0.1", st, nil)
	if err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), TLSConfig: &tls.Config{GetCertificate: c.GetCertificate}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	defer srv.Close()
	reach := func(bundle []byte) (*x509.Certificate, error) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(bundle)
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0], nil
	}
	before, err := reach(c.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	loaded := c.Bundle()
	if err := c.RenewIfDue(ctx); err != nil || string(c.Bundle()) != string(loaded) {
		t.Fatalf("a certificate a year from expiry was renewed (%v)", err)
	}

	now := before.NotAfter.Add(-29 * 24 * time.Hour) // within the 30 days
	c.Now = func() time.Time { return now }
	if err := c.RenewIfDue(ctx); err != nil {
		t.Fatal(err)
	}
	bundle := c.Bundle()
	if string(bundle) == string(loaded) {
		t.Fatal("not renewed within 30 days of expiry")
	}
	if got, err := reach(bundle); err != nil || !got.Equal(before) {
		t.Errorf("right after renewal: %v; want the old certificate still served, trusted by the new bundle", err)
	}
	now = now.Add(2 * time.Minute)
	got, err := reach(bundle)
	if err != nil || got.Equal(before) {
		t.Errorf("after the switch: %v; want the new certificate, trusted by the bundle", err)
	}
	if _, err := reach(loaded); err == nil {
		t.Error("the old bundle alone verifies the new certificate")
	}
	restarted, err := LoadCerts(ctx, "127.0.0.1", st, nil)
	if err != nil || string(restarted.Bundle()) != string(bundle) {
		t.Errorf("a restart after renewal: %v; want the renewed certificate and bundle kept", err)
	}
}
