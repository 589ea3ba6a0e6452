package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/source"
)

// scanFlags are the flags scan, diff and skew share: what to compare, and
// how, on one cluster (--source) or a fleet (-c with clusters).
type scanFlags struct {
	// hashKeyFile names the key of Secret data hashes; validate reads it
	// into hashKey.
	hashKeyFile string
	hashKey     []byte
	sources     []string
	values      []string
	set         []string
	releaseName string
	unmanaged   bool
	// wideAfter is drift.Options.UnmanagedClusterWideAfter.
	wideAfter   int
	ignorePaths []string
	configFile  string
	concurrency int
	fleet       fleetFlags
	gitAuth     gitsource.Auth
	limits      source.Limits
	// selector is -l (drift.Options.Selector); validate parses it into
	// labelSelector. scan, diff and fix have it (addSelector).
	selector      string
	labelSelector labels.Selector
	// allNamespaces is -A (drift.Options.UnmanagedAllNamespaces): scan and
	// diff have it (addAllNamespaces), with --unmanaged only.
	allNamespaces bool
}

// fleetFlags select and bound clusters in fleet mode.
type fleetFlags struct {
	clusters []string
	selector string
	// allowPartial accepts a fleet result with unreachable clusters:
	// the exit code is then that of the clusters reached.
	allowPartial bool
	// failOnUnreachable is the old --fail-on-unreachable, now the default.
	failOnUnreachable bool
	timeout           time.Duration
	parallel          int
}

func (f *scanFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&f.sources, "source", "f", nil, "A manifest file, a directory of them, a kustomize root or a Helm chart directory (repeatable)")
	fs.StringArrayVar(&f.values, "values", nil, "Helm values file for chart sources (repeatable, applied in order)")
	fs.StringArrayVar(&f.set, "set", nil, "Helm value for chart sources, key=value (repeatable)")
	fs.StringVar(&f.releaseName, "release-name", "", "Helm release name for chart sources (default: the chart's name)")
	fs.StringVar(&f.hashKeyFile, "secret-hash-key-file", "", "File holding the key plumb snapshot hashed Secret data with (--secret-hash-key-file there), to compare Secrets declared by a keyed hash")
	fs.BoolVar(&f.unmanaged, "unmanaged", false, "Also report live objects no source declares, of any namespaced kind, in the namespaces the sources touch")
	fs.IntVar(&f.wideAfter, "unmanaged-cluster-wide-after", drift.DefaultOptions().UnmanagedClusterWideAfter,
		"With --unmanaged, when the sources touch more than this many namespaces, read each other kind once for the whole cluster instead of once per namespace (-1: always per namespace)")
	fs.StringArrayVar(&f.ignorePaths, "ignore-path", nil, "Ignore a field, KIND:PATH, e.g. apps/Deployment:.spec.replicas or *:/metadata/labels/team (repeatable)")
	fs.IntVar(&f.concurrency, "concurrency", 8, "Parallel list and dry-run requests per cluster")
	f.addConfig(fs)
	addGitFlags(fs, &f.gitAuth)
	addLimitFlags(fs, &f.limits)
}

// addSelector adds kubectl's -l: objects, never clusters, by their labels.
func (f *scanFlags) addSelector(fs *pflag.FlagSet) {
	fs.StringVarP(&f.selector, "selector", "l", "", "Only objects whose labels match, e.g. app=web,tier!=cache: declared objects by their declared labels, and with --unmanaged live objects by theirs")
}

// addAllNamespaces adds kubectl's -A, which widens --unmanaged.
func (f *scanFlags) addAllNamespaces(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "With --unmanaged, look for objects no source declares in every namespace and in the cluster-scoped kinds, not only in the namespaces the sources touch")
}

// addConfig adds the flags of fleet mode.
func (f *scanFlags) addConfig(fs *pflag.FlagSet) {
	fs.StringVarP(&f.configFile, "config", "c", "", "plumb configuration file: its clusters, sources and bindings (fleet mode) and ignore rules")
	// --cluster and -l are kubectl's (the kubeconfig cluster; objects'
	// labels): clusters of the configuration are chosen by their own flags.
	fs.StringArrayVar(&f.fleet.clusters, "fleet-cluster", nil, "Fleet mode: scan only this cluster of the configuration (repeatable)")
	fs.StringVar(&f.fleet.selector, "cluster-selector", "", "Fleet mode: scan only clusters whose labels match, e.g. env=prod,region!=us")
	fs.BoolVar(&f.fleet.allowPartial, "allow-partial", false, "Fleet mode: accept a result without the clusters that could not be reached: the exit code is that of the clusters reached (by default an unreachable cluster makes it 2)")
	fs.BoolVar(&f.fleet.failOnUnreachable, "fail-on-unreachable", false, "Fleet mode: exit 2 when any cluster is unreachable")
	_ = fs.MarkDeprecated("fail-on-unreachable", "it is the default now; --allow-partial accepts a result without unreachable clusters")
	fs.DurationVar(&f.fleet.timeout, "cluster-timeout", 2*time.Minute, "Fleet mode: give up on a cluster after this long")
	fs.IntVar(&f.fleet.parallel, "parallel-clusters", 4, "Fleet mode: clusters scanned at once")
}

// addGitFlags adds the flags of Git sources' credentials.
func addGitFlags(fs *pflag.FlagSet, auth *gitsource.Auth) {
	fs.StringVar(&auth.SSHKey, "git-ssh-key", "", "Private key file for ssh:// Git sources (default: the SSH agent; passphrase from $PLUMB_GIT_SSH_PASSPHRASE). https sources use netrc or $GIT_ASKPASS")
}

// addLimitFlags adds the flags of the sources' size limits, with
// source's defaults.
func addLimitFlags(fs *pflag.FlagSet, l *source.Limits) {
	*l = source.DefaultLimits()
	fs.Var(sizeValue{&l.File}, strings.TrimPrefix(source.FileSizeFlag, "--"),
		"Refuse a source file larger than this, unread, as an error naming it (a source's maxFileSize in -c replaces it)")
	fs.Var(sizeValue{&l.Object}, strings.TrimPrefix(source.ObjectSizeFlag, "--"),
		"Refuse a declared object larger than this as JSON, naming its file and line: the API server refuses a request over 3Mi (a source's maxObjectSize in -c replaces it)")
}

// sizeValue is a flag of bytes, written as bytes or a quantity (32Mi).
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return source.FormatSize(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := source.ParseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

func (v sizeValue) Type() string { return "size" }

// loadConfig reads -c, if given.
func (f *scanFlags) loadConfig() (*config.File, error) {
	if f.configFile == "" {
		return nil, nil
	}
	return config.Load(f.configFile)
}

// ignoreRules parses --ignore-path values after the config file's rules.
func (f *scanFlags) ignoreRules(cfg *config.File) ([]drift.IgnoreRule, error) {
	var rules []drift.IgnoreRule
	if cfg != nil {
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

// driftOptions are the engine options the flags ask for.
func (f *scanFlags) driftOptions(g *globalOptions, rules []drift.IgnoreRule) drift.Options {
	opts := drift.DefaultOptions()
	opts.Concurrency = f.concurrency
	opts.Unmanaged = f.unmanaged
	opts.UnmanagedAllKinds = f.unmanaged
	opts.UnmanagedClusterWideAfter = f.wideAfter
	opts.Ignore = rules
	opts.Logger = g.logger
	opts.SecretHashKey = f.hashKey
	opts.Selector = f.labelSelector
	opts.UnmanagedAllNamespaces = f.unmanaged && f.allNamespaces
	return opts
}

// readHashKey reads the key of Secret data hashes: at least 32 bytes, so
// that it cannot be guessed either.
func readHashKey(path string) ([]byte, error) {
	key, err := readSecretFile("--secret-hash-key-file", path)
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("--secret-hash-key-file %s: %d bytes, want at least 32 (openssl rand -hex 32 makes one)", path, len(key))
	}
	return []byte(key), nil
}

// isFleet reports whether cfg puts plumb in fleet mode.
func isFleet(cfg *config.File) bool { return cfg != nil && len(cfg.Clusters) > 0 }

// run scans one cluster (the kubectl flags' context, --source) or, with a
// configuration that lists clusters, the fleet.
func (f *scanFlags) run(ctx context.Context, g *globalOptions) (report.Report, error) {
	cfg, err := f.loadConfig()
	if err != nil {
		return report.Report{}, err
	}
	return f.runConfig(ctx, g, cfg)
}

// runConfig is run with the configuration already loaded (cfg may be
// nil). One cluster named on the command line is a fleet of one, scanned
// the same way.
func (f *scanFlags) runConfig(ctx context.Context, g *globalOptions, cfg *config.File) (report.Report, error) {
	results, err := f.scanAll(ctx, g, cfg)
	if err != nil {
		return report.Report{}, err
	}
	return fleetReport(results), nil
}

// scanAll scans every target, each cluster's failure in its result.
func (f *scanFlags) scanAll(ctx context.Context, g *globalOptions, cfg *config.File) ([]fleet.Result, error) {
	targets, err := f.targets(g, cfg)
	if err != nil {
		return nil, err
	}
	rules, err := f.ignoreRules(cfg)
	if err != nil {
		return nil, err
	}
	opts := fleet.DefaultOptions()
	opts.Concurrency = f.fleet.parallel
	// A negative --cluster-timeout means fleet's default, as it always
	// has; only a fleet of one has no timeout.
	opts.Timeout = max(f.fleet.timeout, 0)
	if !isFleet(cfg) {
		opts.Timeout = -1 // --cluster-timeout is for fleets
	}
	opts.Drift = f.driftOptions(g, rules)
	opts.Logger = g.logger
	opts.GitAuth = f.gitAuth
	opts.Limits = f.limits
	if g.kube.CacheDir != nil {
		opts.CacheDir = *g.kube.CacheDir
	}
	line := g.progressLine()
	opts.Progress = scanProgress(line)
	results := fleet.Scan(ctx, targets, opts)
	if line != nil {
		line.Stop()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return results, nil
}

// targets are the clusters to work on: the configuration's that
// --fleet-cluster and --cluster-selector choose, or the fleet of one the kubectl flags and --source name.
func (f *scanFlags) targets(g *globalOptions, cfg *config.File) ([]fleet.Member, error) {
	if isFleet(cfg) {
		if err := refuseKubeFlags(g, cfg); err != nil {
			return nil, err
		}
		if len(f.sources) > 0 || len(f.values) > 0 || len(f.set) > 0 || f.releaseName != "" {
			return nil, fmt.Errorf("%s lists clusters: sources and values come from it, not from --source, --values, --set or --release-name", cfg.Path)
		}
		return f.fleet.targets(cfg)
	}
	if len(f.fleet.clusters) > 0 || f.fleet.selector != "" {
		return nil, fmt.Errorf("--fleet-cluster and --cluster-selector select clusters of a configuration with clusters (-c)")
	}
	if len(f.sources) == 0 {
		return nil, fmt.Errorf("at least one --source is required (or -c with a configuration that lists clusters)")
	}
	t, err := f.one(g)
	if err != nil {
		return nil, err
	}
	return []fleet.Member{t}, nil
}

// one is the fleet of one the kubectl flags and --source name, with
// standard input read for -f -.
func (f *scanFlags) one(g *globalOptions) (fleet.Member, error) {
	t, err := fleet.One(g.kube, f.sources, f.values, f.set, f.releaseName, "")
	if err != nil {
		return t, err
	}
	return t, t.ReadStdin(g.streams.In, f.limits.File)
}

// refuseStdin refuses -f - in a command that watches its sources (serve,
// agent): standard input is read once and cannot be watched.
func (f *scanFlags) refuseStdin(command string) error {
	if slices.Contains(f.sources, source.Stdin) {
		return fmt.Errorf("-f - (standard input) cannot be used with %s, which reads its sources again when they change: give files, a directory or a Git source", command)
	}
	return nil
}

// fleetReport builds one report from every cluster's scan. Bad input that
// every cluster saw is reported once.
func fleetReport(results []fleet.Result) report.Report {
	var drifts []drift.Result
	var statuses []report.ClusterStatus
	var errs []source.Error
	seen := map[source.Error]bool{}
	for _, r := range results {
		st := report.ClusterStatus{Name: r.Member.Cluster.Name, Status: report.StatusOK}
		if r.Unbound {
			st.Status = report.StatusUnbound
			statuses = append(statuses, st)
			continue
		}
		if r.Err != nil {
			st.Status, st.Error = report.StatusOf(r.Err), r.Err.Error()
		} else {
			drifts = append(drifts, r.Result)
		}
		statuses = append(statuses, st)
		for _, e := range r.SourceErrors {
			if !seen[e] {
				seen[e] = true
				errs = append(errs, e)
			}
		}
	}
	return report.New(drifts, statuses, errs)
}

func (f *scanFlags) validate() error {
	if f.hashKeyFile != "" {
		key, err := readHashKey(f.hashKeyFile)
		if err != nil {
			return err
		}
		f.hashKey = key
	}
	if f.concurrency < 1 {
		return fmt.Errorf("--concurrency must be at least 1")
	}
	if f.selector != "" {
		sel, err := labels.Parse(f.selector)
		if err != nil {
			return fmt.Errorf("-l/--selector %q: %w", f.selector, err)
		}
		f.labelSelector = sel
	}
	if f.allNamespaces && !f.unmanaged {
		return fmt.Errorf("-A/--all-namespaces widens --unmanaged to every namespace and the cluster-scoped kinds; give --unmanaged too (the objects compared are those the sources declare, wherever they are)")
	}
	if f.fleet.parallel < 1 {
		return fmt.Errorf("--parallel-clusters must be at least 1")
	}
	if len(f.sources) == 0 && f.configFile == "" {
		return fmt.Errorf("at least one --source is required (or -c with a configuration that lists clusters)")
	}
	return nil
}

// exitFor maps a report to the exit-code contract: 2 when the result is
// incomplete (see report.Complete), else 1 when anything drifted, else 0.
func (f *scanFlags) exitFor(r report.Report) int {
	switch {
	case !r.Complete(!f.fleet.allowPartial):
		return ExitError
	case len(r.Findings) > 0:
		return ExitDrift
	}
	return ExitInSync
}

// targets are the clusters of cfg that --fleet-cluster and
// --cluster-selector choose, each with
// its bound sources; at least one of them is bound.
func (f fleetFlags) targets(cfg *config.File) ([]fleet.Member, error) {
	var sel labels.Selector
	if f.selector != "" {
		var err error
		if sel, err = labels.Parse(f.selector); err != nil {
			return nil, fmt.Errorf("--cluster-selector %q: %w", f.selector, err)
		}
	}
	targets, err := fleet.Members(cfg, f.clusters, sel)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no cluster of %s matches the selection", cfg.Path)
	}
	if !slices.ContainsFunc(targets, fleet.Member.Bound) {
		return nil, fmt.Errorf("no binding of %s selects any of the clusters chosen (%s): nothing is declared for them", cfg.Path, targetNames(targets))
	}
	return targets, nil
}

// targetNames lists the targets' cluster names for a message.
func targetNames(ts []fleet.Member) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Cluster.Name
	}
	return strings.Join(names, ", ")
}

// refuseKubeFlags refuses kubectl's --context and -n with a configuration
// that lists clusters: each cluster's context and namespace come from it,
// and the flags would otherwise be silently ignored.
func refuseKubeFlags(g *globalOptions, cfg *config.File) error {
	return refuseKubeFlagsBut(g, cfg, false)
}

// refuseKubeFlagsBut is refuseKubeFlags, which lets --context through
// where contextOK (it names another cluster the command uses).
func refuseKubeFlagsBut(g *globalOptions, cfg *config.File, contextOK bool) error {
	var given []string
	if !contextOK && g.kube.Context != nil && *g.kube.Context != "" {
		given = append(given, "--context")
	}
	if g.kube.Namespace != nil && *g.kube.Namespace != "" {
		given = append(given, "-n/--namespace")
	}
	if len(given) == 0 {
		return nil
	}
	return fmt.Errorf("%s cannot be used with -c %s, which lists clusters: each cluster's context and namespace come from the configuration (choose clusters with --fleet-cluster or --cluster-selector)",
		strings.Join(given, " and "), cfg.Path)
}
