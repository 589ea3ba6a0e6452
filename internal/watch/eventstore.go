package watch

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// eventStore receives one reflector's events and keeps no objects: it
// hands each to the watcher's queue. It implements cache.ReflectorStore.
type eventStore struct {
	w     *Watcher
	ctx   context.Context // ends when the watch is stopped
	group groupKey
	// kind is set for a metadata-only watch (unmanaged objects of a kind no
	// source declares there): its objects are PartialObjectMetadata, which
	// carry no kind. With a group of no namespace, the watch is
	// cluster-wide and keeps only the objects in the watcher's scope.
	kind string
	// listed, when set, holds the names the last list handed over page by
	// page (see list); Replace then only finds what the list lacked.
	listed map[string]bool
}

const (
	// listPage is how many objects one page of a full list holds.
	listPage = 250
	// listBacklog bounds the objects a full list leaves waiting for a
	// worker: the next page is read once fewer are pending. Half a page
	// keeps the workers busy while the next page is read (a page takes
	// longer to compare than to list) and holds at most 375 decoded
	// objects at once; pages of 500 and a backlog of 1,000 held 1,500 and
	// made a 5,000-object start peak 12 MiB higher, in the same time.
	listBacklog = listPage / 2
)

// list reads the group page by page and hands every object to the queue as
// its page arrives, reading the next page only once the workers have caught
// up. At most a few pages of decoded objects are held at a time, where a
// reflector's own list (or its WatchList stream) holds all of them until
// the last one arrives: at 20,000 objects that was most of plumb serve's
// startup peak. It returns the list's resourceVersion, for the watch that
// follows.
func (s *eventStore) list(ctx context.Context) (string, error) {
	seen := map[string]bool{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		s.w.waitBacklog(ctx, listBacklog)
		page, err := s.page(ctx, opts)
		if err != nil {
			return "", err
		}
		for _, u := range page.items {
			seen[s.listName(u.GetNamespace(), u.GetName())] = true
			s.changed(u, false)
		}
		if page.cont == "" {
			s.listed = seen
			return page.rv, nil
		}
		opts.Continue = page.cont
	}
}

// listedPage is one page of a list.
type listedPage struct {
	items    []*unstructured.Unstructured
	cont, rv string
}

// page reads one page of the group: whole objects, or only their metadata
// for a metadata-only watch. A failure means the API server cannot be
// reached, except a metadata-only watch's kind that the cluster refuses,
// which is skipped (see Watcher.skipMeta).
func (s *eventStore) page(ctx context.Context, opts metav1.ListOptions) (listedPage, error) {
	g := s.group
	if s.kind == "" {
		l, err := s.w.cluster.Dynamic.Resource(g.gvr).Namespace(g.ns).List(ctx, opts)
		s.note(err)
		if err != nil {
			return listedPage{}, err
		}
		p := listedPage{items: make([]*unstructured.Unstructured, len(l.Items)), cont: l.GetContinue(), rv: l.GetResourceVersion()}
		for i := range l.Items {
			p.items[i] = &l.Items[i]
		}
		return p, nil
	}
	l, err := s.w.cluster.Metadata.Resource(g.gvr).Namespace(g.ns).List(ctx, opts)
	if cluster.IsRefused(err) {
		s.w.skipMeta(g, err)
		return listedPage{}, err
	}
	s.note(err)
	if err != nil {
		return listedPage{}, err
	}
	p := listedPage{items: make([]*unstructured.Unstructured, 0, len(l.Items)), cont: l.GetContinue(), rv: l.GetResourceVersion()}
	for i := range l.Items {
		if u := s.fromMetadata(&l.Items[i]); u != nil {
			p.items = append(p.items, u)
		}
	}
	return p, nil
}

// wide reports whether the store's watch is a cluster-wide metadata-only
// one.
func (s *eventStore) wide() bool { return s.kind != "" && s.group.ns == "" }

// listName is what a full list remembers an object by: its name, with its
// namespace in a cluster-wide watch.
func (s *eventStore) listName(ns, name string) string {
	if s.wide() {
		return ns + "/" + name
	}
	return name
}

// fromMetadata turns a metadata-only object into one with the group's
// kind, or nil if it cannot be (logged) or, in a cluster-wide watch, is
// outside the scope.
func (s *eventStore) fromMetadata(m *metav1.PartialObjectMetadata) *unstructured.Unstructured {
	if s.wide() && !s.w.wantsMeta(s.group.gvr.GroupResource(), m.Namespace) {
		return nil
	}
	u, err := drift.FromMetadata(m, s.group.gvr.GroupVersion().WithKind(s.kind))
	if err != nil {
		s.w.opts.Logger.Warn("object skipped", "cluster", s.w.name, "err", err.Error())
		return nil
	}
	return u
}

var _ cache.ReflectorStore = (*eventStore)(nil)

// key is the object's key, built from the event's object (whose kind the
// API server always sets) and the group, as targets' keys are.
func (s *eventStore) key(u *unstructured.Unstructured) drift.ObjectKey {
	ns := s.group.ns
	if s.wide() {
		ns = u.GetNamespace()
	}
	return drift.ObjectKey{Group: s.group.gvr.Group, Kind: u.GetKind(), Namespace: ns, Name: u.GetName()}
}

func (s *eventStore) Add(obj any) error    { return s.Update(obj) }
func (s *eventStore) Update(obj any) error { s.changed(obj, false); return nil }
func (s *eventStore) Delete(obj any) error { s.changed(obj, true); return nil }

func (s *eventStore) changed(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	var u *unstructured.Unstructured
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		u = o
	case *metav1.PartialObjectMetadata:
		if u = s.fromMetadata(o); u == nil {
			return
		}
	default:
		return
	}
	key := s.key(u)
	if _, declared := s.w.target(key); !declared {
		s.undeclared(u, deleted)
		return
	}
	if deleted {
		u = nil
	}
	s.w.enqueue(key, u)
}

// undeclared handles an object no source declares: with Unmanaged, in a
// namespaced group, it is reported (or, deleted, resolved). Objects the
// cluster made (Pods, ReplicaSets, ...) cost nothing: they are neither
// queued nor remembered, unless one was reported before and is resolved.
func (s *eventStore) undeclared(u *unstructured.Unstructured, deleted bool) {
	if !s.w.opts.Unmanaged || s.group.ns == "" && !s.wide() {
		return
	}
	key := s.key(u)
	r := resourceIn{s.group.gvr.GroupResource(), key.Namespace}
	if deleted || drift.MadeByCluster(u) {
		if s.w.reportedUnmanaged(r, key) {
			s.w.enqueueUnmanaged(r, key, nil)
		}
		return
	}
	s.w.enqueueUnmanaged(r, key, u)
}

// Replace ends a full list (the first one, or a relist after 410 Gone or a
// lost connection): the declared objects the list lacked are missing, and
// unmanaged objects it lacked are gone. list has handed the listed objects
// over already and items is empty; any items are handed over the same way.
func (s *eventStore) Replace(items []any, _ string) error {
	listed := s.listed
	s.listed = nil
	if listed == nil {
		listed = map[string]bool{}
	}
	for _, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok {
			listed[s.listName(u.GetNamespace(), u.GetName())] = true
			s.changed(u, false)
		}
	}
	for _, t := range s.w.groupTargets(s.group) {
		if !listed[t.Name()] {
			s.w.enqueue(t.Key(), nil)
		}
	}
	if s.w.opts.Unmanaged && (s.group.ns != "" || s.wide()) {
		// Unmanaged objects that are gone (deleted while not watched).
		gr := s.group.gvr.GroupResource()
		s.w.mu.Lock()
		var gone []drift.ObjectKey
		for r, keys := range s.w.unmanaged {
			if r.gr != gr || (s.wide() && !s.w.scope.wants(gr, r.ns)) || (!s.wide() && r.ns != s.group.ns) {
				continue
			}
			for name, key := range keys {
				if !listed[s.listName(r.ns, name)] {
					gone = append(gone, key)
				}
			}
		}
		s.w.mu.Unlock()
		for _, key := range gone {
			s.w.enqueueUnmanaged(resourceIn{gr, key.Namespace}, key, nil)
		}
	}
	s.w.mu.Lock()
	if s.ctx.Err() == nil { // a stopped watch's group may be another's now
		s.w.synced[s.group] = true
	}
	s.w.mu.Unlock()
	return nil
}

// waitBacklog returns once fewer than n objects wait for a worker, or ctx
// is done.
func (w *Watcher) waitBacklog(ctx context.Context, n int) {
	for {
		w.mu.Lock()
		pending := len(w.pending)
		w.mu.Unlock()
		if pending < n || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Resync is not used: the watcher rescans on its own schedule.
func (s *eventStore) Resync() error { return nil }
