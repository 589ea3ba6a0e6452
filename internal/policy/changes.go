package policy

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

// Diff pairs the objects of two versions of a source: what after declares
// and before did not is created, what both declare and differ in is
// updated, what only before declares is deleted. Objects are matched by
// group, kind, namespace and name (an apiVersion change is an update).
// Each change carries the origin of the object it is about: after's for a
// create or an update, before's for a delete.
func Diff(before, after []source.Object) []Change {
	old := make(map[drift.ObjectKey]*unstructured.Unstructured, len(before))
	for _, o := range before {
		old[drift.KeyOf(o.Object)] = o.Object
	}
	var out []Change
	seen := map[drift.ObjectKey]bool{}
	for _, o := range after {
		k := drift.KeyOf(o.Object)
		seen[k] = true
		prev, ok := old[k]
		switch {
		case !ok:
			out = append(out, Change{Operation: OperationCreate, New: o.Object, Source: originOf(o)})
		case !equal(prev, o.Object):
			out = append(out, Change{Operation: OperationUpdate, Old: prev, New: o.Object, Source: originOf(o)})
		}
	}
	for _, o := range before {
		if !seen[drift.KeyOf(o.Object)] {
			out = append(out, Change{Operation: OperationDelete, Old: o.Object, Source: originOf(o)})
		}
	}
	return out
}

// originOf is o's origin, nil when it names no file.
func originOf(o source.Object) *source.Origin {
	if o.Origin.Path == "" {
		return nil
	}
	origin := o.Origin
	return &origin
}

func equal(a, b *unstructured.Unstructured) bool {
	ja, errA := a.MarshalJSON()
	jb, errB := b.MarshalJSON()
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// SourceCounter counts what a deletion takes along from a version of the
// source (offline, with no cluster): the objects it declares in a
// namespace, the custom resources it declares of a CRD.
type SourceCounter []*unstructured.Unstructured

var _ Counter = SourceCounter(nil)

// InNamespace counts the objects declared in ns.
func (s SourceCounter) InNamespace(_ context.Context, ns string) (int, error) {
	n := 0
	for _, u := range s {
		if u.GetNamespace() == ns {
			n++
		}
	}
	return n, nil
}

// CustomResources counts the objects declared of crd's group and kind.
func (s SourceCounter) CustomResources(_ context.Context, crd *unstructured.Unstructured) (int, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	n := 0
	for _, u := range s {
		if gvk := u.GroupVersionKind(); gvk.Group == group && gvk.Kind == kind {
			n++
		}
	}
	return n, nil
}
