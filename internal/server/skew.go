package server

import (
	"net/http"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/skew"
	"plumb.dev/plumb/internal/store"
)

// skew answers where clusters that should match differ, per field, from
// the drifted findings (package skew, FromFindings): the bound clusters,
// grouped by the label groupBy (all in one group by default), and in
// each group the objects whose fields differ. It reads the findings'
// changes only, and answers as plumb skew -o json does.
func (s *Server) skew(w http.ResponseWriter, r *http.Request) {
	found, err := s.b.Store.Changes(r.Context(), store.Filter{State: drift.StateDrifted})
	if err != nil {
		s.internal(w, err)
		return
	}
	byCluster := map[string][]drift.Finding{}
	for _, f := range found {
		byCluster[f.Cluster] = append(byCluster[f.Cluster], f)
	}
	var clusters []skew.Cluster
	for _, st := range s.b.Clusters() {
		if st.State == event.StateUnbound {
			continue
		}
		clusters = append(clusters, skew.Cluster{Name: st.Name, Labels: s.b.Labels[st.Name], Result: drift.Result{Findings: byCluster[st.Name]}})
	}
	writeJSON(w, skew.FromFindings(clusters, r.URL.Query().Get("groupBy")))
}
