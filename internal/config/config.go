package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/clientcmd"

	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/helmrelease"
	"plumb.dev/plumb/internal/source"
)

// APIVersion and Kind identify a plumb configuration file.
const (
	APIVersion = "plumb.dev/v1alpha1"
	Kind       = "Config"
)

// Config is plumb.yaml as written.
type Config struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Clusters   []Cluster    `yaml:"clusters"`
	Sources    []Source     `yaml:"sources"`
	Bindings   []Binding    `yaml:"bindings"`
	Ignore     []IgnoreRule `yaml:"ignore"`
	Guardrails Guardrails   `yaml:"guardrails"`
	// Policies are GuardrailPolicy files of CEL rules for plumb check,
	// relative to the configuration file.
	Policies []string `yaml:"policies"`
	Store    Store    `yaml:"store"`
	// Pricing is what requested resources cost, for the monthly estimate
	// of drift's cost (serve's /api/v1/cost and dashboard). Default: no
	// prices, no estimate.
	Pricing cost.Pricing `yaml:"pricing"`
	// Rollout fixes the fleet in waves (plumb fix -c, serve's auto mode).
	// Default: none, every cluster at once.
	Rollout *Rollout `yaml:"rollout"`
}

// Cluster is one kubeconfig context and its labels.
type Cluster struct {
	// Name names the cluster in reports. Required, unique.
	Name string `yaml:"name"`
	// Context is the kubeconfig context. Default: Name.
	Context string `yaml:"context"`
	// Kubeconfig is the kubeconfig file. Default: $KUBECONFIG, else
	// ~/.kube/config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Labels are free-form (env, cloud, region) and select bindings.
	Labels map[string]string `yaml:"labels"`
	line   int
}

// Source is where desired state comes from.
type Source struct {
	// Name is how bindings refer to the source. Required, unique.
	Name string `yaml:"name"`
	// Path is a file, a directory, a kustomize root or a chart directory,
	// relative to the configuration file, a Git source
	// (git+https://host/org/repo//path?ref=REF), or a live Helm release
	// in each bound cluster (helm:NAMESPACE/NAME).
	Path string `yaml:"path"`
	// Git is a Git source written out; Path is then left empty and set
	// from it.
	Git *GitSource `yaml:"git"`
	// HelmRelease is a live Helm release written out; Path is then left
	// empty and set from it.
	HelmRelease *HelmRelease `yaml:"helmRelease"`
	// Values are Helm values files, for charts only.
	Values []string `yaml:"values"`
	// ReleaseName is the Helm release name, for charts. Default: the chart's.
	ReleaseName string `yaml:"releaseName"`
	// Namespace is the namespace of objects that name none. Default: the
	// context's namespace.
	Namespace string `yaml:"namespace"`
	// Deployers are who deploys this source (a CI user, a GitOps
	// controller's service account system:serviceaccount:NS:NAME, a
	// group), as path.Match patterns on the authenticated user name and
	// groups. plumb serve's admission webhook lets their writes to what the
	// source declares through; anyone else's are reviewed.
	Deployers []string `yaml:"deployers"`
	// MaxFileSize is the largest file read for this source (a manifest, a
	// values file, a file its kustomization reads), as bytes or a quantity
	// (64Mi). Default: the command's --max-source-file-size, 32Mi.
	MaxFileSize Size `yaml:"maxFileSize"`
	// MaxObjectSize is the largest object this source may declare, encoded
	// as JSON, as bytes or a quantity (4Mi). Default: the command's
	// --max-source-object-size, 3Mi, the API server's limit on a request.
	MaxObjectSize Size `yaml:"maxObjectSize"`
	line          int
}

// Size is a number of bytes, written as bytes or a Kubernetes quantity
// (32Mi, 3145728). 0 means unset.
type Size int64

// UnmarshalYAML implements yaml.Unmarshaler: a size that is not one is an
// error naming its line.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size, such as 32Mi", n.Line)
	}
	v, err := source.ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = Size(v)
	return nil
}

// Limits are the source's limits on top of base, the command's: a size
// the source sets replaces base's.
func (s Source) Limits(base source.Limits) source.Limits {
	if s.MaxFileSize > 0 {
		base.File = int64(s.MaxFileSize)
	}
	if s.MaxObjectSize > 0 {
		base.Object = int64(s.MaxObjectSize)
	}
	return base
}

// GitSource is a source read from a Git repository at a ref.
type GitSource struct {
	// URL is the repository: https://…, ssh://… or file:///….
	URL string `yaml:"url"`
	// Ref is a branch, tag or commit. Default: the default branch.
	Ref string `yaml:"ref"`
	// Path is the folder or file inside the repository. Default: its root.
	Path string `yaml:"path"`
}

// HelmRelease is a source read from a Helm release's latest deployed
// revision, in each cluster the source is bound to.
type HelmRelease struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	// Driver is Helm's storage: secret or configmap. Default: $HELM_DRIVER,
	// else secret.
	Driver string `yaml:"driver"`
}

// ref is the release as a source path.
func (h *HelmRelease) ref() string {
	return helmrelease.Ref{Namespace: h.Namespace, Name: h.Name, Driver: h.Driver}.String()
}

// IsRemote reports whether a source path is read from elsewhere than a
// local file or folder: a Git source or a live Helm release.
func IsRemote(p string) bool { return gitsource.Is(p) || helmrelease.Is(p) }

// Binding puts a source on the clusters its selector matches.
type Binding struct {
	Source string `yaml:"source"`
	// Clusters selects clusters by label, like any Kubernetes selector.
	// An empty selector selects every cluster.
	Clusters Selector `yaml:"clusters"`
	// Values are per-cluster Helm values; string values are Go templates
	// over .Cluster.Name and .Cluster.Labels. Charts only.
	Values map[string]any `yaml:"values"`
	// Remediation is off (default), approve or auto; plumb fix and serve
	// read it.
	Remediation Remediation `yaml:"remediation"`
	line        int
}

// Selector is a Kubernetes label selector as written in YAML.
type Selector struct {
	MatchLabels      map[string]string     `yaml:"matchLabels"`
	MatchExpressions []SelectorRequirement `yaml:"matchExpressions"`
}

// SelectorRequirement is one matchExpressions entry.
type SelectorRequirement struct {
	Key      string   `yaml:"key"`
	Operator string   `yaml:"operator"`
	Values   []string `yaml:"values"`
}

// LabelSelector converts s to the Kubernetes type.
func (s Selector) LabelSelector() *metav1.LabelSelector {
	ls := &metav1.LabelSelector{MatchLabels: s.MatchLabels}
	for _, r := range s.MatchExpressions {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: r.Key, Operator: metav1.LabelSelectorOperator(r.Operator), Values: r.Values,
		})
	}
	return ls
}

// Remediation says what plumb may do about drift from a binding.
type Remediation string

const (
	RemediationOff     Remediation = "off"
	RemediationApprove Remediation = "approve"
	RemediationAuto    Remediation = "auto"
)

// IgnoreRule is drift.IgnoreRule as written in the file.
type IgnoreRule struct {
	Kinds    []string `yaml:"kinds"`
	Paths    []string `yaml:"paths"`
	Managers []string `yaml:"managers"`
	Reason   string   `yaml:"reason"`
	line     int
}

// Guardrails bound what remediation may change.
type Guardrails struct {
	// MaxObjectsPerRun refuses a plan that changes more objects. Default 20.
	MaxObjectsPerRun int `yaml:"maxObjectsPerRun"`
	// ProtectedNamespaces are never changed. Default [kube-system].
	ProtectedNamespaces []string `yaml:"protectedNamespaces"`
	// ProtectedKinds are never deleted unless AllowDelete names them.
	// Default [Namespace, CustomResourceDefinition, PersistentVolume,
	// PersistentVolumeClaim].
	ProtectedKinds []string `yaml:"protectedKinds"`
	// AllowDelete lifts ProtectedKinds, kind by kind.
	AllowDelete []string `yaml:"allowDelete"`
	// MaxRisk refuses steps riskier than this (low, medium, high,
	// critical) unless plumb fix is given --allow-risk. Default high.
	MaxRisk string `yaml:"maxRisk"`
	// AutoMaxRisk: plumb serve applies automatically (remediation: auto)
	// only plans no riskier than this; riskier ones wait for approval.
	// Default medium.
	AutoMaxRisk string `yaml:"autoMaxRisk"`
}

// Store is where serve and fix keep history.
type Store struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver"`
	// Path is the SQLite file, relative to the configuration file.
	// Default: none, which is plumb's default store (plumb.db in the
	// user's state directory, $XDG_STATE_HOME/plumb).
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string.
	DSN string `yaml:"dsn"`
}

// File is a loaded, defaulted and validated configuration.
type File struct {
	// Path is the file it was read from.
	Path string
	Config
}

// Load reads path, decodes it strictly, defaults it and validates it.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg Config
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	// Unknown fields and values of the wrong type are collected, and the
	// rest of the file is still decoded and validated, so that one run
	// names every problem; a file that is not YAML stops here.
	var typeErr *yaml.TypeError
	decodeErr := strict.Decode(&cfg)
	switch {
	case decodeErr == nil, errors.Is(decodeErr, io.EOF):
		decodeErr = nil
	case !errors.As(decodeErr, &typeErr):
		return nil, fmt.Errorf("%s: %w", path, decodeErr)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	recordLines(&doc, &cfg)
	recordRolloutLines(&doc, &cfg)
	f := &File{Path: path, Config: cfg}
	f.setDefaults()
	if err := errors.Join(decodeErr, f.Validate()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// setDefaults fills in what the file leaves out and resolves paths against
// the file's folder.
func (f *File) setDefaults() {
	dir := filepath.Dir(f.Path)
	rel := func(p string) string {
		p = expandHome(p)
		if p == "" || filepath.IsAbs(p) || IsRemote(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range f.Clusters {
		c := &f.Clusters[i]
		if c.Context == "" {
			c.Context = c.Name
		}
		c.Kubeconfig = rel(c.Kubeconfig)
	}
	for i := range f.Sources {
		s := &f.Sources[i]
		if s.Git != nil && s.Path == "" {
			s.Path = gitsource.Ref{Repo: s.Git.URL, Path: s.Git.Path, Rev: s.Git.Ref}.String()
		}
		if s.HelmRelease != nil && s.Path == "" {
			s.Path = s.HelmRelease.ref()
		}
		s.Path = rel(s.Path)
		for j := range s.Values {
			s.Values[j] = rel(s.Values[j])
		}
	}
	for i := range f.Policies {
		f.Policies[i] = rel(f.Policies[i])
	}
	for i := range f.Bindings {
		if f.Bindings[i].Remediation == "" {
			f.Bindings[i].Remediation = RemediationOff
		}
	}
	if f.Guardrails.MaxObjectsPerRun == 0 {
		f.Guardrails.MaxObjectsPerRun = 20
	}
	if f.Guardrails.ProtectedNamespaces == nil {
		f.Guardrails.ProtectedNamespaces = []string{"kube-system"}
	}
	f.Rollout.setDefaults()
	if f.Store.Driver == "" {
		f.Store.Driver = "sqlite"
	}
	if f.Store.Driver == "sqlite" && f.Store.Path != "" {
		f.Store.Path = rel(f.Store.Path)
	}
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// Validate checks everything strict decoding cannot, and reports every
// problem with the line it is on.
func (f *File) Validate() error {
	var errs []error
	add := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	if f.APIVersion != APIVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q: want %s", f.APIVersion, APIVersion))
	}
	if f.Kind != Kind {
		errs = append(errs, fmt.Errorf("kind %q: want %s", f.Kind, Kind))
	}

	clusters := map[string]bool{}
	for i, c := range f.Clusters {
		switch {
		case c.Name == "":
			add(c.line, "clusters[%d]: name is required", i)
		case clusters[c.Name]:
			add(c.line, "clusters[%d]: duplicate name %q", i, c.Name)
		}
		clusters[c.Name] = true
		if err := checkContext(c); err != nil {
			add(c.line, "cluster %q: %v", c.Name, err)
		}
	}

	sources := map[string]*Source{}
	for i := range f.Sources {
		s := &f.Sources[i]
		switch {
		case s.Name == "":
			add(s.line, "sources[%d]: name is required", i)
		case sources[s.Name] != nil:
			add(s.line, "sources[%d]: duplicate name %q", i, s.Name)
		}
		sources[s.Name] = s
		switch {
		case s.Git != nil && s.Git.URL == "":
			add(s.line, "source %q: git.url is required", s.Name)
		case s.Git != nil && s.Path != (gitsource.Ref{Repo: s.Git.URL, Path: s.Git.Path, Rev: s.Git.Ref}).String():
			add(s.line, "source %q: give path or git, not both", s.Name)
		case s.HelmRelease != nil && (s.HelmRelease.Namespace == "" || s.HelmRelease.Name == ""):
			add(s.line, "source %q: helmRelease.namespace and helmRelease.name are required", s.Name)
		case s.HelmRelease != nil && (s.Git != nil || s.Path != s.HelmRelease.ref()):
			add(s.line, "source %q: give one of path, git and helmRelease", s.Name)
		case gitsource.Is(s.Path):
			if _, err := gitsource.Parse(s.Path); err != nil {
				add(s.line, "source %q: %v", s.Name, err)
			}
		case helmrelease.Is(s.Path):
			if _, err := helmrelease.Parse(s.Path); err != nil {
				add(s.line, "source %q: %v", s.Name, err)
			}
		case s.Path == "":
			add(s.line, "source %q: path is required", s.Name)
		}
		if s.Path != "" && !IsRemote(s.Path) { // Git and Helm releases are read when they are loaded
			if _, err := os.Stat(s.Path); err != nil {
				add(s.line, "source %q: path %s: %v", s.Name, s.Path, errors.Unwrap(err))
			}
		}
		for _, v := range s.Values {
			if _, err := os.Stat(v); err != nil {
				add(s.line, "source %q: values file %s: %v", s.Name, v, errors.Unwrap(err))
			}
		}
		for _, d := range s.Deployers {
			if err := CheckIdentityPattern(d); err != nil {
				add(s.line, "source %q: deployers: %v", s.Name, err)
			}
		}
		if len(s.Values) > 0 && s.Path != "" && !IsRemote(s.Path) && !IsChart(s.Path) {
			add(s.line, "source %q: values are for Helm charts, and %s is not a chart directory", s.Name, s.Path)
		}
	}

	for i, b := range f.Bindings {
		s := sources[b.Source]
		if s == nil {
			add(b.line, "bindings[%d]: no source named %q", i, b.Source)
		}
		if _, err := metav1.LabelSelectorAsSelector(b.Clusters.LabelSelector()); err != nil {
			add(b.line, "bindings[%d]: clusters selector: %v", i, err)
		}
		if len(b.Values) > 0 && s != nil && s.Path != "" && !IsChart(s.Path) {
			add(b.line, "bindings[%d]: values are for Helm charts, and source %q is not a chart", i, b.Source)
		}
		switch b.Remediation {
		case RemediationOff, RemediationApprove, RemediationAuto:
		default:
			add(b.line, "bindings[%d]: remediation %q: want off, approve or auto", i, b.Remediation)
		}
	}

	for i, r := range f.Ignore {
		if len(r.Paths) == 0 && len(r.Managers) == 0 {
			add(r.line, "ignore[%d]: needs paths or managers", i)
		}
		for _, p := range r.Paths {
			if _, err := drift.ParsePath(p); err != nil {
				add(r.line, "ignore[%d]: %v", i, err)
			}
		}
	}
	if f.Guardrails.MaxObjectsPerRun < 0 {
		errs = append(errs, errors.New("guardrails.maxObjectsPerRun must not be negative"))
	}
	for _, r := range [][2]string{{"maxRisk", f.Guardrails.MaxRisk}, {"autoMaxRisk", f.Guardrails.AutoMaxRisk}} {
		name, risk := r[0], r[1]
		switch risk {
		case "", "low", "medium", "high", "critical":
		default:
			errs = append(errs, fmt.Errorf("guardrails.%s %q: want low, medium, high or critical", name, risk))
		}
	}
	errs = append(errs, f.Rollout.validate(f)...)
	if f.Pricing.CPUCoreHour < 0 || f.Pricing.MemoryGiBHour < 0 {
		errs = append(errs, errors.New("pricing: cpuCoreHour and memoryGiBHour must not be negative"))
	}
	switch f.Store.Driver {
	case "sqlite":
	case "postgres":
		if f.Store.DSN == "" {
			errs = append(errs, errors.New("store: the postgres driver needs a dsn"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.driver %q: want sqlite or postgres", f.Store.Driver))
	}
	return errors.Join(errs...)
}

// IsChart reports whether path is a Helm chart directory.
func IsChart(path string) bool {
	st, err := os.Stat(filepath.Join(path, "Chart.yaml"))
	return err == nil && !st.IsDir()
}

// LoadingRules returns the kubeconfig loading rules for c: its file if set,
// else kubectl's ($KUBECONFIG, else ~/.kube/config).
func (c Cluster) LoadingRules() *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	return rules
}

// checkContext makes sure the cluster's context exists in its kubeconfig.
func checkContext(c Cluster) error {
	raw, err := c.LoadingRules().Load()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	if _, ok := raw.Contexts[c.Context]; !ok {
		where := c.Kubeconfig
		if where == "" {
			where = "the default kubeconfig"
		}
		return fmt.Errorf("context %q not found in %s", c.Context, where)
	}
	return nil
}

// IgnoreRules returns the file's ignore rules for the drift engine.
func (f *File) IgnoreRules() []drift.IgnoreRule {
	var out []drift.IgnoreRule
	for _, r := range f.Ignore {
		out = append(out, drift.IgnoreRule{Kinds: r.Kinds, Paths: r.Paths, Managers: r.Managers, Reason: r.Reason})
	}
	return out
}

// Selector returns the binding's cluster selector.
func (b Binding) Selector() labels.Selector { return b.Clusters.Selector() }

// Line is the line the cluster is declared on.
func (c Cluster) Line() int { return c.line }

// recordLines notes the line of each list item, for error messages.
func recordLines(doc *yaml.Node, cfg *Config) {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		items := m.Content[i+1]
		if items.Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range items.Content {
			switch m.Content[i].Value {
			case "clusters":
				if j < len(cfg.Clusters) {
					cfg.Clusters[j].line = item.Line
				}
			case "sources":
				if j < len(cfg.Sources) {
					cfg.Sources[j].line = item.Line
				}
			case "bindings":
				if j < len(cfg.Bindings) {
					cfg.Bindings[j].line = item.Line
				}
			case "ignore":
				if j < len(cfg.Ignore) {
					cfg.Ignore[j].line = item.Line
				}
			}
		}
	}
}

// CheckIdentityPattern checks a pattern that names users, groups or
// service accounts (deployers, exemptions, break-glass): a valid
// path.Match pattern that does not match every identity.
func CheckIdentityPattern(p string) error {
	if _, err := path.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
		return fmt.Errorf("%q is not a user, group or path.Match pattern of them", p)
	}
	if ok, _ := path.Match(p, "system:serviceaccount:any:any"); ok {
		if ok, _ := path.Match(p, "any-user"); ok {
			return fmt.Errorf("%q matches every user: it would let anyone through", p)
		}
	}
	return nil
}
