package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/shard"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/watch"
)

// shardFlags split a fleet among replicas (--lease-namespace, --identity).
type shardFlags struct {
	namespace string
	identity  string
}

func (f *shardFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.namespace, "lease-namespace", "", "Share the fleet's clusters with the other replicas of plumb serve that use the same store: each cluster is watched by one replica, through coordination.k8s.io Leases in this namespace of the cluster plumb runs in (kubectl's context, or in-cluster)")
	fs.StringVar(&f.identity, "identity", "", "This replica's name among the others (default: $POD_NAME, else the host name)")
}

// validate checks what sharding needs and what it does not support yet.
func (f *shardFlags) validate(o *serveOptions) error {
	if f.namespace == "" {
		if f.identity != "" {
			return errors.New("--identity is for --lease-namespace")
		}
		return nil
	}
	if o.auditListen != "" || o.admission.mode != "off" {
		return errors.New("--lease-namespace does not work with --audit-listen or --admission yet: run those on a single replica")
	}
	return nil
}

// identityOrDefault is --identity, else $POD_NAME, else the host name.
func (f *shardFlags) identityOrDefault() (string, error) {
	if f.identity != "" {
		return f.identity, nil
	}
	if p := os.Getenv("POD_NAME"); p != "" {
		return p, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("--identity is required: no $POD_NAME and no host name (%v)", err)
	}
	return h, nil
}

// shardedWatchers are a replica's watchers when the fleet is shared: a
// cluster has a watcher only while this replica holds its Lease. The
// status of the other clusters comes from their Leases, written by the
// replica that watches each.
type shardedWatchers struct {
	setups []clusterSetup
	// build makes cluster i's watcher from its declared objects.
	build []func([]source.Encoded) *watch.Watcher
	coord *shard.Coordinator
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
func (o *serveOptions) newShardedWatchers(ctx context.Context, setups []clusterSetup, build []func([]source.Encoded) *watch.Watcher) (*shardedWatchers, error) {
	id, err := o.shard.identityOrDefault()
	if err != nil {
		return nil, err
	}
	home, err := cluster.New(o.kube, cluster.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("--lease-namespace: the cluster plumb runs in: %w", err)
	}
	client, err := kubernetes.NewForConfig(home.Config)
	if err != nil {
		return nil, err
	}
	sw := &shardedWatchers{setups: setups, build: build, parent: ctx, running: map[int]*runningWatcher{}, byName: map[string]int{}}
	names := make([]string, len(setups))
	for i, s := range setups {
		names[i], sw.byName[s.name] = s.name, i
	}
	sw.coord, err = shard.New(client, names, sw.start, sw.stop, shard.Options{Namespace: o.shard.namespace, Identity: id,
		ReleaseOnStop: true, Logger: o.logger, Status: sw.status})
	if err != nil {
		return nil, err
	}
	o.logger.Info("sharing the fleet", "identity", id, "leaseNamespace", o.shard.namespace, "clusters", len(names))
	return sw, nil
}

// run takes part in the sharing until ctx ends; the watchers are stopped
// when it returns.
func (sw *shardedWatchers) run(ctx context.Context) { sw.coord.Run(ctx) }

// start begins watching a cluster this replica now holds, with its sources
// loaded again (they may have moved since serve started).
func (sw *shardedWatchers) start(name string) {
	i := sw.byName[name]
	objs, _ := sw.setups[i].reload(sw.parent) // bad input was reported when serve started
	w := sw.build[i](objs)
	ctx, cancel := context.WithCancel(sw.parent)
	r := &runningWatcher{w: w, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = w.Start(ctx) }()
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
		h := holders[s.name]
		if w := sw.at(i); w != nil {
			out[i] = w.Status()
		} else {
			out[i] = event.Status{Name: s.name, State: event.StateUnassigned}
			if h.Status != "" {
				_ = json.Unmarshal([]byte(h.Status), &out[i])
			}
		}
		out[i].Replica = h.Identity
	}
	return out
}

// ready: this replica knows its share, and watches it in sync.
func (sw *shardedWatchers) ready() bool {
	if !sw.coord.Ready() {
		return false
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, r := range sw.running {
		if !r.w.Ready() {
			return false
		}
	}
	return true
}
