package watch

import (
	"maps"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/drift"
)

// resourceIn is a resource in a namespace, whatever its version: what
// unmanaged objects are remembered by, so that a name reported by one
// watch is still known when another watch of the same resource (another
// version, cluster-wide instead of per namespace) takes over.
type resourceIn struct {
	gr schema.GroupResource
	ns string
}

// metaScope is where metadata-only watches look for unmanaged objects: the
// namespaces the sources touch, less, per resource, the namespaces where a
// watch of declared objects already sees that resource.
type metaScope struct {
	namespaces map[string]bool
	full       map[resourceIn]bool
}

func scopeOf(groups map[groupKey][]drift.Target) metaScope {
	s := metaScope{namespaces: map[string]bool{}, full: map[resourceIn]bool{}}
	for g := range groups {
		if g.ns != "" {
			s.full[resourceIn{g.gvr.GroupResource(), g.ns}] = true
			s.namespaces[g.ns] = true
		}
	}
	return s
}

// wants reports whether a metadata-only watch of gr reports the objects in
// namespace ns.
func (s metaScope) wants(gr schema.GroupResource, ns string) bool {
	return s.namespaces[ns] && !s.full[resourceIn{gr, ns}]
}

func (s metaScope) equal(o metaScope) bool {
	return maps.Equal(s.namespaces, o.namespaces) && maps.Equal(s.full, o.full)
}

// metaGroupsFor returns the metadata-only watches for scope: every served
// resource in every namespace of the scope that it wants. Beyond
// Options.UnmanagedClusterWideAfter namespaces, each resource is watched
// once cluster-wide (groupKey's ns "") and its objects are kept to the
// scope, unless the identity may not (narrow). Callers hold mu.
func (w *Watcher) metaGroupsFor(scope metaScope) map[groupKey]string {
	out := map[groupKey]string{}
	if !w.opts.Unmanaged {
		return out
	}
	wide := drift.ClusterWide(w.opts.UnmanagedClusterWideAfter, len(scope.namespaces))
	for _, r := range w.served {
		gr := r.GVR.GroupResource()
		for ns := range scope.namespaces {
			if !scope.wants(gr, ns) {
				continue
			}
			if wide && !w.narrow[gr] {
				out[groupKey{gvr: r.GVR}] = r.Kind
				break
			}
			out[groupKey{gvr: r.GVR, ns: ns}] = r.Kind
		}
	}
	return out
}

// setMeta runs the metadata-only watches that go with the watches of
// declared objects (groups) and stops the others. A cluster-wide watch
// starts again when the scope changed, so that objects in namespaces new
// to it are listed. Unmanaged findings no watch covers any more are
// resolved. Callers hold mu.
func (w *Watcher) setMeta() {
	scope := scopeOf(w.groups)
	next := w.metaGroupsFor(scope)
	rescoped := !scope.equal(w.scope)
	w.meta, w.scope = next, scope
	for g, cancel := range w.metaCancels {
		if _, keep := next[g]; keep && (g.ns != "" || !rescoped) {
			continue
		}
		cancel()
		delete(w.metaCancels, g)
		delete(w.synced, g)
		delete(w.down, downKey{group: g, meta: true})
	}
	w.dropUncovered()
	for g, kind := range next {
		if _, running := w.metaCancels[g]; !running {
			w.startMeta(g, kind)
		}
	}
}

// skipMeta stops a metadata-only watch the cluster refuses. A per-namespace
// one (the identity may not list the kind there, or the kind is gone) is
// tried again at the next resync. A cluster-wide one gives way to one
// watch per namespace, for as long as plumb runs: an identity bound to
// its namespaces may still list the kind in each.
func (w *Watcher) skipMeta(g groupKey, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cancel, ok := w.metaCancels[g]
	if !ok {
		return
	}
	cancel()
	delete(w.metaCancels, g)
	delete(w.meta, g)
	delete(w.synced, g)
	delete(w.down, downKey{group: g, meta: true})
	gr := g.gvr.GroupResource()
	if g.ns == "" {
		w.opts.Logger.Info("not watched cluster-wide for unmanaged objects; watching each namespace instead", "cluster", w.name,
			"resource", gr.String(), "err", err.Error())
		w.narrow[gr] = true
		w.setMeta()
		return
	}
	w.opts.Logger.Warn("not watched for unmanaged objects; retrying at the next resync", "cluster", w.name,
		"resource", gr.String(), "namespace", g.ns, "err", err.Error())
}

// dropUncovered resolves the unmanaged findings that no watch reports any
// more (their namespace or kind left the scope). Callers hold mu.
func (w *Watcher) dropUncovered() {
	covered := map[resourceIn]bool{}
	for r := range w.scope.full {
		covered[r] = true
	}
	for g := range w.meta {
		gr := g.gvr.GroupResource()
		if g.ns != "" {
			covered[resourceIn{gr, g.ns}] = true
			continue
		}
		for ns := range w.scope.namespaces {
			if w.scope.wants(gr, ns) {
				covered[resourceIn{gr, ns}] = true
			}
		}
	}
	now := time.Now()
	for r, keys := range w.unmanaged {
		if covered[r] {
			continue
		}
		for _, key := range keys {
			if _, declared := w.targets[key]; declared {
				continue
			}
			w.pending[key] = pendingObject{unmanaged: true, received: now}
			w.queue.Add(key)
		}
		delete(w.unmanaged, r)
	}
	w.notePending()
}

// wantsMeta reports whether a cluster-wide metadata-only watch of gr
// reports the objects in namespace ns.
func (w *Watcher) wantsMeta(gr schema.GroupResource, ns string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.scope.wants(gr, ns)
}

// groupOf finds the watched resource an object of key's kind and namespace
// belongs to, for an unmanaged finding restored from the store: one the
// watches of declared objects in that namespace see, or else a served
// resource that a metadata-only watch sees there (every namespace a watch
// of declared objects touches is in scope).
func (w *Watcher) groupOf(k drift.ObjectKey) (resourceIn, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	inScope := false
	for g, ts := range w.groups {
		if g.ns == "" || g.ns != k.Namespace || len(ts) == 0 {
			continue
		}
		inScope = true
		if tk := ts[0].Key(); tk.Group == k.Group && tk.Kind == k.Kind {
			return resourceIn{g.gvr.GroupResource(), k.Namespace}, true
		}
	}
	if !inScope {
		return resourceIn{}, false
	}
	for _, r := range w.served {
		if r.GVR.Group == k.Group && r.Kind == k.Kind {
			return resourceIn{r.GVR.GroupResource(), k.Namespace}, true
		}
	}
	return resourceIn{}, false
}

// reportedUnmanaged reports whether the object of key, of resource r, is
// reported as unmanaged.
func (w *Watcher) reportedUnmanaged(r resourceIn, key drift.ObjectKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.unmanaged[r][key.Name]
	return ok
}

// noteUnmanaged records (or forgets) an unmanaged object. Callers hold mu.
func (w *Watcher) noteUnmanaged(r resourceIn, key drift.ObjectKey, present bool) {
	if present {
		if w.unmanaged[r] == nil {
			w.unmanaged[r] = map[string]drift.ObjectKey{}
		}
		w.unmanaged[r][key.Name] = key
		return
	}
	delete(w.unmanaged[r], key.Name)
}

// enqueueUnmanaged queues an undeclared object (nil: it is gone).
func (w *Watcher) enqueueUnmanaged(r resourceIn, key drift.ObjectKey, obj *unstructured.Unstructured) {
	w.mu.Lock()
	if _, declared := w.targets[key]; declared {
		w.mu.Unlock()
		return
	}
	w.noteUnmanaged(r, key, obj != nil)
	w.pending[key] = pendingObject{obj: obj, unmanaged: true, received: time.Now()}
	w.notePending()
	w.queue.Add(key)
	w.mu.Unlock()
}
