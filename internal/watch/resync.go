package watch

import (
	"context"
	"time"
)

// resyncLoop rescans every object through the engine's cache.
func (w *Watcher) resyncLoop(ctx context.Context) {
	t := time.NewTicker(w.opts.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.setHPA(w.engine.HPATargets(ctx, w.targetList()))
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
