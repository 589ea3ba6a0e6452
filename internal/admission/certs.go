package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	certutil "k8s.io/client-go/util/cert"

	"plumb.dev/plumb/internal/store"
)

// CertStore keeps the webhook's serving certificate across restarts.
type CertStore interface {
	ServingCert(ctx context.Context, name string) (store.ServingCert, error)
	SetServingCert(ctx context.Context, name string, c store.ServingCert) error
}

// certName is the name the webhook's certificate is kept under.
const certName = "admission-webhook"

// Certs is the webhook's serving certificate: kept in a CertStore, so that
// a restart serves the certificate the API servers already trust (no
// window where reviews fail and writes pass unreviewed), and renewed before
// it expires. While a renewal settles, the CA bundle holds the old CA and
// the new one, and the old certificate is served until the registrations
// have had time to publish the bundle.
type Certs struct {
	host  string
	store CertStore
	// Renew is how long before expiry a certificate is replaced. Default
	// 30 days. SwitchAfter is how long the old certificate is still served
	// after a renewal, for the new bundle to reach the API servers.
	// Default 1 minute.
	Renew, SwitchAfter time.Duration
	Now                func() time.Time
	Logger             *slog.Logger

	mu       sync.RWMutex
	cur      store.ServingCert
	serving  tls.Certificate
	next     *tls.Certificate // served from switchAt
	switchAt time.Time
}

// LoadCerts returns the webhook's certificate for host: the one kept in
// st when it is for host and not due for renewal, else a new one, kept.
// A nil st keeps nothing: a new certificate each start.
func LoadCerts(ctx context.Context, host string, st CertStore, logger *slog.Logger) (*Certs, error) {
	c := &Certs{host: host, store: st, Renew: 30 * 24 * time.Hour, SwitchAfter: time.Minute, Now: time.Now, Logger: logger}
	if st != nil {
		kept, err := st.ServingCert(ctx, certName)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("the webhook's serving certificate: %w", err)
		default:
			if err := c.use(kept); err == nil && c.fits() {
				return c, nil
			}
		}
	}
	if err := c.renew(ctx, false); err != nil {
		return nil, err
	}
	return c, nil
}

// use makes kept the certificate served.
func (c *Certs) use(kept store.ServingCert) error {
	pair, err := tls.X509KeyPair(kept.Cert, kept.Key)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur, c.serving, c.next = kept, pair, nil
	return nil
}

// fits says whether the newest certificate is for host and not due.
func (c *Certs) fits() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	certs, err := certutil.ParseCertsPEM(c.cur.Cert)
	return err == nil && len(certs) > 0 && certs[0].VerifyHostname(c.host) == nil && c.Now().Before(certs[0].NotAfter.Add(-c.Renew))
}

// renew makes a new certificate and keeps it; with settle, the current one
// is served SwitchAfter longer and its CA stays in the bundle.
func (c *Certs) renew(ctx context.Context, settle bool) error {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(c.host, nil, nil)
	if err != nil {
		return fmt.Errorf("admission serving certificate: %w", err)
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil || len(certs) != 2 {
		return fmt.Errorf("admission serving certificate: %v", err)
	}
	ca, err := certutil.EncodeCertificates(certs[1])
	if err != nil {
		return err
	}
	c.mu.RLock()
	fresh := store.ServingCert{Cert: certPEM, Key: keyPEM, CA: ca, PreviousCA: c.cur.CA}
	old := c.serving
	c.mu.RUnlock()
	if c.store != nil {
		if err := c.store.SetServingCert(ctx, certName, fresh); err != nil {
			return fmt.Errorf("keep the webhook's serving certificate: %w", err)
		}
	}
	if err := c.use(fresh); err != nil {
		return err
	}
	if settle {
		c.mu.Lock()
		next := c.serving
		c.serving, c.next, c.switchAt = old, &next, c.Now().Add(c.SwitchAfter)
		c.mu.Unlock()
	}
	return nil
}

// GetCertificate serves the current certificate (tls.Config).
func (c *Certs) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next != nil && !c.Now().Before(c.switchAt) {
		c.serving, c.next = *c.next, nil
	}
	cert := c.serving
	return &cert, nil
}

// Bundle is the CA bundle the API servers must trust: the current CA, and
// the previous one while it may still be served or trusted.
func (c *Certs) Bundle() []byte {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append(append([]byte{}, c.cur.CA...), c.cur.PreviousCA...)
}

// Start renews the certificate before it expires, looking every hour,
// until ctx ends.
func (c *Certs) Start(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.RenewIfDue(ctx); err != nil && c.Logger != nil {
				c.Logger.Error("cannot renew the admission webhook's certificate; it is tried again in an hour", "err", err)
			}
		}
	}
}

// RenewIfDue renews the certificate when it is within Renew of expiry.
func (c *Certs) RenewIfDue(ctx context.Context) error {
	if c.fits() {
		return nil
	}
	if c.Logger != nil {
		c.Logger.Info("renewing the admission webhook's serving certificate")
	}
	return c.renew(ctx, true)
}
