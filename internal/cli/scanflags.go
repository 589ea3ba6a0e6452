package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/source"
)

// scanFlags are the flags scan and diff share: what to compare, and how.
type scanFlags struct {
	sources     []string
	values      []string
	set         []string
	releaseName string
	unmanaged   bool
	ignorePaths []string
	configFile  string
	concurrency int
}

func (f *scanFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.sources, "source", "f", nil, "A manifest file, a directory of them, a kustomize root or a Helm chart directory (repeatable)")
	fs.StringArrayVar(&f.values, "values", nil, "Helm values file for chart sources (repeatable, applied in order)")
	fs.StringArrayVar(&f.set, "set", nil, "Helm value for chart sources, key=value (repeatable)")
	fs.StringVar(&f.releaseName, "release-name", "", "Helm release name for chart sources (default: the chart's name)")
	fs.BoolVar(&f.unmanaged, "unmanaged", false, "Also report live objects no source declares, of the kinds the sources use, in the namespaces they touch")
	fs.StringArrayVar(&f.ignorePaths, "ignore-path", nil, "Ignore a field, KIND:PATH, e.g. apps/Deployment:.spec.replicas or *:/metadata/labels/team (repeatable)")
	fs.StringVarP(&f.configFile, "config", "c", "", "plumb configuration file (its ignore rules are used)")
	fs.IntVar(&f.concurrency, "concurrency", 8, "Parallel list and dry-run requests")
}

// ignoreRules parses --ignore-path values and the config file's rules.
func (f *scanFlags) ignoreRules() ([]drift.IgnoreRule, error) {
	var rules []drift.IgnoreRule
	if f.configFile != "" {
		cfg, err := config.Load(f.configFile)
		if err != nil {
			return nil, err
		}
		rules = append(rules, cfg.IgnoreRules()...)
	}
	for _, v := range f.ignorePaths {
		kind, path, ok := strings.Cut(v, ":")
		if !ok || kind == "" || path == "" {
			return nil, fmt.Errorf("--ignore-path %q: want KIND:PATH, e.g. apps/Deployment:.spec.replicas", v)
		}
		if _, err := drift.ParsePath(path); err != nil {
			return nil, fmt.Errorf("--ignore-path %q: %w", v, err)
		}
		rules = append(rules, drift.IgnoreRule{Kinds: []string{kind}, Paths: []string{path}, Reason: "--ignore-path"})
	}
	return rules, nil
}

// run loads the sources and scans the cluster that the kubectl flags name.
func (f *scanFlags) run(ctx context.Context, g *globalOptions) (report.Report, error) {
	rules, err := f.ignoreRules()
	if err != nil {
		return report.Report{}, err
	}
	c, err := cluster.New(g.kube, cluster.DefaultOptions())
	if err != nil {
		return report.Report{}, err
	}
	set := source.Load(ctx, f.sources, source.Options{
		Values: f.values, Set: f.set, ReleaseName: f.releaseName, Namespace: c.Namespace,
	})
	g.logger.Info("loaded sources", "objects", len(set.Objects), "errors", len(set.Errors))

	opts := drift.DefaultOptions()
	opts.Concurrency = f.concurrency
	opts.Unmanaged = f.unmanaged
	opts.Ignore = rules
	opts.Logger = g.logger
	engine, err := drift.New(c, opts)
	if err != nil {
		return report.Report{}, err
	}
	res, err := engine.Scan(ctx, set.Objects)
	status := report.ClusterStatus{Name: c.Name, Status: report.StatusOK}
	if err != nil {
		if ctx.Err() != nil {
			return report.Report{}, ctx.Err()
		}
		status.Status, status.Error = report.StatusOf(err), err.Error()
	}
	return report.New([]drift.Result{res}, []report.ClusterStatus{status}, set.Errors), nil
}

func (f *scanFlags) validate() error {
	if len(f.sources) == 0 {
		return fmt.Errorf("at least one --source is required")
	}
	if f.concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1")
	}
	return nil
}

// exitFor maps a report to the exit-code contract: 2 when anything failed
// (the result is incomplete), else 1 when anything drifted, else 0.
func exitFor(r report.Report) int {
	switch {
	case !r.Healthy():
		return ExitError
	case len(r.Findings) > 0:
		return ExitDrift
	}
	return ExitInSync
}
