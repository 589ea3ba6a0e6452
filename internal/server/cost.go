package server

import (
	"net/http"

	corev1 "k8s.io/api/core/v1"

	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/drift"
)

// costItem is one drifted workload whose requests differ.
type costItem struct {
	ID            string              `json:"id"`
	Cluster       string              `json:"cluster"`
	Kind          string              `json:"kind"`
	Namespace     string              `json:"namespace,omitempty"`
	Name          string              `json:"name"`
	ResourceDelta corev1.ResourceList `json:"resourceDelta"`
	Monthly       *float64            `json:"monthly,omitempty"`
}

// cost answers what drift costs: each drifted workload's resource delta,
// the totals per cluster and for the fleet, and monthly estimates when
// plumb.yaml gives prices.
func (s *Server) cost(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	f.State = drift.StateDrifted
	found, err := s.b.Store.Findings(r.Context(), f)
	if err != nil {
		s.internal(w, err)
		return
	}
	p := s.b.Pricing
	items, all := []costItem{}, []cost.Item{}
	for _, fd := range found {
		if len(fd.ResourceDelta) == 0 {
			continue
		}
		it := costItem{ID: fd.ID, Cluster: fd.Cluster, Kind: fd.Kind, Namespace: fd.Namespace, Name: fd.Name, ResourceDelta: fd.ResourceDelta}
		if p.Set() {
			m := p.Monthly(fd.ResourceDelta)
			it.Monthly = &m
		}
		items = append(items, it)
		all = append(all, cost.Item{Cluster: fd.Cluster, Delta: fd.ResourceDelta})
	}
	clusters, fleet := cost.Totals(all, p)
	out := map[string]any{"items": items, "clusters": clusters, "fleet": fleet}
	if p.Set() {
		out["pricing"] = p
	}
	writeJSON(w, out)
}
