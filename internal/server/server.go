package server

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/dashboard"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/store"
)

//go:embed openapi.json
var openapiDoc []byte

// Options configure the server.
type Options struct {
	// Listen is the address. Default 127.0.0.1:8080.
	Listen string
	// Token is the bearer token requests must carry. Required when Listen
	// is not a loopback address.
	Token string
	// AllowedHosts are host names, besides the listen address (and
	// localhost on loopback), that requests may name in their Host header;
	// "*.example.com" allows its subdomains. Default none.
	AllowedHosts []string
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
	// HookSecret is the Git push hook's own secret: GitLab's token, the
	// key of GitHub's signature. Default none: only the API token, as a
	// bearer token, calls the hook.
	HookSecret string
	// Pprof serves Go's profiles under /debug/pprof/, behind the same
	// authentication as the API. Default off.
	Pprof bool
}

// Store is what the server reads of the store: findings and events, and
// the few columns of findings that the cost of drift and skew need.
type Store interface {
	store.Reader
	Deltas(ctx context.Context, f store.Filter) ([]store.Delta, error)
	Changes(ctx context.Context, f store.Filter) ([]drift.Finding, error)
}

var _ Store = (*store.DB)(nil)

// Backend is what the server shows.
type Backend struct {
	Store    Store
	Clusters func() []event.Status
	// Ready says whether plumb can serve (/readyz): true once each
	// cluster is synced or known to be failing, never held by one
	// cluster that is down.
	Ready   func() bool
	Hub     *Hub
	Metrics *metrics.Metrics
	// Runs are the remediation runs (plumb fix, undo, serve).
	Runs store.RunReader
	// BreakGlass lists the writes the admission webhook let through
	// because their author broke glass.
	BreakGlass interface {
		BreakGlasses(ctx context.Context, f store.BreakGlassFilter) ([]store.BreakGlass, error)
	}
	// Remediations are serve's plans that wait or were held back.
	Remediations Remediator
	// GitHook asks for the Git sources to be read now; nil when there are
	// none.
	GitHook func()
	// Labels are each cluster's labels from plumb.yaml, by name.
	Labels map[string]map[string]string
	// Pricing prices drift's resource deltas; zero gives no estimate.
	Pricing cost.Pricing
	// Agents applies plumb agent's batches; nil when the hub takes no
	// agents. AgentTokens are the agents' own credentials.
	Agents      *agent.Receiver
	AgentTokens agent.Tokens
}

// Server serves the API.
type Server struct {
	opts  Options
	b     Backend
	hosts *hostGuard
	ui    *dashboard.Dashboard
	http  *http.Server
}

// New checks the options and builds the server.
func New(b Backend, opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hosts, err := newHostGuard(opts.Listen, opts.AllowedHosts)
	if err != nil {
		return nil, err
	}
	if !hosts.loopbackOnly && opts.Token == "" {
		return nil, fmt.Errorf("--listen %s is not a loopback address: a bearer token (--token-file) is required", opts.Listen)
	}
	s := &Server{opts: opts, b: b, hosts: hosts, ui: dashboard.New(dashboard.Options{Token: opts.Token})}
	s.http = &http.Server{Addr: opts.Listen, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	// Streams never end on their own; end them when shutting down.
	s.http.RegisterOnShutdown(b.Hub.Close)
	if b.Agents != nil {
		s.http.RegisterOnShutdown(b.Agents.Close) // agents' long polls
	}
	return s, nil
}

// Handler returns the server's routes. Every route refuses a Host header
// the server does not answer for; the API's routes need the token (or a
// dashboard session) when one is set, and its write routes refuse
// cross-origin browser requests. The dashboard is at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.b.Ready() {
			writeError(w, http.StatusServiceUnavailable, "not ready: a cluster's first sync is not done yet (GET /api/v1/clusters shows each)")
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/clusters", s.clusters)
	api.HandleFunc("GET /api/v1/findings", s.findings)
	api.HandleFunc("GET /api/v1/findings/{id...}", s.finding)
	api.HandleFunc("GET /api/v1/events", s.events)
	api.HandleFunc("GET /api/v1/stream", s.stream)
	api.HandleFunc("GET /api/v1/remediations", s.remediations)
	api.HandleFunc("GET /api/v1/remediations/{id}", s.remediation)
	api.HandleFunc("POST /api/v1/remediations/{id}/approve", s.approve)
	api.HandleFunc("POST /api/v1/remediations/{id}/reject", s.reject)
	api.HandleFunc("GET /api/v1/cost", s.cost)
	api.HandleFunc("GET /api/v1/runs", s.runs)
	api.HandleFunc("GET /api/v1/runs/{id}", s.run)
	api.HandleFunc("POST /api/v1/runs/{id}/undo", s.undo)
	api.HandleFunc("GET /api/v1/skew", s.skew)
	api.HandleFunc("GET /api/v1/break-glass", s.breakGlass)
	s.agentRoutes(mux, api)
	api.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapiDoc)
	})
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	api.Handle("GET /metrics", promhttp.HandlerFor(s.b.Metrics.Registry, promhttp.HandlerOpts{}))
	if s.opts.Pprof {
		// Go profiling, as Kubernetes components serve it (--profiling),
		// behind the same auth; off unless asked for.
		api.HandleFunc("GET /debug/pprof/", pprof.Index)
		api.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		api.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		api.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	// Forges cannot send a bearer token: the hook checks its own.
	mux.HandleFunc("POST /api/v1/hooks/git", s.gitHook)
	s.ui.Register(mux, sameOrigin)
	guarded := s.authenticate(sameOrigin(api))
	for _, p := range []string{"/api/", "/metrics", "/debug/"} {
		mux.Handle(p, guarded)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	return s.hosts.wrap(mux)
}

// authenticate lets a request with a dashboard session through, and asks
// any other for the bearer token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	bearer := Authenticate(s.opts.Token, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" && s.ui.Authenticated(r) {
			next.ServeHTTP(w, r)
			return
		}
		bearer.ServeHTTP(w, r)
	})
}

// Start serves until ctx ends, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve is Start on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.http.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// clusterStatus is a cluster's status with its labels.
type clusterStatus struct {
	event.Status
	Labels map[string]string `json:"labels,omitempty"`
}

func (s *Server) clusters(w http.ResponseWriter, _ *http.Request) {
	items := []clusterStatus{}
	for _, st := range s.b.Clusters() {
		items = append(items, clusterStatus{Status: st, Labels: s.b.Labels[st.Name]})
	}
	writeJSON(w, map[string]any{"items": items})
}

func filterOf(r *http.Request) store.Filter {
	q := r.URL.Query()
	return store.Filter{Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Kind: q.Get("kind"),
		State: drift.State(q.Get("state")), Manager: q.Get("manager")}
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	switch f.State {
	case "", drift.StateDrifted, drift.StateMissing, drift.StateUnmanaged:
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q: want drifted, missing or unmanaged", f.State))
		return
	}
	items, err := s.b.Store.Findings(r.Context(), f)
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, map[string]any{"items": items})
}

func (s *Server) finding(w http.ResponseWriter, r *http.Request) {
	f, err := s.b.Store.Finding(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no current finding "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, f)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.EventFilter{Filter: filterOf(r)}
	var err error
	parseTime := func(name string) time.Time {
		v := q.Get(name)
		if v == "" || err != nil {
			return time.Time{}
		}
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			err = fmt.Errorf("%s %q: want RFC 3339, e.g. 2026-11-25T08:00:00Z", name, v)
		}
		return t
	}
	parseInt := func(name string) int64 {
		if err != nil {
			return 0
		}
		n, perr := nonNegative(q, name)
		err = perr
		return n
	}
	f.Since, f.Until = parseTime("since"), parseTime("until")
	f.Before, f.Limit = parseInt("before"), int(parseInt("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, err := s.b.Store.Events(r.Context(), f)
	if err != nil {
		s.internal(w, err)
		return
	}
	page := map[string]any{"items": items}
	// A full page may have more behind it: say how to ask for it.
	if limit := f.Limit; len(items) > 0 && len(items) == min(cmp.Or(limit, 100), 1000) {
		page["next"] = fmt.Sprintf("before=%d", items[len(items)-1].ID)
	}
	writeJSON(w, page)
}

// stream sends finding changes as Server-Sent Events until the client
// goes away: "event: opened|updated|resolved" with the change as data.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	events, cancel := s.b.Hub.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	fmt.Fprint(w, ": plumb finding stream\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(30 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
			flusher.Flush()
		case e, ok := <-events:
			if !ok {
				return // shutting down
			}
			b, err := json.Marshal(e)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Transition, b)
			flusher.Flush()
		}
	}
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.opts.Logger.Error("request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal error; see the server log")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Reason: reason(code), Message: msg})
}

func reason(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "BadRequest"
	case http.StatusUnauthorized:
		return "Unauthorized"
	case http.StatusForbidden:
		return "Forbidden"
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusConflict:
		return "Conflict"
	case http.StatusUnprocessableEntity:
		return "UnprocessableEntity"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	}
	return "InternalError"
}
