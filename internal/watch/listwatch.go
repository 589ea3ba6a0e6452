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
			w.status.State, w.status.Error = event.StateUnreachable, err.Error()
		}
		return
	}
	w.status.State, w.status.Error = event.StateOK, ""
}
