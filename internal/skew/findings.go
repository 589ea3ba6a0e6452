package skew

import (
	"sort"

	"plumb.dev/plumb/internal/drift"
)

// FromFindings reports skew from the clusters' drifted findings alone, as
// plumb serve holds them, with no scan and no declarations: each object
// that drifted in some cluster of a group is compared across the group,
// field by field. A cluster with no change at a field is taken to be as
// declared there, with the declared value that the drifted clusters'
// changes carry; so, unlike Compute, it cannot tell whether such a
// cluster declares another value (per-cluster values) or declares the
// object at all. Clusters whose Result has no findings still count in
// their group. Fields where every cluster of the group has the same value
// are not skew, even when all of them drifted.
func FromFindings(clusters []Cluster, groupBy string) Report {
	return report(clusters, groupBy, compareFindings)
}

func compareFindings(cs []Cluster) []Object {
	type object struct {
		apiVersion string
		found      map[string]*drift.Finding
		desired    map[string]any
	}
	objects := map[drift.ObjectKey]*object{}
	for _, c := range cs {
		for i := range c.Result.Findings {
			f := &c.Result.Findings[i]
			if f.State != drift.StateDrifted {
				continue
			}
			o := objects[f.Key()]
			if o == nil {
				o = &object{apiVersion: f.APIVersion, found: map[string]*drift.Finding{}, desired: map[string]any{}}
				objects[f.Key()] = o
			}
			o.found[c.Name] = f
			for _, ch := range f.Changes {
				if _, ok := o.desired[ch.Path]; !ok && ch.Type != drift.ChangeAdded {
					o.desired[ch.Path] = ch.Desired
				}
			}
		}
	}
	keys := make([]drift.ObjectKey, 0, len(objects))
	for k := range objects {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	out := []Object{}
	for _, key := range keys {
		o := objects[key]
		states := make([]state, len(cs))
		for i, c := range cs {
			states[i] = state{cluster: c.Name, desired: o.desired, finding: o.found[c.Name]}
		}
		if d := differences(states, key.Group == "" && key.Kind == "Secret"); len(d) > 0 {
			out = append(out, Object{APIVersion: o.apiVersion, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name, Differences: d})
		}
	}
	return out
}
