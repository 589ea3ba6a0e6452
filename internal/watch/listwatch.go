package watch

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/plural"
)

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
				s.note(fmt.Errorf("no answer from the API server for %s while re-establishing the %s watch", unreachableAfter, g.gvr.Resource))
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
			s.note(err)
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

// noteList notes how a request of the cluster's own (not one watch's)
// went: a failure makes the cluster unreachable, a success makes it ok once
// no watch is down.
func (w *Watcher) noteList(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.status.State, w.status.Error = event.StateUnreachable, err.Error()
		}
		return
	}
	w.setReachedState()
}

// note notes how one of this watch's list or watch requests went. A
// failure marks the watch down and the cluster unreachable; a success
// marks it up again, and the cluster is ok only when every watch is up:
// after an API server restart each watch comes back after its own
// back-off, and until the last has, changes to its objects go unseen.
func (s *eventStore) note(err error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if errors.Is(err, context.Canceled) || s.ctx.Err() != nil {
			return
		}
		w.down[s.downKey()] = true
		w.status.State, w.status.Error = event.StateUnreachable, err.Error()
		return
	}
	delete(w.down, s.downKey())
	w.setReachedState()
}

// downKey names this store's watch among the watches that are down.
func (s *eventStore) downKey() downKey { return downKey{group: s.group, meta: s.kind != ""} }

// downKey is one watch: of declared objects, or metadata-only for
// unmanaged objects, of one group.
type downKey struct {
	group groupKey
	meta  bool
}

// setReachedState sets the state after a request that succeeded: ok,
// unless some watches are still down, when the cluster is syncing until
// they are back. Callers hold mu.
func (w *Watcher) setReachedState() {
	if n := len(w.down); n > 0 {
		w.status.State, w.status.Error = event.StateSyncing, "the API server answers again; "+plural.Count(n, "watch")+" not re-established yet"
		return
	}
	w.status.State, w.status.Error = event.StateOK, ""
}
