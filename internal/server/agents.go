package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// maxBatch bounds the body of an agent's batch.
const maxBatch = agent.MaxBatchBytes

// agentRoutes adds the endpoints plumb agent sends to, when the hub takes
// agents. What an agent sends (its observations, its reports, its long
// poll for fixes) is authenticated by the agent's own token, which names
// the one cluster it may speak for; asking an agent for a fix is an API
// call like any other, behind the API token.
func (s *Server) agentRoutes(mux, api *http.ServeMux) {
	if s.b.Agents == nil {
		return
	}
	mux.Handle("POST /api/v1/agents/{cluster}/observations", s.asAgent(http.HandlerFunc(s.agentObservations), false))
	mux.Handle("POST /api/v1/agents/{cluster}/fixes/{id}/report", s.asAgent(http.HandlerFunc(s.reportFix), false))
	mux.Handle("GET /api/v1/agents/{cluster}/fixes", s.asAgent(http.HandlerFunc(s.agentFixes), true))
	api.HandleFunc("POST /api/v1/agents/{cluster}/fixes", s.requestFix)
}

// asAgent lets through a request bearing the token of the agent of the
// path's cluster; with orAPI, the API's token (or, with none, anyone) as
// well. Another cluster's agent is refused 403, an unknown token 401.
func (s *Server) asAgent(next http.Handler, orAPI bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if orAPI && (s.opts.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1) {
			next.ServeHTTP(w, r)
			return
		}
		cluster, ok, err := agent.ClusterOf(r.Context(), s.b.AgentTokens, got)
		switch {
		case err != nil:
			s.internal(w, err)
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer realm="plumb agents"`)
			writeError(w, http.StatusUnauthorized, "an agent's own token is required (plumb agent token CLUSTER on the hub makes one)")
		case cluster != r.PathValue("cluster"):
			s.opts.Logger.Warn("an agent spoke for another cluster", "token", cluster, "path", r.PathValue("cluster"))
			writeError(w, http.StatusForbidden, "this token is cluster "+cluster+"'s; it may not speak for cluster "+r.PathValue("cluster"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// maxFixWait bounds how long GET .../fixes?wait= holds the request.
const maxFixWait = time.Minute

// requestFix asks an agent to fix the objects of some of its cluster's
// findings: {"findings": ["ID", ...]}. The request is the approval.
func (s *Server) requestFix(w http.ResponseWriter, r *http.Request) {
	cluster := r.PathValue("cluster")
	if !s.b.Agents.Known(cluster) {
		writeError(w, http.StatusNotFound, "no agent has reported cluster "+cluster)
		return
	}
	var body struct {
		Findings []string `json:"findings"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || len(body.Findings) == 0 {
		writeError(w, http.StatusBadRequest, `want {"findings": ["ID", ...]}, the ids of the cluster's findings to fix`)
		return
	}
	var keys []drift.ObjectKey
	for _, id := range body.Findings {
		f, err := s.b.Store.Finding(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && f.Cluster != cluster) {
			writeError(w, http.StatusNotFound, "cluster "+cluster+" has no finding "+id)
			return
		}
		if err != nil {
			s.internal(w, err)
			return
		}
		if f.State == drift.StateUnmanaged {
			writeError(w, http.StatusUnprocessableEntity, "finding "+id+" is an unmanaged object; an agent only puts declared objects back")
			return
		}
		keys = append(keys, f.Key())
	}
	fix, err := s.b.Agents.RequestFix(r.Context(), cluster, body.Findings, keys)
	if err != nil {
		s.internal(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	writeJSON(w, fix)
}

// agentFixes lists a cluster's fixes; with ?pending=true only those the
// agent has not reported on, and with ?wait=DURATION (the agent's long
// poll) it waits up to a minute for one.
func (s *Server) agentFixes(w http.ResponseWriter, r *http.Request) {
	cluster, q := r.PathValue("cluster"), r.URL.Query()
	var items []agent.Fix
	var err error
	switch {
	case q.Get("wait") != "":
		wait, perr := time.ParseDuration(q.Get("wait"))
		if perr != nil || wait < 0 {
			writeError(w, http.StatusBadRequest, "wait: want a duration such as 30s")
			return
		}
		items, err = s.b.Agents.PendingFixes(r.Context(), cluster, min(wait, maxFixWait))
	default:
		items, err = s.b.Agents.Fixes(r.Context(), cluster, q.Get("pending") == "true")
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, map[string]any{"items": items})
}

// reportFix records the agent's report on a fix (agent.FixReport).
func (s *Server) reportFix(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no fix "+r.PathValue("id"))
		return
	}
	var rep agent.FixReport
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBatch)).Decode(&rep); err != nil {
		writeError(w, http.StatusBadRequest, "report: "+err.Error())
		return
	}
	f, err := s.b.Agents.Report(r.Context(), r.PathValue("cluster"), id, rep)
	if errors.Is(err, agent.ErrNotFound) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, f)
}

// agentObservations applies a batch of an agent's observations and answers
// with the last one applied (agent.Ack).
func (s *Server) agentObservations(w http.ResponseWriter, r *http.Request) {
	var b agent.Batch
	// Fields a newer agent sends that this hub does not know are left
	// out, so agents and the hub can be upgraded one at a time.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBatch)).Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "batch: "+err.Error())
		return
	}
	ack, err := s.b.Agents.Apply(r.Context(), r.PathValue("cluster"), b)
	if errors.Is(err, agent.ErrInvalid) {
		s.opts.Logger.Warn("agent batch invalid", "cluster", r.PathValue("cluster"), "err", err)
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, agent.ErrRefused) {
		s.opts.Logger.Warn("agent batch refused", "cluster", r.PathValue("cluster"), "err", err)
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, ack)
}
