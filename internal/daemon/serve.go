package daemon

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/audit"
	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/server"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
)

// Cluster is one cluster plumb serve watches, dialled, with its sources
// loaded.
type Cluster struct {
	// Session is the cluster, dialled, with its engine; it reloads the
	// cluster's sources when they change.
	*fleet.Session
	// Objs are the declared objects, kept as JSON until the watcher has
	// resolved and compacted them.
	Objs []source.Encoded
	// Paths are the files and folders its sources are read from, and its
	// Git and Helm release sources.
	Paths []string
	// Versions are the commits and revisions of its Git and Helm release
	// sources, read before they were loaded (SourceVersions).
	Versions map[string]string
	// Deployers says who deploys an object's source (admission lets
	// their writes through); nil, nobody.
	Deployers func(drift.Target) []string
	// Mode says what may be done about an object's drift.
	Mode func(drift.Target) remediate.Mode
	// Remediates: some source's mode is not off.
	Remediates bool
}

// Options are what plumb serve runs with.
type Options struct {
	Clusters []Cluster
	// Unbound are the configuration's clusters no binding selects: listed,
	// not contacted.
	Unbound []string
	Store   *store.DB
	// StorePath is the store's file (its files are not sources).
	StorePath string
	// Watch tunes the watchers (Workers, Resync, Unmanaged...); Logger,
	// Metrics, Unchanged and Attribute are set here.
	Watch watch.Options
	// Retention: resolved events older than this are deleted, hourly.
	Retention   time.Duration
	GitInterval time.Duration
	GitAuth     gitsource.Auth
	// API is the API server's; its Listen, Token and AllowedHosts.
	API server.Options
	// Audit, if set, receives the API servers' audit webhook.
	Audit *AuditOptions
	// Admission, if set, serves the admission webhook.
	Admission *AdmissionOptions
	// Shard, if set, shares the clusters with other replicas.
	Shard *ShardOptions
	// Agents takes plumb agent's observations through the API.
	Agents     bool
	Sinks      []notify.Sink
	Guardrails remediate.Guardrails
	// Queue holds the remediation limits; Notify and Rollout are set here
	// from Sinks and Rollout.
	Queue   queue.Options
	Rollout *rollout.Gate
	// Labels are the clusters' labels, for the API and the dashboard.
	Labels  map[string]map[string]string
	Pricing cost.Pricing
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// RestoreGC runs once serve is ready (see FirstSync), after the
	// initial sync's garbage is returned to the system (LowerGC).
	RestoreGC func()
	// FirstSync is how long a cluster's first sync may hold readiness
	// (/readyz) while the cluster answers nothing, neither objects nor an
	// error. Default DefaultFirstSync.
	FirstSync time.Duration
}

// DefaultFirstSync is Options.FirstSync's default.
const DefaultFirstSync = 2 * time.Minute

// Serve is plumb serve, made and ready to start.
type Serve struct {
	opts  Options
	parts []Runnable
}

// New makes every part of plumb serve and wires them together: the
// watchers publish to a bus the API's stream, the notifier and the
// remediation queue subscribe to. The audit and admission webhooks'
// listeners are bound here, so that a busy address stops serve before
// anything starts; the API's is bound by its Start.
func New(ctx context.Context, opts Options) (s *Serve, err error) {
	// The listeners bound here are closed again if New fails after them.
	var bound []interface{ Close() error }
	defer func() {
		if err != nil {
			for _, l := range bound {
				_ = l.Close()
			}
		}
	}()
	logger, m, st := opts.Logger, opts.Metrics, opts.Store
	hub := server.NewHub()
	nopts := notify.Options{Logger: logger, Metrics: m}
	if opts.Audit != nil {
		nopts.HoldOpened = auditHold
	}
	notifier := notify.New(opts.Sinks, nopts)
	findings, unchanged := &event.Bus{}, &event.Bus{}
	findings.Subscribe(hub.Publish)
	findings.Subscribe(notifier.Publish)

	var audits *auditReceiver
	if opts.Audit != nil {
		if audits, err = newAuditReceiver(*opts.Audit, logger); err != nil {
			return nil, err
		}
		bound = append(bound, audits.ln)
	}
	var (
		watchers   []*watch.Watcher
		engines    []*drift.Engine
		remediated []*queue.Cluster
		sharded    *shardedWatchers
	)
	// With Shard a cluster's watcher is made when this replica takes the
	// cluster; otherwise every one is made now.
	builds := make([]func([]source.Encoded) *watch.Watcher, len(opts.Clusters))
	for i, c := range opts.Clusters {
		e := c.Engine
		builds[i] = func(objs []source.Encoded) *watch.Watcher {
			wopts := opts.Watch
			wopts.Logger, wopts.Metrics, wopts.Unchanged = logger, m, unchanged.Publish
			var ix *audit.Index
			if audits != nil {
				// The watcher asks the index who made a change; the index's
				// webhook has the watcher compare again what it hears of.
				ix = audits.index(c.Name())
				wopts.Attribute = attributor(ix, c.Cluster)
			}
			w := watch.New(c.Name(), c.Cluster, e, objs, st, findings.Publish, wopts)
			if audits != nil {
				audits.route(c.Name(), len(opts.Clusters) == 1, ix, w)
			}
			return w
		}
		engines = append(engines, e)
		var target func(drift.ObjectKey) (drift.Target, bool)
		var ready func() bool
		if opts.Shard == nil {
			w := builds[i](c.Objs)
			watchers, target, ready = append(watchers, w), w.Target, w.Ready
			opts.Clusters[i].Objs = nil // the watcher keeps compact copies
		} else {
			// sharded is made below, once every cluster's build is known.
			target = func(k drift.ObjectKey) (drift.Target, bool) { return sharded.target(i, k) }
		}
		if c.Remediates {
			remediated = append(remediated, &queue.Cluster{Name: c.Name(), Planner: remediate.NewPlanner(e, opts.Guardrails, remediate.Options{}),
				Target: target, Mode: c.Mode, User: c.Cluster.Identity(ctx), Ready: ready})
		}
	}
	watcherAt := func(i int) *watch.Watcher { return watchers[i] }
	if opts.Shard != nil {
		var err error
		if sharded, err = newShardedWatchers(ctx, opts.Shard, opts.Clusters, builds, logger); err != nil {
			return nil, err
		}
		watcherAt = sharded.at
	}
	adm, err := newAdmission(ctx, opts.Admission, opts.Clusters, watchers, engines, st, m, logger)
	if err != nil {
		return nil, err
	}
	if adm != nil {
		bound = append(bound, adm.ln)
	}
	sources := &sourceWatch{clusters: opts.Clusters, watcherAt: watcherAt, storePath: opts.StorePath, auth: opts.GitAuth,
		interval: opts.GitInterval, now: make(chan struct{}, 1), metrics: m, notify: notifier.PublishSources, logger: logger}
	for _, c := range opts.Clusters {
		reportSources(c, m, notifier.PublishSources) // the first load's, made before New
	}
	var gitHook func()
	if slices.ContainsFunc(opts.Clusters, func(c Cluster) bool { return slices.ContainsFunc(c.Paths, gitsource.Is) }) {
		gitHook = func() {
			select {
			case sources.now <- struct{}{}:
			default: // a reading is already asked for
			}
		}
	}
	var agents *agent.Receiver
	if opts.Agents {
		// Agents' findings go to people; the remediation queue plans only for
		// the clusters it remediates, which no agent may name.
		reserved := slices.Clone(opts.Unbound)
		for _, c := range opts.Clusters {
			reserved = append(reserved, c.Name())
		}
		if agents, err = agent.NewReceiver(ctx, st, st, findings.Publish, agent.ReceiverOptions{Reserved: reserved}); err != nil {
			return nil, err
		}
	}
	qopts := opts.Queue
	qopts.Notify = notifier.PublishRemediation
	qopts.Rollout = opts.Rollout
	remediations := queue.New(remediated, st, qopts)
	findings.Subscribe(remediations.Publish)
	unchanged.Subscribe(remediations.Publish)

	firstSync := newFirstSync(opts.FirstSync)
	ready := func() bool {
		if sharded != nil {
			return sharded.ready(firstSync.settled)
		}
		for _, w := range watchers {
			if !firstSync.settled(w) {
				return false
			}
		}
		return true
	}
	if m != nil {
		m.ReportClusters(func() []metrics.Cluster {
			var out []metrics.Cluster
			for _, s := range ownStatuses(watchers, sharded, agents) {
				out = append(out, metrics.Cluster{Name: s.Name, Status: string(s.State), Ready: s.Ready})
			}
			return out
		})
	}
	srv, err := server.New(server.Backend{
		Store: st,
		Clusters: func() []event.Status {
			out := make([]event.Status, len(watchers), len(watchers)+len(opts.Unbound))
			for i, w := range watchers {
				out[i] = withSources(w.Status(), opts.Clusters[i])
			}
			if sharded != nil {
				out = sharded.statuses()
			}
			for _, name := range opts.Unbound {
				out = append(out, event.Status{Name: name, State: event.StateUnbound, Ready: true})
			}
			if agents != nil {
				out = append(out, agents.Statuses()...)
			}
			return out
		},
		Ready:        ready,
		Hub:          hub,
		Metrics:      m,
		Runs:         st,
		BreakGlass:   st,
		Remediations: remediations,
		GitHook:      gitHook,
		Labels:       opts.Labels,
		Pricing:      opts.Pricing,
		Agents:       agents,
		AgentTokens:  st,
	}, opts.API)
	if err != nil {
		return nil, err
	}

	s = &Serve{opts: opts}
	for _, w := range watchers {
		s.parts = append(s.parts, w)
	}
	if sharded != nil {
		s.parts = append(s.parts, sharded)
	}
	if audits != nil {
		s.parts = append(s.parts, audits)
	}
	if adm != nil {
		s.parts = append(s.parts, adm.runnables()...)
	}
	s.parts = append(s.parts,
		firstSync,
		RunnableFunc(sources.remote),
		RunnableFunc(sources.local),
		forever(remediations.Start),
		forever(notifier.Start),
		pruner{store: st, retention: opts.Retention, logger: logger},
		forever(func(ctx context.Context) { releaseStartupMemory(ctx, ready, opts.RestoreGC) }),
		srv,
	)
	return s, nil
}

// Start runs every part until ctx ends or one of them fails.
func (s *Serve) Start(ctx context.Context) error {
	s.opts.Logger.Warn("serving", "listen", s.opts.API.Listen, "clusters", len(s.opts.Clusters), "remediating", countRemediated(s.opts.Clusters), "store", s.opts.StorePath)
	return Run(ctx, s.parts...)
}

func countRemediated(cs []Cluster) int {
	n := 0
	for _, c := range cs {
		if c.Remediates {
			n++
		}
	}
	return n
}

// pruner deletes resolved events past the retention, hourly.
type pruner struct {
	store     store.Writer
	retention time.Duration
	logger    *slog.Logger
}

func (p pruner) Start(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := p.store.Prune(ctx, time.Now().Add(-p.retention)); err != nil && ctx.Err() == nil {
			p.logger.Warn("prune history", "err", err)
		} else if n > 0 {
			p.logger.Info("pruned history", "events", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// releaseStartupMemory returns the initial sync's garbage to the operating
// system once serve is ready, and then (or when ctx ends) calls restore,
// which puts back the garbage collector's target (LowerGC). Afterwards
// plumb keeps only compact declarations and comparison results, and the
// Go runtime would otherwise hand the burst back only slowly.
func releaseStartupMemory(ctx context.Context, ready func() bool, restore func()) {
	if restore != nil {
		defer restore()
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ready() {
			debug.FreeOSMemory()
			return
		}
	}
}

// startupGCPercent is the garbage collector's target while the sources load
// and the initial sync runs, unless GOGC is set. The sources are parsed and
// the first list of every watched kind is decoded and compared all at once;
// collecting more often keeps that burst (and the heap pages it leaves
// partly used) smaller. At 20,000 objects it cut the peak from 360 to
// 275 MiB and the settled RSS by 11 MiB, for about 3 s more of startup.
const startupGCPercent = 25

// LowerGC sets the garbage collector's startup target, unless GOGC is
// set, and returns what puts the previous one back (Options.RestoreGC).
func LowerGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	prev := debug.SetGCPercent(startupGCPercent)
	return func() { debug.SetGCPercent(prev) }
}

// firstSync bounds how long the clusters' first syncs hold serve's
// readiness. Readiness is about plumb itself, as Kubernetes means it (can
// this pod take traffic?): its store is open and its API answers (or
// /readyz could not), and each cluster it watches is synced, or is known
// to be failing (unreachable, its error in GET /api/v1/clusters and
// plumb_cluster_status), or has had the grace to sync. One cluster down is
// not plumb down: the API and the dashboard report it.
type firstSync struct {
	grace time.Duration
	// over: the grace has passed since Start.
	over atomic.Bool
}

func newFirstSync(grace time.Duration) *firstSync {
	if grace <= 0 {
		grace = DefaultFirstSync
	}
	return &firstSync{grace: grace}
}

// Start lets the grace run from serve's start.
func (f *firstSync) Start(ctx context.Context) error {
	t := time.NewTimer(f.grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		f.over.Store(true)
	}
	<-ctx.Done()
	return nil
}

// settled says whether w no longer holds readiness: it is synced, known
// to be failing, or past the grace.
func (f *firstSync) settled(w *watch.Watcher) bool {
	return f.over.Load() || w.Status().State == event.StateUnreachable || w.Ready()
}

// ownStatuses are the clusters this replica watches (every one, unless
// the fleet is sharded) and those agents report to it; not the clusters
// other replicas watch, nor unbound ones.
func ownStatuses(watchers []*watch.Watcher, sharded *shardedWatchers, agents *agent.Receiver) []event.Status {
	var out []event.Status
	for _, w := range watchers {
		out = append(out, w.Status())
	}
	if sharded != nil {
		out = append(out, sharded.own()...)
	}
	if agents != nil {
		out = append(out, agents.Statuses()...)
	}
	return out
}
