package watch

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/drift"
)

// eventStore receives one reflector's events and keeps no objects: it
// hands each to the watcher's queue. It implements cache.ReflectorStore.
type eventStore struct {
	w     *Watcher
	group groupKey
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

// Replace is a full list (the first one, or a relist after 410 Gone or a
// lost connection): every declared object is compared, and those the list
// lacks are missing.
func (s *eventStore) Replace(items []any, _ string) error {
	seen := map[string]*unstructured.Unstructured{}
	for _, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok {
			seen[u.GetName()] = u
		}
	}
	declared := map[string]bool{}
	for _, t := range s.w.groupTargets(s.group) {
		declared[t.Name()] = true
		s.w.enqueue(t.Key(), seen[t.Name()])
	}
	if s.w.opts.Unmanaged && s.group.ns != "" {
		for name, u := range seen {
			if !declared[name] {
				s.undeclared(u, false)
			}
		}
		// Unmanaged objects that are gone (deleted while not watched).
		s.w.mu.Lock()
		var gone []string
		for name := range s.w.unmanaged[s.group] {
			if _, ok := seen[name]; !ok {
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

// Resync is not used: the watcher rescans on its own schedule.
func (s *eventStore) Resync() error { return nil }
