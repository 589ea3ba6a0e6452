package admission

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/webhookauth"
)

// maxReview bounds a review's body: two objects of etcd's largest size.
const maxReview = 7 << 20

// Server answers the webhook for every watched cluster: POST /admit/CLUSTER,
// and POST / as well when it serves one cluster.
type Server struct {
	mux     *http.ServeMux
	opts    Options
	auth    webhookauth.Caller
	metrics *metrics.Metrics
}

// NewServer routes each cluster's reviews to Review, for callers auth
// lets in. m may be nil.
func NewServer(clusters []*Cluster, opts Options, auth webhookauth.Caller, m *metrics.Metrics) *Server {
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
	s.auth.Require(s.mux, "the admission webhook", func() {
		if s.metrics != nil {
			s.metrics.Admissions.WithLabelValues("", string(Unauthenticated)).Inc()
		}
	}).ServeHTTP(w, r)
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

// Run serves TLS with certs' current certificate on ln until ctx ends.
func (s *Server) Run(ctx context.Context, ln net.Listener, certs *Certs) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12},
	}
	s.auth.TLS(srv.TLSConfig)
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
