package watch

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Options tune a Watcher.
type Options struct {
	// Workers compare objects in parallel. Default 4.
	Workers int
	// Resync rescans everything this often. Default 10 minutes.
	Resync time.Duration
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, are updated as the watcher works.
	Metrics *metrics.Metrics
	// Unmanaged also reports live objects no source declares, in the
	// namespaces the sources touch, as plumb scan --unmanaged does. Kinds
	// some source declares in a namespace come from the same watches as
	// the declared objects; every other watchable kind the cluster serves
	// (but drift.UnmanagedResources' skipped ones) is watched metadata-only,
	// and CustomResourceDefinitions are watched for new kinds.
	Unmanaged bool
	// UnmanagedClusterWideAfter: with Unmanaged, once the sources touch
	// more than this many namespaces, each kind is watched metadata-only
	// once for the whole cluster, and its objects outside those namespaces
	// are dropped on arrival, instead of once per namespace. An identity
	// that may not list a kind cluster-wide keeps one watch per namespace.
	// DefaultOptions sets 5; 0 means cluster-wide whenever any namespace
	// is touched, negative always per namespace.
	UnmanagedClusterWideAfter int
	// Unchanged, if set, receives the comparisons that found a finding as
	// it was already recorded (the first list after a restart, resyncs),
	// which publish does not. Remediation acts on them: a finding from
	// before a restart still gets its plan.
	Unchanged func(event.Event)
	// Attribute, if set, names the people behind each finding's changes
	// before it is recorded (the audit webhook's users). Default none.
	Attribute func(*drift.Finding)
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{Workers: 4, Resync: 10 * time.Minute, Logger: slog.New(slog.DiscardHandler), UnmanagedClusterWideAfter: drift.DefaultOptions().UnmanagedClusterWideAfter}
}

// Store is what the watcher needs of the history store.
type Store interface {
	store.Writer
	OpenKeys(ctx context.Context, cluster string) ([]drift.ObjectKey, error)
}

// Watcher watches one cluster.
type Watcher struct {
	name    string
	cluster *cluster.Cluster
	engine  *drift.Engine
	store   Store
	opts    Options
	publish func(event.Event)

	// objs are the declared objects until they are resolved (Start).
	objs    []source.Encoded
	runCtx  context.Context // the context of Start, for watches started by Reload
	cancels map[groupKey]context.CancelFunc
	// served are the resources searched for unmanaged objects (Unmanaged),
	// from the last discovery.
	served []cluster.Resource
	// meta holds the metadata-only watches (Unmanaged), with each one's
	// kind, and metaCancels stops them. A group with no namespace is a
	// cluster-wide watch whose objects are kept to scope.
	meta        map[groupKey]string
	metaCancels map[groupKey]context.CancelFunc
	// scope is where the metadata-only watches report objects, as of the
	// last setMeta; narrow are the resources the cluster refused to list
	// cluster-wide, watched per namespace instead.
	scope   metaScope
	narrow  map[schema.GroupResource]bool
	wg      sync.WaitGroup
	targets map[drift.ObjectKey]drift.Target
	groups  map[groupKey][]drift.Target
	// hpa holds the objects an autoscaler scales; guarded by mu.
	hpa   map[drift.ObjectKey]bool
	queue workqueue.TypedRateLimitingInterface[drift.ObjectKey]
	// busy counts keys a worker has taken and not finished.
	busy atomic.Int64
	// working counts the worker goroutines running.
	working atomic.Int64

	mu sync.Mutex
	// queue, pending, resolved, status, synced, findings, targets, groups,
	// cancels, served, meta, metaCancels, scope, narrow, down and unmanaged are
	// guarded by mu. findings holds the state of each open finding ("" when
	// restored from the store and not yet re-checked).
	pending map[drift.ObjectKey]pendingObject
	// unmanaged holds, per resource and namespace, the live objects
	// reported as unmanaged, by name.
	unmanaged map[resourceIn]map[string]drift.ObjectKey
	resolved  bool
	status    event.Status
	synced    map[groupKey]bool
	// down holds the watches whose last list or watch request failed.
	down     map[downKey]bool
	findings map[drift.ObjectKey]drift.State
	// pendingPeak is pending's largest size since the last shrink.
	pendingPeak int
}

// groupKey is one watch: a resource in a namespace ("" cluster-scoped).
type groupKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// pendingObject is the newest version of an object waiting for a worker;
// nil obj means it was deleted. fetch asks the worker to read the object
// first (its declaration changed and no event carries it).
type pendingObject struct {
	obj       *unstructured.Unstructured
	fetch     bool
	unmanaged bool
	received  time.Time
}

// New prepares a watcher for the declared objects on c. publish receives
// every transition (it must not block). Nothing is contacted until Start.
func New(name string, c *cluster.Cluster, engine *drift.Engine, objs []source.Encoded, st Store, publish func(event.Event), opts Options) *Watcher {
	def := DefaultOptions()
	if opts.Workers <= 0 {
		opts.Workers = def.Workers
	}
	if opts.Resync <= 0 {
		opts.Resync = def.Resync
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	return &Watcher{
		name: name, cluster: c, engine: engine, store: st, opts: opts, publish: publish, objs: objs,
		targets: map[drift.ObjectKey]drift.Target{}, groups: map[groupKey][]drift.Target{},
		pending: map[drift.ObjectKey]pendingObject{}, synced: map[groupKey]bool{}, down: map[downKey]bool{}, findings: map[drift.ObjectKey]drift.State{},
		cancels: map[groupKey]context.CancelFunc{}, unmanaged: map[resourceIn]map[string]drift.ObjectKey{},
		meta: map[groupKey]string{}, metaCancels: map[groupKey]context.CancelFunc{}, narrow: map[schema.GroupResource]bool{},
		status: event.Status{Name: name, State: event.StateSyncing},
		queue:  newQueue(name),
	}
}

// Status returns the cluster's current status.
func (w *Watcher) Status() event.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.status
	s.Ready = w.resolved && w.allSynced()
	s.Findings = len(w.findings)
	for _, st := range w.findings {
		switch st {
		case drift.StateDrifted:
			s.Drifted++
		case drift.StateMissing:
			s.Missing++
		case drift.StateUnmanaged:
			s.Unmanaged++
		}
	}
	if w.opts.Unmanaged {
		cov, live := 1.0, s.Objects-s.Missing+s.Unmanaged
		if live > 0 {
			cov = float64(s.Objects-s.Missing) / float64(live)
		}
		s.Coverage = &cov
	}
	return s
}

// allSynced reports whether every running watch has listed once. Callers
// hold mu.
func (w *Watcher) allSynced() bool {
	for g := range w.groups {
		if !w.synced[g] {
			return false
		}
	}
	for g := range w.meta {
		if !w.synced[g] {
			return false
		}
	}
	return true
}

// Ready reports whether every watch has listed once and its objects have
// been compared and recorded: nothing queued, nothing a worker holds.
func (w *Watcher) Ready() bool {
	return w.Status().Ready && w.currentQueue().Len() == 0 && w.busy.Load() == 0
}

// Start watches until ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	if err := w.resolve(ctx); err != nil {
		return nil // ctx ended before the cluster answered
	}
	w.setHPA(w.engine.HPATargets(ctx, w.targetList()))
	w.discover()
	if err := w.reconcileStore(ctx); err != nil {
		return err
	}
	w.mu.Lock()
	w.runCtx = ctx
	w.setMeta()
	for g := range w.groups {
		w.startGroup(g)
	}
	w.mu.Unlock()
	for range w.opts.Workers {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.work(ctx) }()
	}
	go w.resyncLoop(ctx)
	if w.opts.Unmanaged {
		w.wg.Add(1)
		go func() { defer w.wg.Done(); w.watchKinds(ctx) }()
	}
	<-ctx.Done()
	w.currentQueue().ShutDown()
	w.wg.Wait()
	return nil
}

// Target returns the declaration the watcher compares the object of key
// with, for those that act on its findings (serve's remediation).
func (w *Watcher) Target(key drift.ObjectKey) (drift.Target, bool) { return w.target(key) }

// Targets returns every declared object the watcher compares.
func (w *Watcher) Targets() []drift.Target { return w.targetList() }

// Scaled reports whether a HorizontalPodAutoscaler scales the object of
// key, as of the last resync: its .spec.replicas is the autoscaler's.
func (w *Watcher) Scaled(key drift.ObjectKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hpa[key]
}

func (w *Watcher) setHPA(hpa map[drift.ObjectKey]bool) {
	w.mu.Lock()
	w.hpa = hpa
	w.mu.Unlock()
}

// target returns the declared target for key.
func (w *Watcher) target(key drift.ObjectKey) (drift.Target, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.targets[key]
	return t, ok
}

// groupTargets returns a group's targets.
func (w *Watcher) groupTargets(g groupKey) []drift.Target {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.groups[g]
}

func (w *Watcher) targetList() []drift.Target {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]drift.Target, 0, len(w.targets))
	for _, t := range w.targets {
		out = append(out, t)
	}
	return out
}
