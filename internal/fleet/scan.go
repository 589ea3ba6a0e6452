package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/helmrelease"
	"plumb.dev/plumb/internal/source"
)

// Options tune a fleet scan.
type Options struct {
	// Concurrency bounds how many clusters are scanned at once. Default 4.
	Concurrency int
	// Timeout bounds each cluster's scan. Default 2 minutes; negative,
	// none (a fleet of one, whose scan takes as long as it takes).
	Timeout time.Duration
	// Drift is passed to each cluster's engine; each gets its own cache.
	Drift drift.Options
	// CacheDir is the discovery cache folder. Default: kubectl's.
	CacheDir string
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
	// GitAuth says where Git sources' credentials come from beyond the
	// standard places.
	GitAuth gitsource.Auth
	// Limits bound the sources' files and objects; a source's own
	// (maxFileSize, maxObjectSize) replace them. Default: source's
	// (source.DefaultLimits).
	Limits source.Limits
	// Progress, when set, is called as each cluster's declared objects
	// are compared (drift.Options.Progress), with the cluster's name;
	// from several goroutines at once. Default: nil.
	Progress func(cluster string, compared, total int)
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{Concurrency: 4, Timeout: 2 * time.Minute, Drift: drift.DefaultOptions(), Logger: slog.New(slog.DiscardHandler)}
}

// Result is one cluster's scan.
type Result struct {
	Member Member
	// Result is the drift result; partial or empty when Err is set.
	Result drift.Result
	// SourceErrors are bad input found while loading this cluster's sources.
	SourceErrors []source.Error
	// Err stopped the cluster's scan (unreachable, forbidden, timed out).
	Err error
	// Unbound is set when no binding selects the cluster: it was not
	// contacted, and Result is empty.
	Unbound bool
}

// Scan scans every bound target, at most opts.Concurrency at a time, each
// within opts.Timeout. Results are in the targets' order; a cluster's
// failure is in its Result and never stops the others. An unbound target
// gets a Result marked Unbound and costs no request.
func Scan(ctx context.Context, targets []Member, opts Options) []Result {
	def := DefaultOptions()
	if opts.Concurrency <= 0 {
		opts.Concurrency = def.Concurrency
	}
	if opts.Timeout == 0 {
		opts.Timeout = def.Timeout
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	out := make([]Result, len(targets))
	loads := &loader{ctx: ctx, auth: opts.GitAuth, limits: opts.Limits, sets: map[string]*loaded{}}
	var g errgroup.Group
	g.SetLimit(opts.Concurrency)
	for i, t := range targets {
		if !t.Bound() {
			out[i] = Result{Member: t, Result: drift.Result{Cluster: t.Cluster.Name}, Unbound: true}
			continue
		}
		g.Go(func() error {
			cctx, cancel := context.WithCancel(ctx)
			if opts.Timeout > 0 {
				cctx, cancel = context.WithTimeout(ctx, opts.Timeout)
			}
			defer cancel()
			start := time.Now()
			out[i] = scanOne(cctx, t, opts, loads)
			if out[i].Err == nil && cctx.Err() != nil {
				out[i].Err = fmt.Errorf("scan did not finish within %s: %w", opts.Timeout, cctx.Err())
			}
			opts.Logger.Info("cluster scanned", "cluster", t.Cluster.Name, "took", time.Since(start).Round(time.Millisecond), "err", out[i].Err)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

func scanOne(ctx context.Context, t Member, opts Options, loads *loader) Result {
	res := Result{Member: t, Result: drift.Result{Cluster: t.Cluster.Name}}
	timeout := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	dopts := opts.Drift
	dopts.Logger = opts.Logger
	if opts.Progress != nil {
		dopts.Progress = func(n, total int) { opts.Progress(t.Cluster.Name, n, total) }
	}
	s, err := Open(t, SessionOptions{Timeout: timeout, CacheDir: opts.CacheDir, Cluster: cluster.DefaultOptions(), Drift: dopts, GitAuth: opts.GitAuth, Limits: opts.Limits})
	if err != nil {
		res.Err = err
		return res
	}
	// Clusters bound to the same source share its parse, held as JSON:
	// the scan decodes each declaration only while it compares it.
	objs, errs := loadEncodedSources(t, s.Cluster, loads)
	res.SourceErrors = errs
	res.Result, res.Err = s.Engine.ScanEncoded(ctx, objs)
	res.Result.Cluster = t.Cluster.Name
	return res
}

// dial reaches a target's cluster through its kubeconfig context; timeout
// bounds every request (0: none). Nothing is contacted yet.
func dial(t Member, cacheDir string, timeout time.Duration, copts cluster.Options) (*cluster.Cluster, error) {
	if t.Flags != nil {
		// The command line's cluster, reached as kubectl would.
		c, err := cluster.New(t.Flags, copts)
		if err != nil {
			return nil, err
		}
		c.Name = t.Cluster.Name
		return c, nil
	}
	flags := genericclioptions.NewConfigFlags(true)
	kubeconfig, contextName := t.Cluster.Kubeconfig, t.Cluster.Context
	flags.KubeConfig, flags.Context = &kubeconfig, &contextName
	if cacheDir != "" {
		flags.CacheDir = &cacheDir
	}
	// Each request, not only the whole scan, must give up in time, so that
	// a black-holed API server does not hold a worker past the timeout.
	if timeout > 0 {
		s := timeout.String()
		flags.Timeout = &s
	}
	c, err := cluster.New(flags, copts)
	if err != nil {
		return nil, err
	}
	c.Name = t.Cluster.Name
	return c, nil
}

// sourceOptions are how b is loaded for c: objects without a namespace
// get the source's, else c's default namespace; a Helm release source is
// read from c; the source's own limits replace the command's (limits).
func sourceOptions(b Bound, c *cluster.Cluster, auth gitsource.Auth, limits source.Limits) source.Options {
	ns := b.Source.Namespace
	if ns == "" {
		ns = c.Namespace
	}
	opts := source.Options{Values: b.Source.Values, ValueMap: b.Values, Set: b.Set, ReleaseName: b.Source.ReleaseName, Namespace: ns, GitAuth: auth,
		Limits: b.Source.Limits(limits), EnforceNamespace: b.EnforceNamespace, Stdin: b.Stdin}
	if helmrelease.Is(b.Source.Path) {
		opts.Releases = Releases(c)
	}
	return opts
}

// Releases reads c's live Helm releases.
func Releases(c *cluster.Cluster) *helmrelease.Reader {
	r, err := helmrelease.NewReader(c.Config)
	if err != nil { // c.Config already made c's other clients
		return nil
	}
	return r
}

// loadSources loads t's bound sources decoded, each object its own: no
// load is shared.
func loadSources(ctx context.Context, t Member, c *cluster.Cluster, auth gitsource.Auth, limits source.Limits) ([]source.Object, []source.Error) {
	var objs []source.Object
	var errs []source.Error
	for _, b := range t.Sources {
		errs = append(errs, source.Each(ctx, []string{b.Source.Path}, sourceOptions(b, c, auth, limits), func(o source.Object) {
			objs = append(objs, inSourceNamespace(o, b))
		})...)
	}
	return objs, errs
}

// loadEncodedSources loads t's bound sources as JSON, sharing through
// loads every load another cluster of the fleet made with the same
// options; a Helm release source is each cluster's own.
func loadEncodedSources(t Member, c *cluster.Cluster, loads *loader) ([]source.Encoded, []source.Error) {
	var objs []source.Encoded
	var errs []source.Error
	for _, b := range t.Sources {
		opts := sourceOptions(b, c, loads.auth, loads.limits)
		var these []source.Encoded
		var theirs []source.Error
		if helmrelease.Is(b.Source.Path) {
			these, theirs = encodedIn(loads.ctx, b, opts)
		} else {
			these, theirs = loads.load(b, opts)
		}
		objs, errs = append(objs, these...), append(errs, theirs...)
	}
	return objs, errs
}

// inSourceNamespace gives o the namespace of the source it came from, b's,
// when it names none and b has one.
func inSourceNamespace(o source.Object, b Bound) source.Object {
	if o.Object.GetNamespace() == "" && b.Source.Namespace != "" {
		o.Object.SetNamespace(b.Source.Namespace)
	}
	return o
}

// encodedIn loads b's source with opts as JSON, each object encoded as
// soon as it is decoded.
func encodedIn(ctx context.Context, b Bound, opts source.Options) ([]source.Encoded, []source.Error) {
	var objs []source.Encoded
	var encErrs []source.Error
	errs := source.Each(ctx, []string{b.Source.Path}, opts, func(o source.Object) {
		enc, es := source.EncodeAll([]source.Object{inSourceNamespace(o, b)})
		objs, encErrs = append(objs, enc...), append(encErrs, es...)
	})
	return objs, append(errs, encErrs...)
}

// loader loads each distinct (source, options) once per fleet scan, as
// JSON, and hands every cluster the same objects: clusters bound to the
// same source with the same values share the parse, which dominates
// plumb's own CPU time for large sources, and its memory, which does not
// grow with the clusters.
type loader struct {
	// ctx is the fleet scan's, not one cluster's: a cluster that times out
	// must not cut short the load that other clusters share.
	ctx    context.Context
	auth   gitsource.Auth
	limits source.Limits
	mu     sync.Mutex
	// sets guarded by mu; each entry is filled once.
	sets map[string]*loaded
}

type loaded struct {
	once sync.Once
	objs []source.Encoded
	errs []source.Error
}

// load returns b's objects loaded with opts; callers only read them.
func (l *loader) load(b Bound, opts source.Options) ([]source.Encoded, []source.Error) {
	key, err := json.Marshal(struct {
		Path      string
		Namespace string
		Opts      source.Options
	}{b.Source.Path, b.Source.Namespace, opts})
	if err != nil { // values that do not marshal: load without sharing
		return encodedIn(l.ctx, b, opts)
	}
	l.mu.Lock()
	e, ok := l.sets[string(key)]
	if !ok {
		e = &loaded{}
		l.sets[string(key)] = e
	}
	l.mu.Unlock()
	e.once.Do(func() { e.objs, e.errs = encodedIn(l.ctx, b, opts) })
	return e.objs, e.errs
}
