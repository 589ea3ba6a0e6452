package fleet

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"text/template"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/source"
)

// Member is one cluster and what is bound to it.
type Member struct {
	Cluster config.Cluster
	Sources []Bound
	// Flags, when set, reach the cluster with kubectl's flags (--kubeconfig,
	// --context, -n, --as, a token...) in place of Cluster's kubeconfig
	// and context: the fleet of one a command line names (One).
	Flags *genericclioptions.ConfigFlags
}

// One is the fleet of one cluster a command line names: the cluster
// kubectl's flags reach, named after its context, with each of paths (the
// --source flags) bound to it with values, set and releaseName, and
// remediation as its mode.
func One(flags *genericclioptions.ConfigFlags, paths, values, set []string, releaseName string, remediation config.Remediation) (Member, error) {
	name, err := cluster.ContextName(flags)
	if err != nil {
		return Member{}, err
	}
	t := Member{Cluster: config.Cluster{Name: name}, Flags: flags}
	explicitNS := flags.Namespace != nil && *flags.Namespace != ""
	for _, p := range paths {
		t.Sources = append(t.Sources, Bound{Source: config.Source{Name: p, Path: p, Values: values, ReleaseName: releaseName},
			Set: set, Remediation: remediation, EnforceNamespace: explicitNS})
	}
	return t, nil
}

// Bound reports whether any binding selects the cluster. An unbound
// cluster has nothing declared for it: it is not scanned or watched, and
// reports say so rather than call it clean.
func (t Member) Bound() bool { return len(t.Sources) > 0 }

// Bound is a source as one cluster gets it.
type Bound struct {
	Source config.Source
	// Values are the binding's per-cluster Helm values, rendered.
	Values map[string]any
	// Set are Helm values given as --set, for a fleet of one.
	Set         []string
	Remediation config.Remediation
	// EnforceNamespace refuses objects that name a namespace other than
	// the -n a fleet of one was given (source.Options.EnforceNamespace).
	EnforceNamespace bool
	// Stdin holds standard input's manifests for a source whose path is
	// source.Stdin: a fleet of one's -f - (see Member.ReadStdin).
	Stdin []byte
}

// ReadStdin reads standard input from r (at most limit bytes, see
// source.ReadStdin) for the member's source whose path is source.Stdin,
// if it has one; it is read once, however often the sources load. Two
// such sources are refused: standard input can be read only once.
func (t *Member) ReadStdin(r io.Reader, limit int64) error {
	var data []byte
	for i := range t.Sources {
		b := &t.Sources[i]
		if b.Source.Path != source.Stdin {
			continue
		}
		if data != nil {
			return fmt.Errorf("-f - is given twice: standard input is read once")
		}
		var err error
		if data, err = source.ReadStdin(r, limit); err != nil {
			return err
		}
		b.Stdin = data
	}
	return nil
}

// Members returns the clusters to scan, in the file's order, each with its
// bound sources; clusters no binding selects are included, unbound (see
// Member.Bound). names (--fleet-cluster) and sel (--cluster-selector) narrow the clusters; nil
// means all.
func Members(f *config.File, names []string, sel labels.Selector) ([]Member, error) {
	for _, n := range names {
		if !slices.ContainsFunc(f.Clusters, func(c config.Cluster) bool { return c.Name == n }) {
			return nil, fmt.Errorf("%s: no cluster named %q", f.Path, n)
		}
	}
	sources := map[string]config.Source{}
	for _, s := range f.Sources {
		sources[s.Name] = s
	}
	var out []Member
	for _, c := range f.Clusters {
		if len(names) > 0 && !slices.Contains(names, c.Name) {
			continue
		}
		if sel != nil && !sel.Matches(labels.Set(c.Labels)) {
			continue
		}
		t := Member{Cluster: c}
		for i, b := range f.Bindings {
			if !b.Selector().Matches(labels.Set(c.Labels)) {
				continue
			}
			if slices.ContainsFunc(t.Sources, func(x Bound) bool { return x.Source.Name == b.Source }) {
				return nil, fmt.Errorf("%s: bindings[%d]: source %q is bound to cluster %q twice", f.Path, i, b.Source, c.Name)
			}
			values, err := renderValues(b.Values, c)
			if err != nil {
				return nil, fmt.Errorf("%s: bindings[%d] for cluster %q: %w", f.Path, i, c.Name, err)
			}
			t.Sources = append(t.Sources, Bound{Source: sources[b.Source], Values: values, Remediation: b.Remediation})
		}
		out = append(out, t)
	}
	return out, nil
}

// renderValues executes every string in v as a Go template over the
// cluster: {{ .Cluster.Name }}, {{ .Cluster.Labels.region }}. A missing
// label is an error, not an empty string.
func renderValues(v map[string]any, c config.Cluster) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	data := map[string]any{"Cluster": map[string]any{"Name": c.Name, "Labels": c.Labels}}
	var render func(any) (any, error)
	render = func(x any) (any, error) {
		switch t := x.(type) {
		case string:
			tpl, err := template.New("value").Option("missingkey=error").Parse(t)
			if err != nil {
				return nil, err
			}
			var b bytes.Buffer
			if err := tpl.Execute(&b, data); err != nil {
				return nil, err
			}
			return b.String(), nil
		case map[string]any:
			out := make(map[string]any, len(t))
			for k, e := range t {
				r, err := render(e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				out[k] = r
			}
			return out, nil
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				r, err := render(e)
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		}
		return x, nil
	}
	r, err := render(v)
	if err != nil {
		return nil, err
	}
	return r.(map[string]any), nil
}
