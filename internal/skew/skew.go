package skew

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"

	"plumb.dev/plumb/internal/drift"
)

// APIVersion and Kind identify a skew report.
const (
	APIVersion = "plumb.dev/v1alpha1"
	Kind       = "SkewReport"
)

// Report lists skew per group of clusters.
type Report struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	GroupBy    string  `json:"groupBy,omitempty"`
	Groups     []Group `json:"groups"`
}

// Group is a set of clusters expected to match.
type Group struct {
	// Name is "env=prod" with --group-by env, else "all".
	Name     string   `json:"name"`
	Clusters []string `json:"clusters"`
	Objects  []Object `json:"objects"`
}

// Object is one declared object whose clusters disagree.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// MissingOn lists the clusters of the group that declare the object
	// but do not have it.
	MissingOn   []string     `json:"missingOn,omitempty"`
	Differences []Difference `json:"differences,omitempty"`
}

// Difference is one field with different live values across clusters.
type Difference struct {
	Path string `json:"path"`
	// Values maps cluster name to live value; null where the field is absent.
	Values map[string]any `json:"values"`
	// Drifted lists the clusters whose value is not what they declare.
	Drifted []string `json:"drifted"`
}

// Cluster is one cluster's scan, as skew needs it.
type Cluster struct {
	Name   string
	Labels map[string]string
	Result drift.Result
}

// Compute groups clusters by the label groupBy ("" puts all in one group;
// clusters without the label are left out) and reports skew in each.
func Compute(clusters []Cluster, groupBy string) Report {
	return report(clusters, groupBy, compareGroup)
}

// report groups clusters by the label groupBy and compares each group.
func report(clusters []Cluster, groupBy string, compare func([]Cluster) []Object) Report {
	r := Report{APIVersion: APIVersion, Kind: Kind, GroupBy: groupBy, Groups: []Group{}}
	groups := map[string][]Cluster{}
	var names []string
	for _, c := range clusters {
		name := "all"
		if groupBy != "" {
			v, ok := c.Labels[groupBy]
			if !ok {
				continue
			}
			name = groupBy + "=" + v
		}
		if _, seen := groups[name]; !seen {
			names = append(names, name)
		}
		groups[name] = append(groups[name], c)
	}
	sort.Strings(names)
	for _, name := range names {
		g := Group{Name: name, Objects: []Object{}}
		for _, c := range groups[name] {
			g.Clusters = append(g.Clusters, c.Name)
		}
		g.Objects = append(g.Objects, compare(groups[name])...) // [] rather than null when nothing differs
		r.Groups = append(r.Groups, g)
	}
	return r
}

// state is one cluster's view of one object.
type state struct {
	cluster  string
	declared map[string]any
	// desired, when set, is the declared value by path, in place of
	// declared (FromFindings has no declarations).
	desired map[string]any
	finding *drift.Finding
}

func compareGroup(cs []Cluster) []Object {
	byKey := map[drift.ObjectKey][]state{}
	for _, c := range cs {
		findings := map[drift.ObjectKey]*drift.Finding{}
		for i := range c.Result.Findings {
			f := &c.Result.Findings[i]
			findings[f.Key()] = f
		}
		for key, d := range c.Result.Declared {
			obj, err := d.Object()
			if err != nil {
				continue // only JSON plumb itself encoded fails to decode: never in practice
			}
			byKey[key] = append(byKey[key], state{cluster: c.Name, declared: obj.Object, finding: findings[key]})
		}
	}
	keys := make([]drift.ObjectKey, 0, len(byKey))
	for k, states := range byKey {
		if len(states) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })

	var out []Object
	for _, key := range keys {
		states := byKey[key]
		o := Object{Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
		if v, ok := states[0].declared["apiVersion"].(string); ok {
			o.APIVersion = v
		}
		present := states[:0:0]
		for _, s := range states {
			if s.finding != nil && s.finding.State == drift.StateMissing {
				o.MissingOn = append(o.MissingOn, s.cluster)
				continue
			}
			present = append(present, s)
		}
		o.Differences = differences(present, key.Group == "" && key.Kind == "Secret")
		if len(o.MissingOn) > 0 || len(o.Differences) > 0 {
			out = append(out, o)
		}
	}
	return out
}

// differences compares the live values of every changed path. For a
// Secret, values under data and stringData are never shown: the changes
// carry them redacted already, so any cluster that drifted there is skew.
func differences(states []state, secret bool) []Difference {
	paths := map[string]bool{}
	quantities := map[string]bool{}
	// desired holds the value a cluster where the field did not drift
	// has, when its declaration cannot say: a field the source leaves to
	// the server's default (the change holds the default), or a list
	// element whose key the server completes (a Service port without its
	// protocol, removed on another cluster).
	desired := map[string]any{}
	for _, s := range states {
		if s.finding == nil {
			continue
		}
		for _, c := range s.finding.Changes {
			paths[c.Path] = true
			quantities[c.Path] = quantities[c.Path] || c.Quantity
			if c.Default || c.Type == drift.ChangeRemoved {
				desired[c.Path] = c.Desired
			}
		}
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)

	var out []Difference
	for _, p := range sorted {
		d := Difference{Path: p, Values: map[string]any{}}
		var first any
		differ := false
		for i, s := range states {
			v, drifted := liveValue(s, p)
			if dv, ok := desired[p]; ok && !drifted && v == nil {
				v = dv
			}
			d.Values[s.cluster] = v
			if drifted {
				d.Drifted = append(d.Drifted, s.cluster)
			}
			switch {
			case i == 0:
				first = v
			case quantities[p] && drift.EqualQuantities(first, v):
				// 2Gi here and 2048Mi there are the same amount.
			case !sameJSON(first, v):
				differ = true
			}
		}
		if secret && secretValue(p) {
			for c := range d.Values {
				d.Values[c] = drift.Redacted
			}
			differ = len(d.Drifted) > 0 && len(d.Drifted) < len(states) || differ
		}
		if differ && len(d.Drifted) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// liveValue is the cluster's live value at p: the change's live value
// where the field drifted, else the declared value (the field is as
// declared), else nothing (the field is not set).
func liveValue(s state, p string) (value any, drifted bool) {
	if s.finding != nil {
		for _, c := range s.finding.Changes {
			if c.Path == p {
				return c.Live, true
			}
		}
	}
	if s.desired != nil {
		return s.desired[p], false
	}
	v, _ := drift.ValueAt(s.declared, p)
	return v, false
}

func secretValue(p string) bool {
	return strings.HasPrefix(p, ".data") || strings.HasPrefix(p, ".stringData") ||
		strings.Contains(p, "last-applied-configuration")
}

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}
