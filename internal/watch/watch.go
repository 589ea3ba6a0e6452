package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
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
	Unchanged func(Event)
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{Workers: 4, Resync: 10 * time.Minute, Logger: slog.New(slog.DiscardHandler), UnmanagedClusterWideAfter: drift.DefaultOptions().UnmanagedClusterWideAfter}
}

// Event is a change of a finding, as subscribers see it.
type Event struct {
	Cluster    string           `json:"cluster"`
	FindingID  string           `json:"findingId"`
	Transition store.Transition `json:"transition"`
	Finding    *drift.Finding   `json:"finding,omitempty"`
	At         time.Time        `json:"at"`
}

// State is a cluster's connection state.
type State string

const (
	StateSyncing     State = "syncing"
	StateOK          State = "ok"
	StateUnreachable State = "unreachable"
	// StateUnbound is a cluster of the configuration that no binding
	// selects: serve does not watch it, and the API lists it as such.
	StateUnbound State = "unbound"
)

// Status is what the API shows of a cluster.
type Status struct {
	Name     string `json:"name"`
	State    State  `json:"status"`
	Error    string `json:"error,omitempty"`
	Ready    bool   `json:"ready"`
	Objects  int    `json:"objects"`
	Findings int    `json:"findings"`
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
	publish func(Event)

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
	hpa     map[drift.ObjectKey]bool
	queue   workqueue.TypedRateLimitingInterface[drift.ObjectKey]
	// busy counts keys a worker has taken and not finished.
	busy atomic.Int64
	// working counts the worker goroutines running.
	working atomic.Int64

	mu sync.Mutex
	// queue, pending, resolved, status, synced, findings, targets, groups,
	// cancels, served, meta, metaCancels, scope, narrow and unmanaged are
	// guarded by mu. findings holds the state of each open finding ("" when
	// restored from the store and not yet re-checked).
	pending map[drift.ObjectKey]pendingObject
	// unmanaged holds, per resource and namespace, the live objects
	// reported as unmanaged, by name.
	unmanaged map[resourceIn]map[string]drift.ObjectKey
	resolved  bool
	status    Status
	synced    map[groupKey]bool
	findings  map[drift.ObjectKey]drift.State
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
func New(name string, c *cluster.Cluster, engine *drift.Engine, objs []source.Encoded, st Store, publish func(Event), opts Options) *Watcher {
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
		pending: map[drift.ObjectKey]pendingObject{}, synced: map[groupKey]bool{}, findings: map[drift.ObjectKey]drift.State{},
		cancels: map[groupKey]context.CancelFunc{}, unmanaged: map[resourceIn]map[string]drift.ObjectKey{},
		meta: map[groupKey]string{}, metaCancels: map[groupKey]context.CancelFunc{}, narrow: map[schema.GroupResource]bool{},
		status: Status{Name: name, State: StateSyncing},
		queue:  newQueue(name),
	}
}

func newQueue(cluster string) workqueue.TypedRateLimitingInterface[drift.ObjectKey] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[drift.ObjectKey](),
		workqueue.TypedRateLimitingQueueConfig[drift.ObjectKey]{Name: "plumb-" + cluster})
}

// shrinkAbove is the number of pending objects after which a drained
// queue is replaced (see shrink). Full lists stay below it (they wait for
// the backlog to drain); a reload that changes thousands of declarations
// does not.
const shrinkAbove = 2 * (listBacklog + listPage)

// notePending records the pending map's largest size. Callers hold mu.
func (w *Watcher) notePending() {
	w.pendingPeak = max(w.pendingPeak, len(w.pending))
}

// shrink gives back what a burst (a reload) left behind once the queue
// has drained: every object passed through the
// pending map and the work queue, and Go maps (the queue's sets too) keep
// their largest size. Both are replaced by empty ones. Workers call it.
func (w *Watcher) shrink(q workqueue.TypedRateLimitingInterface[drift.ObjectKey]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pendingPeak < shrinkAbove || w.queue != q || q.Len() != 0 || len(w.pending) != 0 || w.busy.Load() != 0 {
		return
	}
	// Start shuts the current queue down once its context is done; a queue
	// made after that would never be.
	if w.runCtx == nil || w.runCtx.Err() != nil {
		return
	}
	w.pendingPeak = 0
	w.pending = map[drift.ObjectKey]pendingObject{}
	w.queue = newQueue(w.name)
	q.ShutDown() // its workers move to the new queue
}

// currentQueue returns the work queue (shrink replaces it).
func (w *Watcher) currentQueue() workqueue.TypedRateLimitingInterface[drift.ObjectKey] {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.queue
}

// resolve maps the declared objects to resources, retrying with backoff
// while the API server cannot be reached. Bad objects are logged: they
// were reported when the sources were loaded or are kinds the cluster
// does not serve.
func (w *Watcher) resolve(ctx context.Context) error {
	backoff := time.Second
	for {
		targets, errs, err := w.engine.ResolveEncoded(w.objs)
		if err == nil {
			w.objs = nil // the compact targets are all that is kept
			for _, e := range errs {
				w.opts.Logger.Warn("object not watched", "cluster", w.name, "err", e.Error())
			}
			w.mu.Lock()
			for _, t := range targets {
				w.targets[t.Key()] = t
				g := groupKey{gvr: t.Resource(), ns: t.Namespace()}
				w.groups[g] = append(w.groups[g], t)
			}
			w.status.Objects = len(targets)
			w.resolved = true
			w.mu.Unlock()
			return nil
		}
		w.noteList(err)
		w.opts.Logger.Warn("cluster unreachable; retrying", "cluster", w.name, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// Status returns the cluster's current status.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.status
	s.Ready = w.resolved && w.allSynced()
	s.Findings = len(w.findings)
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
	w.hpa = w.engine.HPATargets(ctx, w.targetList())
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

// startGroup starts the watch of one group of declared objects. Callers
// hold mu.
func (w *Watcher) startGroup(g groupKey) {
	ctx, cancel := context.WithCancel(w.runCtx)
	w.cancels[g] = cancel
	w.runReflector(ctx, &eventStore{w: w, ctx: ctx, group: g}, &unstructured.Unstructured{})
}

// startMeta starts the metadata-only watch of one group of kind kind, for
// unmanaged objects. Callers hold mu.
func (w *Watcher) startMeta(g groupKey, kind string) {
	ctx, cancel := context.WithCancel(w.runCtx)
	w.metaCancels[g] = cancel
	w.runReflector(ctx, &eventStore{w: w, ctx: ctx, group: g, kind: kind}, &metav1.PartialObjectMetadata{})
}

func (w *Watcher) runReflector(ctx context.Context, s *eventStore, expected runtime.Object) {
	r := cache.NewReflectorWithOptions(w.listWatch(s), expected, s,
		cache.ReflectorOptions{Name: fmt.Sprintf("%s %s %s", w.name, s.group.gvr, s.group.ns)})
	w.wg.Add(1)
	go func() { defer w.wg.Done(); r.RunWithContext(ctx) }()
}

// discover reads which resources the cluster serves, for Unmanaged. A
// failure is logged: the resources found so far are kept, and the next
// resync tries again.
func (w *Watcher) discover() {
	if !w.opts.Unmanaged {
		return
	}
	served, err := w.cluster.WatchableNamespaced()
	if err != nil {
		w.opts.Logger.Warn("some kinds not watched for unmanaged objects; retrying at the next resync", "cluster", w.name, "err", err)
		if served == nil {
			return
		}
	}
	w.mu.Lock()
	w.served = drift.UnmanagedResources(served)
	w.mu.Unlock()
}

// Reload replaces the declared objects (the sources changed on disk).
// Only what changed is compared again: objects whose declaration changed or
// that are new are read and compared; objects no longer declared have their
// findings resolved; watches start and stop as groups come and go.
func (w *Watcher) Reload(objs []source.Encoded) error {
	targets, errs, err := w.engine.ResolveEncoded(objs)
	if err != nil {
		return err
	}
	for _, e := range errs {
		w.opts.Logger.Warn("object not watched", "cluster", w.name, "err", e.Error())
	}
	next := map[drift.ObjectKey]drift.Target{}
	groups := map[groupKey][]drift.Target{}
	for _, t := range targets {
		next[t.Key()] = t
		g := groupKey{gvr: t.Resource(), ns: t.Namespace()}
		groups[g] = append(groups[g], t)
	}

	w.mu.Lock()
	if w.runCtx == nil {
		w.mu.Unlock()
		return fmt.Errorf("cluster %s is not being watched yet", w.name)
	}
	var changed, removed []drift.ObjectKey
	for k, t := range next {
		old, ok := w.targets[k]
		if _, watched := w.groups[groupKey{gvr: t.Resource(), ns: t.Namespace()}]; watched && (!ok || !old.SameDeclaration(t)) {
			changed = append(changed, k)
		}
	}
	for k := range w.targets {
		if _, ok := next[k]; !ok {
			removed = append(removed, k)
		}
	}
	for g, cancel := range w.cancels {
		if _, ok := groups[g]; !ok {
			cancel()
			delete(w.cancels, g)
			delete(w.synced, g)
		}
	}
	w.targets, w.status.Objects = next, len(targets)
	old := w.groups
	w.groups = groups
	// Metadata-only watches first: one that a watch of declared objects
	// takes over is stopped before that watch starts, and the unmanaged
	// findings of the watches stopped here that nothing covers now are
	// resolved.
	w.setMeta()
	for g := range groups {
		if _, running := old[g]; !running {
			w.startGroup(g) // its first list compares all its objects
		}
	}
	for _, k := range removed {
		delete(w.findings, k)
	}
	now := time.Now()
	for _, k := range changed {
		w.pending[k] = pendingObject{fetch: true, received: now}
		w.queue.Add(k)
	}
	w.notePending()
	w.mu.Unlock()

	for _, k := range removed {
		tr, err := w.store.Observe(w.runCtx, w.name, k, nil, "no longer declared", now)
		if err != nil {
			return err
		}
		if tr == store.Resolved {
			w.publish(Event{Cluster: w.name, FindingID: store.FindingID(w.name, k), Transition: tr, At: now})
		}
	}
	w.opts.Logger.Info("sources reloaded", "cluster", w.name, "objects", len(targets), "changed", len(changed), "removed", len(removed))
	return nil
}

// Target returns the declaration the watcher compares the object of key
// with, for those that act on its findings (serve's remediation).
func (w *Watcher) Target(key drift.ObjectKey) (drift.Target, bool) { return w.target(key) }

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

// reconcileStore drops open findings of objects no source declares any more
// (a restart after the sources changed); the rest are re-checked by the
// first list.
func (w *Watcher) reconcileStore(ctx context.Context) error {
	keys, err := w.store.OpenKeys(ctx, w.name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if _, declared := w.target(k); declared {
			w.mu.Lock()
			w.findings[k] = ""
			w.mu.Unlock()
			continue
		}
		if r, ok := w.groupOf(k); ok && w.opts.Unmanaged {
			// An unmanaged object from before the restart: the first list
			// says whether it is still there.
			w.mu.Lock()
			w.noteUnmanaged(r, k, true)
			w.findings[k] = drift.StateUnmanaged
			w.mu.Unlock()
			continue
		}
		if _, err := w.store.Observe(ctx, w.name, k, nil, "no longer declared", time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// unreachableAfter is how long a watch may take to start before the
// cluster is reported unreachable; a healthy API server answers in
// milliseconds.
const unreachableAfter = 3 * time.Second

// listWatch lists and watches one group, noting failures as the cluster's
// state: a failing list means the API server cannot be reached (or refuses),
// a successful one that it is back.
func (w *Watcher) listWatch(s *eventStore) cache.ListerWatcher {
	g := s.group
	lw := &cache.ListWatch{
		// Full lists go page by page to the queue (see eventStore.list);
		// the reflector gets an empty list with the resourceVersion to
		// watch from.
		ListWithContextFunc: func(ctx context.Context, _ metav1.ListOptions) (runtime.Object, error) {
			rv, err := s.list(ctx)
			if err != nil {
				return nil, err
			}
			if s.kind != "" {
				return &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: rv}}, nil
			}
			l := &unstructured.UnstructuredList{}
			l.SetResourceVersion(rv)
			return l, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			// client-go retries a failing watch request for a while before
			// it returns; a watch that gets no answer for unreachableAfter
			// means the API server is away, and the cluster says so now.
			slow := time.AfterFunc(unreachableAfter, func() {
				w.noteList(fmt.Errorf("no answer from the API server for %s while re-establishing the %s watch", unreachableAfter, g.gvr.Resource))
			})
			var wi apiwatch.Interface
			var err error
			if s.kind != "" {
				wi, err = w.cluster.Metadata.Resource(g.gvr).Namespace(g.ns).Watch(ctx, o)
			} else {
				wi, err = w.cluster.Dynamic.Resource(g.gvr).Namespace(g.ns).Watch(ctx, o)
			}
			slow.Stop()
			if s.kind != "" && cluster.IsRefused(err) {
				w.skipMeta(g, err)
				return nil, err
			}
			if w.opts.Metrics != nil {
				w.opts.Metrics.WatchStarts.WithLabelValues(w.name).Inc()
			}
			w.noteList(err)
			return wi, err
		},
	}
	// A WatchList stream would hold every object until the last arrived.
	return cache.ToListWatcherWithWatchListSemantics(lw, noWatchList{})
}

// noWatchList tells the reflector to list rather than stream the initial
// objects with WatchList (see listWatch).
type noWatchList struct{}

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }

func (w *Watcher) noteList(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.status.State, w.status.Error = StateUnreachable, err.Error()
		}
		return
	}
	w.status.State, w.status.Error = StateOK, ""
}

// enqueue records the newest version of a declared object for a worker.
func (w *Watcher) enqueue(key drift.ObjectKey, obj *unstructured.Unstructured) {
	w.mu.Lock()
	if _, declared := w.targets[key]; !declared {
		w.mu.Unlock()
		return
	}
	w.pending[key] = pendingObject{obj: obj, received: time.Now()}
	w.notePending()
	w.queue.Add(key)
	w.mu.Unlock()
}

func (w *Watcher) work(ctx context.Context) {
	w.working.Add(1)
	defer w.working.Add(-1)
	for {
		q := w.currentQueue()
		key, shutdown := q.Get()
		if shutdown {
			if ctx.Err() != nil || w.currentQueue() == q {
				return
			}
			continue // Shrink replaced the queue
		}
		w.busy.Add(1)
		w.mu.Lock()
		p, ok := w.pending[key]
		delete(w.pending, key)
		w.mu.Unlock()
		if ok {
			if err := w.process(ctx, key, p); err != nil && ctx.Err() == nil {
				w.opts.Logger.Warn("compare failed; retrying", "cluster", w.name, "object", key, "err", err)
				w.mu.Lock()
				if _, newer := w.pending[key]; !newer {
					w.pending[key] = p
				}
				w.mu.Unlock()
				w.currentQueue().AddRateLimited(key)
				q.Done(key)
				w.busy.Add(-1)
				continue
			}
		}
		q.Forget(key)
		q.Done(key)
		w.busy.Add(-1)
		w.shrink(q)
	}
}

// process compares one object and records the outcome.
func (w *Watcher) process(ctx context.Context, key drift.ObjectKey, p pendingObject) error {
	var f *drift.Finding
	t, declared := w.target(key)
	switch {
	case declared:
		if p.fetch {
			obj, err := w.engine.Get(ctx, t)
			if err != nil {
				return err
			}
			p.obj, p.fetch = obj, false
		}
		var err error
		if f, err = w.engine.CompareLive(ctx, t, p.obj, w.hpa); err != nil {
			return err
		}
	case p.unmanaged:
		if p.obj != nil {
			f = drift.UnmanagedFinding(w.name, p.obj)
		}
	default:
		return nil // dropped by a reload meanwhile
	}
	by := ""
	if f == nil && p.obj != nil {
		by = drift.LastWriter(p.obj)
	}
	start := time.Now()
	tr, err := w.store.Observe(ctx, w.name, key, f, by, start)
	if err != nil {
		return err
	}
	if m := w.opts.Metrics; m != nil {
		m.StoreWrite.Observe(time.Since(start).Seconds())
		m.Detection.Observe(time.Since(p.received).Seconds())
	}
	w.mu.Lock()
	prev := w.findings[key]
	if f != nil {
		w.findings[key] = f.State
	} else {
		delete(w.findings, key)
	}
	w.mu.Unlock()
	if m := w.opts.Metrics; m != nil {
		if prev != "" {
			m.Findings.WithLabelValues(w.name, key.Kind, string(prev)).Dec()
		}
		if f != nil {
			m.Findings.WithLabelValues(w.name, key.Kind, string(f.State)).Inc()
		}
		st := w.engine.Stats()
		m.DryRuns.WithLabelValues(w.name).Set(float64(st.DryRuns))
		m.CacheHits.WithLabelValues(w.name).Set(float64(st.CacheHits))
	}
	ev := Event{Cluster: w.name, FindingID: store.FindingID(w.name, key), Transition: tr, Finding: f, At: start}
	switch {
	case tr != store.Unchanged:
		w.opts.Logger.Info("finding "+string(tr), "cluster", w.name, "object", key)
		w.publish(ev)
	case f != nil && w.opts.Unchanged != nil:
		w.opts.Unchanged(ev)
	}
	return nil
}

// resyncLoop rescans every object through the engine's cache.
func (w *Watcher) resyncLoop(ctx context.Context) {
	t := time.NewTicker(w.opts.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.hpa = w.engine.HPATargets(ctx, w.targetList())
			w.discover() // CRDs installed since
			w.mu.Lock()
			w.setMeta()
			stores := make([]*eventStore, 0, len(w.groups)+len(w.meta))
			for g := range w.groups {
				stores = append(stores, &eventStore{w: w, ctx: ctx, group: g})
			}
			for g, kind := range w.meta {
				stores = append(stores, &eventStore{w: w, ctx: ctx, group: g, kind: kind})
			}
			w.mu.Unlock()
			for _, s := range stores {
				// The same paged list as a reflector's, on a store of its
				// own: every object is compared (through the cache), and
				// the declared ones the list lacks are missing.
				if _, err := s.list(ctx); err != nil {
					continue
				}
				_ = s.Replace(nil, "")
			}
		}
	}
}
