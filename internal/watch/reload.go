package watch

import (
	"context"
	"fmt"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

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
	var changed, removed, moved []drift.ObjectKey
	for k, t := range next {
		old, ok := w.targets[k]
		_, watched := w.groups[groupKey{gvr: t.Resource(), ns: t.Namespace()}]
		switch {
		case watched && (!ok || !old.SameDeclaration(t)):
			changed = append(changed, k)
		case ok && !old.Origin().Equal(t.Origin()) && w.findings[k] != "" && w.findings[k] != drift.StateUnmanaged:
			// Declared the same at a new commit or revision: nothing to
			// compare, but its finding now names where it was declared.
			moved = append(moved, k)
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
			delete(w.down, downKey{group: g})
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

	for _, k := range moved {
		if err := w.store.Relocate(w.runCtx, w.name, k, next[k].Origin()); err != nil {
			return err
		}
	}
	for _, k := range removed {
		tr, err := w.store.Observe(w.runCtx, w.name, k, nil, "no longer declared", now)
		if err != nil {
			return err
		}
		if tr == store.Resolved {
			w.publish(event.Event{Cluster: w.name, FindingID: store.FindingID(w.name, k), Transition: tr, At: now})
		}
	}
	w.opts.Logger.Info("sources reloaded", "cluster", w.name, "objects", len(targets), "changed", len(changed), "removed", len(removed), "relocated", len(moved))
	return nil
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
