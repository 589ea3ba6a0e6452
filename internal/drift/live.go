package drift

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
)

// Target is a declared object resolved against the cluster: its resource
// and namespace are known. Watchers use it to compare one object at a time
// as watch events arrive.
type Target struct{ t *target }

// Key identifies the object.
func (t Target) Key() ObjectKey {
	gk := t.t.mapping.GroupVersionKind.GroupKind()
	return ObjectKey{Group: gk.Group, Kind: gk.Kind, Namespace: t.t.ns, Name: t.t.name}
}

// Resource is the object's API resource.
func (t Target) Resource() schema.GroupVersionResource { return t.t.mapping.Resource }

// Namespace is the object's namespace, "" for cluster-scoped kinds.
func (t Target) Namespace() string { return t.t.ns }

// Namespaced reports whether the object's kind is namespaced.
func (t Target) Namespaced() bool { return t.t.mapping.Scope.Name() == meta.RESTScopeNameNamespace }

// Name is the object's name.
func (t Target) Name() string { return t.t.name }

// Origin is where the object is declared.
func (t Target) Origin() source.Origin { return t.t.obj.Origin }

// Desired returns the declaration as it is sent to the server (namespace
// set, bookkeeping removed), decoded afresh: the caller may change it.
func (t Target) Desired() (*unstructured.Unstructured, error) {
	d, _, err := t.t.desired()
	return d, err
}

// Resolve maps declared objects to their resources, as Scan does first:
// unknown kinds and duplicates are errors, the rest are targets. An error
// is returned only when discovery itself fails.
func (e *Engine) Resolve(objs []source.Object) ([]Target, []source.Error, error) {
	ts, errs, err := e.resolve(objs)
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = Target{t: t}
	}
	return out, errs, err
}

// resolveBatch is how many objects ResolveEncoded holds decoded at once.
const resolveBatch = 500

// ResolveEncoded is Resolve followed by Compact, for objects kept as JSON:
// it decodes, resolves and compacts them a batch at a time, so that no
// more than a batch is ever decoded at once. Duplicates are found across
// all of them, as Resolve finds them.
func (e *Engine) ResolveEncoded(objs []source.Encoded) ([]Target, []source.Error, error) {
	ts, errs, err := e.resolveEncoded(objs, nil)
	if err != nil {
		return nil, errs, err
	}
	out := make([]Target, len(ts))
	for i, t := range ts {
		out[i] = Target{t: t}
	}
	return out, errs, nil
}

// resolveEncoded decodes, resolves and compacts objs a batch at a time;
// keep, when set, is given each batch's resolved targets before they are
// compacted (while their declarations are decoded) and returns those to
// keep.
func (e *Engine) resolveEncoded(objs []source.Encoded, keep func([]*target) []*target) ([]*target, []source.Error, error) {
	r := e.newResolver()
	out := make([]*target, 0, len(objs))
	var errs []source.Error
	for start := 0; start < len(objs); start += resolveBatch {
		batch := objs[start:min(start+resolveBatch, len(objs))]
		decoded := make([]source.Object, 0, len(batch))
		raw := make(map[*unstructured.Unstructured][]byte, len(batch))
		for _, o := range batch {
			d, err := o.Decode()
			if err != nil {
				errs = append(errs, source.Error{Path: o.Origin.Path, Line: o.Origin.Line, Message: err.Error()})
				continue
			}
			decoded = append(decoded, d)
			raw[d.Object] = o.JSON
		}
		ts, es, err := r.resolve(decoded)
		errs = append(errs, es...)
		if err != nil {
			return nil, errs, err
		}
		if keep != nil {
			ts = keep(ts)
		}
		compact, err := compactOver(ts, raw)
		if err != nil {
			return nil, errs, err
		}
		out = append(out, compact...)
	}
	return out, errs, nil
}

// compactOver compacts ts, decoded from the JSON that raw holds for each
// of their objects, over that JSON: a target keeps its source's JSON
// (shared, not copied) and the hash of its declaration, and is decoded
// and cleaned again to be compared.
func compactOver(ts []*target, raw map[*unstructured.Unstructured][]byte) ([]*target, error) {
	structs := make([]target, len(ts))
	descs := make([]compactDesired, len(ts))
	out := make([]*target, len(ts))
	for i, t := range ts {
		h, err := t.hash()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.id(), err)
		}
		descs[i] = compactDesired{source: raw[t.obj.Object], hash: h}
		structs[i] = *t
		structs[i].obj.Object = nil
		structs[i].compact = &descs[i]
		out[i] = &structs[i]
	}
	return out, nil
}

// CompareLive compares one target with its live object (nil when it does
// not exist) and returns its finding, or nil when it is in sync. hpa holds
// the targets a HorizontalPodAutoscaler scales (see HPATargets). Results
// are cached like Scan's, so an unchanged object costs nothing.
func (e *Engine) CompareLive(ctx context.Context, t Target, live *unstructured.Unstructured, hpa map[ObjectKey]bool) (*Finding, error) {
	c := *t.t
	c.live = live
	return e.compare(ctx, &c, hpa[t.Key()])
}

// HPATargets lists the objects live HorizontalPodAutoscalers scale, in the
// namespaces of targets.
func (e *Engine) HPATargets(ctx context.Context, targets []Target) map[ObjectKey]bool {
	ts := make([]*target, len(targets))
	for i, t := range targets {
		ts[i] = t.t
	}
	out := map[ObjectKey]bool{}
	ids := e.hpaTargets(ctx, ts)
	for _, t := range targets {
		if ids[t.t.id()] {
			out[t.Key()] = true
		}
	}
	return out
}

// SameDeclaration reports whether o declares the object exactly as t does.
func (t Target) SameDeclaration(o Target) bool {
	a, errA := t.t.hash()
	b, errB := o.t.hash()
	return errA == nil && errB == nil && a == b
}

// Compact returns the targets with their declarations held as JSON and
// hashed once: a tenth of the memory of the decoded objects, and no hashing
// per comparison. Long-running watchers keep compact targets.
//
// What it returns shares three allocations (the targets, the hashes, and
// one string holding every name, namespace and declaration) rather than
// three or four per target. A watcher keeps them for as long as it runs;
// allocated one by one among the garbage of decoding the sources, they
// would keep most of the heap's pages from being returned.
func Compact(ts []Target) ([]Target, error) {
	in := make([]*target, len(ts))
	for i, t := range ts {
		in[i] = t.t
	}
	c, err := compact(in)
	if err != nil {
		return nil, err
	}
	out := make([]Target, len(c))
	for i, t := range c {
		out[i] = Target{t: t}
	}
	return out, nil
}

// decoded is the declaration as it is sent to the server: cleaned from
// the decoded object, or decoded from a source's JSON.
func (t *target) decoded() (*unstructured.Unstructured, error) {
	if t.compact == nil {
		return cleanDesired(t.obj.Object, t.ns), nil
	}
	d, _, err := t.desired()
	return d, err
}

func compact(ts []*target) ([]*target, error) {
	docs := make([][]byte, len(ts))
	descs := make([]compactDesired, len(ts))
	size := 0
	for i, t := range ts {
		if c := t.compact; c != nil && c.source == nil {
			docs[i], descs[i].hash = []byte(c.json), c.hash
		} else {
			d, err := t.decoded()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.id(), err)
			}
			b, err := json.Marshal(d.Object)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", t.id(), err)
			}
			docs[i], descs[i].hash = b, sha256.Sum256(b)
		}
		size += len(t.name) + len(t.ns) + len(docs[i])
	}
	// Each target's name, namespace and JSON, one after the other: bounds
	// holds where each starts, and where its JSON ends.
	var text strings.Builder
	text.Grow(size) // exactly: no slack from doubling
	bounds := make([][4]int, len(ts))
	for i, t := range ts {
		bounds[i][0] = text.Len()
		text.WriteString(t.name)
		bounds[i][1] = text.Len()
		text.WriteString(t.ns)
		bounds[i][2] = text.Len()
		text.Write(docs[i])
		bounds[i][3] = text.Len()
	}
	all := text.String()
	structs := make([]target, len(ts))
	out := make([]*target, len(ts))
	for i, t := range ts {
		b := bounds[i]
		structs[i] = *t
		structs[i].obj.Object = nil
		structs[i].name, structs[i].ns = all[b[0]:b[1]], all[b[1]:b[2]]
		descs[i].json = all[b[2]:b[3]]
		structs[i].compact = &descs[i]
		out[i] = &structs[i]
	}
	return out, nil
}

// Cluster is the cluster the engine compares with.
func (e *Engine) Cluster() *cluster.Cluster { return e.cluster }

// Get reads the target's live object; nil when it does not exist.
func (e *Engine) Get(ctx context.Context, t Target) (*unstructured.Unstructured, error) {
	return e.get(ctx, t.t)
}

// DesiredOver returns the declaration as it is applied over live (nil
// when the object does not exist): Desired, with the values the chart
// generates anew on every render kept as they are live.
func (t Target) DesiredOver(live *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	d, _, err := t.t.desired()
	if err != nil {
		return nil, err
	}
	return withLiveGenerated(d, live, t.t.obj.Origin.Generated), nil
}
