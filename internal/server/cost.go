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
// plumb.yaml gives prices. With items=false it answers the totals alone.
// It reads the deltas only, not the findings whole.
func (s *Server) cost(w http.ResponseWriter, r *http.Request) {
	f := filterOf(r)
	f.State = drift.StateDrifted
	deltas, err := s.b.Store.Deltas(r.Context(), f)
	if err != nil {
		s.internal(w, err)
		return
	}
	p := s.b.Pricing
	withItems := r.URL.Query().Get("items") != "false"
	items, all := []costItem{}, make([]cost.Item, 0, len(deltas))
	for _, d := range deltas {
		all = append(all, cost.Item{Cluster: d.Cluster, Delta: d.ResourceDelta})
		if !withItems {
			continue
		}
		it := costItem{ID: d.ID, Cluster: d.Cluster, Kind: d.Kind, Namespace: d.Namespace, Name: d.Name, ResourceDelta: d.ResourceDelta}
		if p.Set() {
			m := p.Monthly(d.ResourceDelta)
			it.Monthly = &m
		}
		items = append(items, it)
	}
	clusters, fleet := cost.Totals(all, p)
	out := map[string]any{"clusters": clusters, "fleet": fleet}
	if withItems {
		out["items"] = items
	}
	if p.Set() {
		out["pricing"] = p
	}
	writeJSON(w, out)
}
