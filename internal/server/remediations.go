package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/store"
)

// Remediator is what the server needs of serve's remediation.
type Remediator interface {
	List() []queue.Remediation
	Get(id int64) (queue.Remediation, bool)
	Approve(ctx context.Context, id int64, hash string) (queue.Approval, error)
	Reject(id int64) (queue.Remediation, error)
	Undo(ctx context.Context, runID int64) (queue.Undone, error)
}

var _ Remediator = (*queue.Queue)(nil)

func (s *Server) remediations(w http.ResponseWriter, r *http.Request) {
	state, cluster := r.URL.Query().Get("state"), r.URL.Query().Get("cluster")
	switch queue.State(state) {
	case "", queue.StatePending, queue.StateRefused, queue.StateFighting, queue.StateFailed, queue.StateWaiting:
	default:
		writeError(w, http.StatusBadRequest, "state "+strconv.Quote(state)+": want pending, refused, fighting, failed or waiting")
		return
	}
	items := s.b.Remediations.List()
	kept := items[:0]
	for _, it := range items {
		if (state == "" || string(it.State) == state) && (cluster == "" || it.Cluster == cluster) {
			kept = append(kept, it)
		}
	}
	writeJSON(w, map[string]any{"items": kept})
}

// pathID reads the {id} path value of a remediation or a run; it writes
// the error itself.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, what+" id "+strconv.Quote(r.PathValue("id"))+": want a positive integer")
		return 0, false
	}
	return id, true
}

func (s *Server) remediation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "remediation")
	if !ok {
		return
	}
	it, ok := s.b.Remediations.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no remediation "+strconv.FormatInt(id, 10))
		return
	}
	writeJSON(w, it)
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "remediation")
	if !ok {
		return
	}
	// The approval names the plan it approves: ?hash=, or {"hash": ...}.
	hash := r.URL.Query().Get("hash")
	if hash == "" && r.ContentLength != 0 {
		var body struct {
			Hash string `json:"hash"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, `want {"hash": "..."}, the hash of the plan you approve`)
			return
		}
		hash = body.Hash
	}
	a, err := s.b.Remediations.Approve(r.Context(), id, hash)
	if s.remediationError(w, id, err) {
		return
	}
	s.opts.Logger.Info("remediation approved", "id", id, "cluster", a.Remediation.Cluster, "finding", a.Remediation.FindingID)
	writeJSON(w, a)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "remediation")
	if !ok {
		return
	}
	it, err := s.b.Remediations.Reject(id)
	if s.remediationError(w, id, err) {
		return
	}
	s.opts.Logger.Info("remediation rejected", "id", id, "cluster", it.Cluster, "finding", it.FindingID)
	writeJSON(w, it)
}

// remediationError writes err, if any, and says whether it did.
func (s *Server) remediationError(w http.ResponseWriter, id int64, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, queue.ErrNotFound):
		writeError(w, http.StatusNotFound, "no remediation "+strconv.FormatInt(id, 10))
	case errors.Is(err, queue.ErrNoHash):
		writeError(w, http.StatusBadRequest, err.Error()+": POST .../approve?hash=HASH, the hash GET /api/v1/remediations/"+strconv.FormatInt(id, 10)+" shows")
	case errors.Is(err, queue.ErrPlanChanged):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, queue.ErrNotPending):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.internal(w, err)
	}
	return true
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	listPage(s, w, r, func(before int64, limit int) ([]store.Run, error) {
		return s.b.Runs.Runs(r.Context(), store.RunFilter{Before: before, Limit: limit})
	}, func(run store.Run) int64 { return run.ID })
}

func (s *Server) breakGlass(w http.ResponseWriter, r *http.Request) {
	if s.b.BreakGlass == nil {
		writeJSON(w, map[string]any{"items": []store.BreakGlass{}})
		return
	}
	listPage(s, w, r, func(before int64, limit int) ([]store.BreakGlass, error) {
		return s.b.BreakGlass.BreakGlasses(r.Context(), store.BreakGlassFilter{Before: before, Limit: limit})
	}, func(b store.BreakGlass) int64 { return b.ID })
}

// listPage answers a list paged by id, newest first: ?before=ID&limit=N
// (default 100, at most 1000), with next naming the following page.
func listPage[T any](s *Server, w http.ResponseWriter, r *http.Request, list func(before int64, limit int) ([]T, error), id func(T) int64) {
	before, err := nonNegative(r.URL.Query(), "before")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := nonNegative(r.URL.Query(), "limit")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, err := list(before, int(limit))
	if err != nil {
		s.internal(w, err)
		return
	}
	page := map[string]any{"items": items}
	if len(items) > 0 && len(items) == min(cmp.Or(int(limit), 100), 1000) {
		page["next"] = fmt.Sprintf("before=%d", id(items[len(items)-1]))
	}
	writeJSON(w, page)
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "run")
	if !ok {
		return
	}
	run, err := s.b.Runs.Run(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no run "+strconv.FormatInt(id, 10))
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	writeJSON(w, run)
}

// undo puts back what a run changed, as plumb fix --undo does: 404 for
// no such run, 409 when it cannot be undone (already undone, wrote
// nothing, a cluster serve does not remediate) or when every object
// changed since, 422 when the guardrails refuse.
func (s *Server) undo(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "run")
	if !ok {
		return
	}
	u, err := s.b.Remediations.Undo(r.Context(), id)
	msg := ""
	if err != nil {
		msg = err.Error()
		if u.Run != 0 {
			msg += fmt.Sprintf(" (recorded as run %d)", u.Run)
		}
	}
	switch {
	case err == nil:
		s.opts.Logger.Info("run undone", "run", id, "undo", u.Run)
		writeJSON(w, u)
	case errors.Is(err, remediate.ErrRunNotFound):
		writeError(w, http.StatusNotFound, "no run "+strconv.FormatInt(id, 10))
	case errors.Is(err, remediate.ErrCannotUndo), errors.Is(err, remediate.ErrNotUndone):
		writeError(w, http.StatusConflict, msg)
	case errors.Is(err, remediate.ErrUndoRefused):
		writeError(w, http.StatusUnprocessableEntity, msg)
	default:
		s.internal(w, err)
	}
}

// nonNegative reads an optional integer query parameter.
func nonNegative(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want a non-negative integer", name, v)
	}
	return n, nil
}
