package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"plumb.dev/plumb/internal/agent"
)

// maxBatch bounds the body of an agent's batch.
const maxBatch = 32 << 20

// agentRoutes adds the endpoints plumb agent sends to, when the hub takes
// agents.
func (s *Server) agentRoutes(api *http.ServeMux) {
	if s.b.Agents == nil {
		return
	}
	api.HandleFunc("POST /api/v1/agents/{cluster}/observations", s.agentObservations)
}

// agentObservations applies a batch of an agent's observations and answers
// with the last one applied (agent.Ack).
func (s *Server) agentObservations(w http.ResponseWriter, r *http.Request) {
	var b agent.Batch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBatch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "batch: "+err.Error())
		return
	}
	ack, err := s.b.Agents.Apply(r.Context(), r.PathValue("cluster"), b)
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
