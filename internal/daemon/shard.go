package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"

	"k8s.io/client-go/kubernetes"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/shard"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/watch"
)

// ShardOptions share a fleet among replicas of plumb serve.
type ShardOptions struct {
	// Namespace holds the Leases, in Home.
	Namespace string
	// Identity is this replica's name among the others.
	Identity string
	// Home is the cluster plumb runs in, where the Leases are.
	Home *cluster.Cluster
}

// shardedWatchers are a replica's watchers when the fleet is shared: a
// cluster has a watcher only while this replica holds its Lease. The
// status of the other clusters comes from their Leases, written by the
// replica that watches each.
type shardedWatchers struct {
	setups []Cluster
	// build makes cluster i's watcher from its declared objects.
	build  []func([]source.Encoded) *watch.Watcher
	coord  *shard.Coordinator
	logger *slog.Logger
	// parent is the context the watchers run under (serve's).
	parent context.Context

	mu      sync.Mutex
	running map[int]*runningWatcher
	byName  map[string]int
}

type runningWatcher struct {
	w      *watch.Watcher
	cancel context.CancelFunc
	done   chan struct{}
}

// newShardedWatchers prepares the watchers of setups; build[i] makes
// cluster i's.
func newShardedWatchers(ctx context.Context, so *ShardOptions, setups []Cluster, build []func([]source.Encoded) *watch.Watcher, logger *slog.Logger) (*shardedWatchers, error) {
	id := so.Identity
	client, err := kubernetes.NewForConfig(so.Home.Config)
	if err != nil {
		return nil, err
	}
	sw := &shardedWatchers{setups: setups, build: build, parent: ctx, logger: logger, running: map[int]*runningWatcher{}, byName: map[string]int{}}
	names := make([]string, len(setups))
	for i, s := range setups {
		names[i], sw.byName[s.Name()] = s.Name(), i
	}
	sw.coord, err = shard.New(client, names, sw.start, sw.stop, shard.Options{Namespace: so.Namespace, Identity: id,
		ReleaseOnStop: true, Logger: logger, Status: sw.status})
	if err != nil {
		return nil, err
	}
	logger.Info("sharing the fleet", "identity", id, "leaseNamespace", so.Namespace, "clusters", len(names))
	return sw, nil
}

// Start takes part in the sharing until ctx ends; the watchers are stopped
// when it returns.
func (sw *shardedWatchers) Start(ctx context.Context) error { sw.coord.Run(ctx); return nil }

// start begins watching a cluster this replica now holds, with its sources
// loaded again (they may have moved since serve started).
func (sw *shardedWatchers) start(name string) {
	i := sw.byName[name]
	objs, _ := sw.setups[i].LoadEncoded(sw.parent) // bad input was reported when serve started
	w := sw.build[i](objs)
	ctx, cancel := context.WithCancel(sw.parent)
	r := &runningWatcher{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := w.Start(ctx); err != nil {
			// The store failed: the cluster stays this replica's,
			// unwatched until its Lease moves; the error is logged.
			sw.logger.Error("cannot watch a cluster this replica holds", "cluster", name, "err", err)
		}
	}()
	sw.mu.Lock()
	sw.running[i] = r
	sw.mu.Unlock()
}

// stop stops watching a cluster and returns once its watcher has stopped.
func (sw *shardedWatchers) stop(name string) {
	i := sw.byName[name]
	sw.mu.Lock()
	r := sw.running[i]
	delete(sw.running, i)
	sw.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

// at is cluster i's watcher while this replica watches it, else nil.
func (sw *shardedWatchers) at(i int) *watch.Watcher {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if r := sw.running[i]; r != nil {
		return r.w
	}
	return nil
}

// target looks up a declaration in cluster i, when this replica watches it.
func (sw *shardedWatchers) target(i int, k drift.ObjectKey) (drift.Target, bool) {
	if w := sw.at(i); w != nil {
		return w.Target(k)
	}
	return drift.Target{}, false
}

// status is this replica's status of a cluster it watches, for its Lease.
func (sw *shardedWatchers) status(name string) string {
	w := sw.at(sw.byName[name])
	if w == nil {
		return ""
	}
	b, err := json.Marshal(w.Status())
	if err != nil {
		return ""
	}
	return string(b)
}

// statuses answers for the whole fleet: this replica's clusters from their
// watchers, the others from their Leases.
func (sw *shardedWatchers) statuses() []event.Status {
	holders := sw.coord.Holders()
	out := make([]event.Status, len(sw.setups))
	for i, s := range sw.setups {
		h := holders[s.Name()]
		if w := sw.at(i); w != nil {
			out[i] = withSources(w.Status(), s)
		} else {
			out[i] = event.Status{Name: s.Name(), State: event.StateUnassigned}
			if h.Status != "" {
				_ = json.Unmarshal([]byte(h.Status), &out[i])
			}
		}
		out[i].Replica = h.Identity
	}
	return out
}

// ready: this replica knows its share, and each cluster of it is settled
// (firstSync.settled).
func (sw *shardedWatchers) ready(settled func(*watch.Watcher) bool) bool {
	if !sw.coord.Ready() {
		return false
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, r := range sw.running {
		if !settled(r.w) {
			return false
		}
	}
	return true
}

// own are the statuses of the clusters this replica watches.
func (sw *shardedWatchers) own() []event.Status {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	var out []event.Status
	for _, r := range sw.running {
		out = append(out, r.w.Status())
	}
	return out
}
