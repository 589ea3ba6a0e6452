package admission

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	certutil "k8s.io/client-go/util/cert"

	"plumb.dev/plumb/internal/metrics"
)

// maxReview bounds a review's body: two objects of etcd's largest size.
const maxReview = 7 << 20

// Server answers the webhook for every watched cluster: POST /admit/CLUSTER,
// and POST / as well when it serves one cluster.
type Server struct {
	mux     *http.ServeMux
	opts    Options
	auth    ClientAuth
	metrics *metrics.Metrics
}

// ClientAuth is how the webhook knows that a review comes from an API
// server: the API server presents a client certificate or a bearer token
// from its AdmissionConfiguration's kubeConfigFile. With neither set, the
// webhook takes reviews from anyone who reaches it.
type ClientAuth struct {
	// Token is the bearer token the API servers send.
	Token string
	// ClientCAs verify the client certificate the API servers present.
	ClientCAs *x509.CertPool
}

// Open says whether the webhook takes reviews from anyone.
func (a ClientAuth) Open() bool { return a.Token == "" && a.ClientCAs == nil }

// NewServer routes each cluster's reviews to Review, for callers auth
// lets in. m may be nil.
func NewServer(clusters []*Cluster, opts Options, auth ClientAuth, m *metrics.Metrics) *Server {
	s := &Server{mux: http.NewServeMux(), opts: opts, auth: auth, metrics: m}
	for _, c := range clusters {
		s.mux.Handle("POST /admit/"+c.Name, s.handler(c))
		if len(clusters) == 1 {
			s.mux.Handle("POST /", s.handler(c))
		}
	}
	return s
}

// Path is where cluster name's API server sends its reviews, below the
// webhook's base URL.
func Path(name string) string { return "/admit/" + name }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authenticated(r) {
		if s.metrics != nil {
			s.metrics.Admissions.WithLabelValues("", string(Unauthenticated)).Inc()
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="plumb admission"`)
		http.Error(w, "plumb: the admission webhook takes reviews only from the API servers' credentials", http.StatusUnauthorized)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authenticated says whether r comes with the credentials auth asks for:
// the token, when one is set, and a certificate the client CAs verified
// (the TLS handshake verified it; here it must be there), when they are.
func (s *Server) authenticated(r *http.Request) bool {
	if s.auth.ClientCAs != nil && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
		return false
	}
	if s.auth.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.auth.Token)) != 1 {
			return false
		}
	}
	return true
}

func (s *Server) handler(c *Cluster) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(io.LimitReader(r.Body, maxReview)).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "plumb: want an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
			return
		}
		resp, decision := Review(c, review.Request, s.opts)
		review.Request, review.Response = nil, resp
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(&review); err != nil && s.opts.Logger != nil {
			s.opts.Logger.Debug("admission response not sent", "cluster", c.Name, "err", err)
		}
		if s.metrics != nil {
			s.metrics.Admissions.WithLabelValues(c.Name, string(decision)).Inc()
			s.metrics.AdmissionLatency.Observe(time.Since(start).Seconds())
		}
	})
}

// Run serves TLS with cert on ln until ctx ends.
func (s *Server) Run(ctx context.Context, ln net.Listener, cert tls.Certificate) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	if s.auth.ClientCAs != nil {
		// A certificate is asked for, and checked when given; a request
		// without one is refused by authenticated, with a 401 that says so.
		srv.TLSConfig.ClientCAs, srv.TLSConfig.ClientAuth = s.auth.ClientCAs, tls.VerifyClientCertIfGiven
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Certificate makes a serving certificate for host (a DNS name or an IP
// address, as the webhook's URL names it), signed by a CA made for it; it
// returns the certificate and the CA's, PEM-encoded, for the webhook
// configuration's caBundle. The CA's key is not kept: each start makes a
// new pair, and Registration puts the new bundle in place.
func Certificate(host string) (tls.Certificate, []byte, error) {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil || len(certs) != 2 {
		return tls.Certificate{}, nil, fmt.Errorf("serving certificate: %v", err)
	}
	ca, err := certutil.EncodeCertificates(certs[1])
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	return pair, ca, err
}
