package webhookauth

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
)

// Caller is how a webhook knows its caller is an API server. With neither
// field set it takes requests from anyone (Open).
type Caller struct {
	// Token is the bearer token the API servers send.
	Token string
	// ClientCAs verify the client certificate the API servers present.
	ClientCAs *x509.CertPool
}

// Open says whether the webhook takes requests from anyone.
func (c Caller) Open() bool { return c.Token == "" && c.ClientCAs == nil }

// TLS makes cfg ask for client certificates signed by ClientCAs, when set.
// A request without one is refused by Authenticated, with a 401 that says
// why, rather than by a failed handshake.
func (c Caller) TLS(cfg *tls.Config) {
	if c.ClientCAs != nil {
		cfg.ClientCAs, cfg.ClientAuth = c.ClientCAs, tls.VerifyClientCertIfGiven
	}
}

// Authenticated says whether r comes with what c asks for: the token, when
// one is set, and a certificate the client CAs verified (during the TLS
// handshake), when they are.
func (c Caller) Authenticated(r *http.Request) bool {
	if c.ClientCAs != nil && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return false
	}
	if c.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(c.Token)) != 1 {
			return false
		}
	}
	return true
}

// Require answers 401 to a request c does not authenticate, and passes
// the others to next; refused, if set, is told of each refusal.
func (c Caller) Require(next http.Handler, realm string, refused func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.Authenticated(r) {
			if refused != nil {
				refused()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			http.Error(w, "plumb: "+realm+" takes requests only with the API servers' credentials", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
