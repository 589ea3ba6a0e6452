package watch

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/drift"
)

// eventStore receives one reflector's events and keeps no objects: it
// hands each to the watcher's queue. It implements cache.ReflectorStore.
type eventStore struct {
	w     *Watcher
	group groupKey
	// listed, when set, holds the names the last list handed over page by
	// page (see list); Replace then only finds what the list lacked.
	listed map[string]bool
}

const (
	// listPage is how many objects one page of a full list holds.
	listPage = 500
	// listBacklog bounds the objects a full list leaves waiting for a
	// worker: the next page is read once fewer are pending.
	listBacklog = 2 * listPage
)

// list reads the group page by page and hands every object to the queue as
// its page arrives, reading the next page only once the workers have caught
// up. At most a few pages of decoded objects are held at a time, where a
// reflector's own list (or its WatchList stream) holds all of them until
// the last one arrives: at 20,000 objects that was most of plumb serve's
// startup peak. It returns the list's resourceVersion, for the watch that
// follows.
func (s *eventStore) list(ctx context.Context, res dynamic.ResourceInterface) (string, error) {
	seen := map[string]bool{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		s.w.waitBacklog(ctx, listBacklog)
		page, err := res.List(ctx, opts)
		s.w.noteList(err)
		if err != nil {
			return "", err
		}
		for i := range page.Items {
			u := &page.Items[i]
			seen[u.GetName()] = true
			s.changed(u, false)
		}
		if page.GetContinue() == "" {
			s.listed = seen
			return page.GetResourceVersion(), nil
		}
		opts.Continue = page.GetContinue()
	}
}

var _ cache.ReflectorStore = (*eventStore)(nil)

// key is the object's key, built from the event's object (whose kind the
// API server always sets) and the group, as targets' keys are.
func (s *eventStore) key(u *unstructured.Unstructured) drift.ObjectKey {
	return drift.ObjectKey{Group: s.group.gvr.Group, Kind: u.GetKind(), Namespace: s.group.ns, Name: u.GetName()}
}

func (s *eventStore) Add(obj any) error    { return s.Update(obj) }
func (s *eventStore) Update(obj any) error { s.changed(obj, false); return nil }
func (s *eventStore) Delete(obj any) error { s.changed(obj, true); return nil }

func (s *eventStore) changed(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
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
// namespaced group, it is reported (or, deleted, resolved).
func (s *eventStore) undeclared(u *unstructured.Unstructured, deleted bool) {
	if !s.w.opts.Unmanaged || s.group.ns == "" {
		return
	}
	key := s.key(u)
	if deleted {
		u = nil
	}
	s.w.enqueueUnmanaged(s.group, key, u)
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
			listed[u.GetName()] = true
			s.changed(u, false)
		}
	}
	for _, t := range s.w.groupTargets(s.group) {
		if !listed[t.Name()] {
			s.w.enqueue(t.Key(), nil)
		}
	}
	if s.w.opts.Unmanaged && s.group.ns != "" {
		// Unmanaged objects that are gone (deleted while not watched).
		s.w.mu.Lock()
		var gone []string
		for name := range s.w.unmanaged[s.group] {
			if !listed[name] {
				gone = append(gone, name)
			}
		}
		kind := ""
		if ts := s.w.groups[s.group]; len(ts) > 0 {
			kind = ts[0].Key().Kind
		}
		s.w.mu.Unlock()
		for _, name := range gone {
			key := drift.ObjectKey{Group: s.group.gvr.Group, Kind: kind, Namespace: s.group.ns, Name: name}
			s.w.enqueueUnmanaged(s.group, key, nil)
		}
	}
	s.w.mu.Lock()
	s.w.synced[s.group] = true
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
