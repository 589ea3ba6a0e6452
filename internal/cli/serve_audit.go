package cli

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"plumb.dev/plumb/internal/daemon"
	"plumb.dev/plumb/internal/webhookauth"
)

// auditFlags are serve's --audit flags: where the API servers' audit
// webhook is received, over which TLS, and how its callers are known.
type auditFlags struct {
	listen    string
	certFile  string
	keyFile   string
	tokenFile string
	clientCA  string
	open      bool
}

func (a *auditFlags) validate() error {
	if a.listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(a.listen)
	if err != nil {
		return fmt.Errorf("--audit-listen %q: %w", a.listen, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	tls := a.certFile != "" || a.keyFile != ""
	authenticated := a.tokenFile != "" || a.clientCA != ""
	switch {
	case (a.certFile == "") != (a.keyFile == ""):
		return fmt.Errorf("--audit-tls-cert-file and --audit-tls-key-file go together")
	case !loopback && !tls:
		return fmt.Errorf("--audit-listen %s is not a loopback address: serve it over TLS (--audit-tls-cert-file, --audit-tls-key-file)", a.listen)
	case authenticated && !tls:
		return fmt.Errorf("--audit-token-file and --audit-client-ca need TLS (--audit-tls-cert-file): the API server's webhook client sends its credentials only over TLS")
	case !authenticated && !a.open:
		return fmt.Errorf("--audit-listen needs to know its callers: give --audit-token-file or --audit-client-ca (with TLS), as the API server's audit webhook kubeconfig presents them (docs/serve.md), or --audit-allow-unauthenticated on a loopback address")
	case a.open && !loopback:
		return fmt.Errorf("--audit-allow-unauthenticated is for a loopback --audit-listen only: anyone who reaches %s could post made-up audit events", a.listen)
	}
	return nil
}

// options are the flags as the daemon takes them, files read; nil when
// there is no receiver. validate has passed.
func (a *auditFlags) options() (*daemon.AuditOptions, error) {
	if a.listen == "" {
		return nil, nil
	}
	opts := &daemon.AuditOptions{Listen: a.listen}
	if a.certFile != "" {
		cert, err := tls.LoadX509KeyPair(a.certFile, a.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--audit-tls-cert-file, --audit-tls-key-file: %w", err)
		}
		opts.Cert = &cert
	}
	var err error
	opts.Caller, err = loadCaller("--audit-token-file", a.tokenFile, "--audit-client-ca", a.clientCA)
	return opts, err
}

// loadCaller reads how a webhook listener knows the API servers: a token
// file and a PEM file of client CAs, either of which may be "", naming each
// file's flag in its errors.
func loadCaller(tokenFlag, tokenFile, caFlag, caFile string) (webhookauth.Caller, error) {
	var c webhookauth.Caller
	if tokenFile != "" {
		var err error
		if c.Token, err = readSecretFile(tokenFlag, tokenFile); err != nil {
			return c, err
		}
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return c, fmt.Errorf("%s: %w", caFlag, err)
		}
		c.ClientCAs = x509.NewCertPool()
		if !c.ClientCAs.AppendCertsFromPEM(b) {
			return c, fmt.Errorf("%s %s holds no PEM certificate", caFlag, caFile)
		}
	}
	return c, nil
}
