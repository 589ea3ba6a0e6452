package watch

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/store"
)

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
		w.mu.Lock()
		hpa := w.hpa
		w.mu.Unlock()
		var err error
		if f, err = w.engine.CompareLive(ctx, t, p.obj, hpa); err != nil {
			return err
		}
	case p.unmanaged:
		if p.obj != nil {
			f = drift.UnmanagedFinding(w.name, p.obj)
		}
	default:
		return nil // dropped by a reload meanwhile
	}
	if f != nil && w.opts.Attribute != nil {
		w.opts.Attribute(f)
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
	w.status.LastScan = &start
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
	ev := event.Event{Cluster: w.name, FindingID: store.FindingID(w.name, key), Transition: tr, Finding: f, At: start}
	switch {
	case tr != store.Unchanged:
		w.opts.Logger.Info("finding "+string(tr), "cluster", w.name, "object", key)
		w.publish(ev)
	case f != nil && w.opts.Unchanged != nil:
		w.opts.Unchanged(ev)
	}
	return nil
}

// Recheck compares the declared object of resource gvr named ns/name again,
// reading it first: something learnt about it since (who wrote it, from
// the audit webhook) may change its finding. Objects no source declares
// are left alone.
func (w *Watcher) Recheck(gvr schema.GroupResource, ns, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for g, targets := range w.groups {
		if g.gvr.GroupResource() != gvr || (g.ns != ns && g.ns != "") || len(targets) == 0 {
			continue
		}
		k := targets[0].Key()
		key := drift.ObjectKey{Group: k.Group, Kind: k.Kind, Namespace: ns, Name: name}
		if _, ok := w.targets[key]; !ok {
			continue
		}
		if _, queued := w.pending[key]; !queued {
			w.pending[key] = pendingObject{fetch: true, received: time.Now()}
			w.notePending()
		}
		w.queue.Add(key)
		return
	}
}
