package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"plumb.dev/plumb/internal/cluster"
)

// rawChange is a change before ignore rules and redaction.
type rawChange struct {
	path    fieldpath.Path
	typ     ChangeType
	desired any
	live    any
	owner   *managedEntry
	// quantity is set when the field holds a resource quantity.
	quantity bool
	// toDefault: the source leaves the field out and desired is the
	// server's default, which putting the object back restores.
	toDefault bool
}

// maxAttempts bounds how often an object that keeps changing under the
// comparison is read again.
const maxAttempts = 3

// compareFresh compares one object without the cache. It returns the live
// object it compared against, which is newer than the listed one when the
// object changed meanwhile, and nil when it was deleted meanwhile.
func (e *Engine) compareFresh(ctx context.Context, t *target, desired, live *unstructured.Unstructured) (comparison, *unstructured.Unstructured, error) {
	for range maxAttempts {
		cmp, err := e.compareAt(ctx, t, desired, live)
		if !errors.Is(err, errConflict) {
			return cmp, live, err
		}
		if live, err = e.get(ctx, t); err != nil || live == nil {
			return comparison{}, nil, err
		}
	}
	return comparison{}, nil, fmt.Errorf("the object changed %d times while it was compared; try again", maxAttempts)
}

func (e *Engine) compareAt(ctx context.Context, t *target, desired, live *unstructured.Unstructured) (comparison, error) {
	entries := decodeManagedFields(live.GetManagedFields())
	desired = withoutHelmOwnership(desired, live)
	desired = withLiveGenerated(desired, live, t.obj.Origin.Generated)
	var byHash []rawChange
	if isSecret(t.mapping.GroupVersionKind.GroupKind()) {
		var err error
		if desired, byHash, err = valuelessSecret(e.opts.SecretHashKey, desired, live); err != nil {
			return comparison{}, err
		}
		for i := range byHash {
			byHash[i].owner = owner(entries, byHash[i].path)
		}
	}
	d := desired.Object
	declared := d // what counts as declared when reading ownership
	if isSecret(t.mapping.GroupVersionKind.GroupKind()) {
		declared = secretDeclarations(d)
	}
	deployer := chooseDeployer(entries, declared, live.Object)
	cmp := comparison{deployer: deployer.Manager}

	var changes []rawChange
	ignorable := func(p fieldpath.Path) bool {
		return e.ignored(e.rules, t.mapping.GroupVersionKind.GroupKind(), rawChange{path: p}, live.Object) != nil
	}
	if !locallyInSync(d, live.Object, deployer, isSecret(t.mapping.GroupVersionKind.GroupKind()), ignorable) {
		r, err := e.dryRun(ctx, t, desired, deployer.Manager, live.GetResourceVersion())
		var invalid *dryRunInvalid
		switch {
		case errors.Is(err, errDryRunForbidden):
			e.opts.Logger.Debug("dry-run forbidden; comparing locally", "object", t.id())
			cmp.unconfirmed = true
			if changes, err = e.localDiff(t, d, live, entries); err != nil {
				return cmp, err
			}
		case errors.As(err, &invalid):
			// The server refuses the declaration merged into the live
			// object: a hand edit made the two incompatible (a Service
			// port renumbered 80 → 8080 leaves two ports named http). The
			// drift is real all the same; it is found locally, and an
			// apply cannot put it back.
			e.opts.Logger.Debug("dry-run refused; comparing locally", "object", t.id(), "err", err)
			cmp.unconfirmed, cmp.replace = true, invalid.message
			// The declaration alone is usually valid: as the server
			// stores it (zero values dropped, defaults such as a
			// fieldRef's apiVersion set), it compares with the live
			// object without noise.
			base := d
			def, derr := e.serverDefaults(ctx, t, desired, live.GetResourceVersion())
			switch {
			case errors.Is(derr, errConflict):
				return cmp, derr
			case derr == nil:
				base = asStored(def.Object, d)
			}
			if changes, err = e.localDiff(t, base, live, entries); err != nil {
				return cmp, err
			}
		case err != nil:
			return cmp, err
		default:
			cmp.dryRun, cmp.desired = true, r
			if changes, err = e.typedDiff(t, d, r, live, entries); err != nil {
				return cmp, err
			}
		}
	}
	if updates(entries, deployer.Manager) {
		dropped, err := e.droppedSinceLastApply(t, d, live, entries, changes)
		if err != nil {
			return cmp, err
		}
		changes = append(changes, dropped...)
	}
	added := addedOutOfBand(entries, declared, live.Object, deployer, e.opts.OutOfBandManagers, changes)
	added = append(added, untrackedReplicas(t.mapping.GroupVersionKind.GroupKind(), entries, declared, live.Object)...)
	if len(added) > 0 {
		var err error
		if added, err = e.againstDefaults(ctx, t, desired, live, added); err != nil {
			return cmp, err
		}
	}
	changes = append(changes, added...)
	changes = append(changes, byHash...)
	sortChanges(changes)
	cmp.changes = changes
	return cmp, nil
}

// againstDefaults sorts fields that out-of-band managers wrote and the
// source leaves out by what the server would set them to if the source
// were applied alone: a field holding its default was written explicitly
// with the value it has anyway (another manager's apply of
// progressDeadlineSeconds: 600), which is not drift; a field the server
// defaults to another value was changed from its default (kubectl scale of
// a Deployment whose manifest has no replicas), which is a modified field
// whose desired value is the default; a field the server would not set at
// all was added. When the server cannot say (the identity may not update,
// or the declaration alone is invalid), every field is kept as added.
func (e *Engine) againstDefaults(ctx context.Context, t *target, desired, live *unstructured.Unstructured, added []rawChange) ([]rawChange, error) {
	if onlyMetadata(added) {
		return added, nil // no server default sets a label or an annotation
	}
	def, err := e.serverDefaults(ctx, t, desired, live.GetResourceVersion())
	if errors.Is(err, errConflict) {
		return nil, err
	}
	if err != nil {
		e.opts.Logger.Debug("server defaults unknown; fields other managers added are kept", "object", t.id(), "err", err)
		return added, nil
	}
	var out []rawChange
	for _, c := range added {
		dv, ok := resolve(def.Object, c.path)
		switch {
		case !ok:
			out = append(out, c)
		case equalJSON(dv, c.live) || EqualQuantities(dv, c.live):
			e.opts.Logger.Debug("a field written with its default value", "object", t.id(), "path", kubectlPath(c.path))
		default:
			c.typ, c.desired, c.toDefault = ChangeModified, dv, true
			out = append(out, c)
		}
	}
	return out, nil
}

// asStored returns the declared fields of declared with the values the
// server stored for them in stored (the declaration alone, dry-run): maps
// are followed key by key, anything else is the server's value whole, and
// a declared key the server did not keep (a zero value it drops) is left
// out.
func asStored(stored, declared map[string]any) map[string]any {
	out := make(map[string]any, len(declared))
	for k, dv := range declared {
		sv, ok := stored[k]
		if !ok {
			continue
		}
		dm, dIsMap := dv.(map[string]any)
		sm, sIsMap := sv.(map[string]any)
		if dIsMap && sIsMap {
			out[k] = asStored(sm, dm)
			continue
		}
		out[k] = sv
	}
	return out
}

// onlyMetadata reports whether every change is a label or an annotation.
func onlyMetadata(cs []rawChange) bool {
	for _, c := range cs {
		if len(c.path) < 2 || c.path[0].FieldName == nil || *c.path[0].FieldName != "metadata" ||
			c.path[1].FieldName == nil || (*c.path[1].FieldName != "labels" && *c.path[1].FieldName != "annotations") {
			return false
		}
	}
	return true
}

// helmReleaseName is the annotation helm install and upgrade write on
// every object of a release; a chart source declares it with the others
// of helmOwnership.
const helmReleaseName = "meta.helm.sh/release-name"

// helmOwnership is the metadata Helm adds to a release's objects when it
// installs them, which a chart source declares so that a Helm-installed
// release is in sync.
var helmOwnership = []fieldpath.Path{
	fieldpath.MakePathOrDie("metadata", "annotations", helmReleaseName),
	fieldpath.MakePathOrDie("metadata", "annotations", "meta.helm.sh/release-namespace"),
	fieldpath.MakePathOrDie("metadata", "labels", "app.kubernetes.io/managed-by"),
}

// withoutHelmOwnership returns desired without Helm's release metadata
// when the live object shows that Helm did not install it (it has no
// release-name annotation): a chart rendered and applied by other means
// (helm template | kubectl apply, a GitOps controller that renders charts
// itself) never has them, and that is not drift. Keys the live object
// does have are still compared. desired is not modified.
func withoutHelmOwnership(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	if _, installed := resolve(live.Object, helmOwnership[0]); installed {
		return desired
	}
	var drop []fieldpath.Path
	for _, p := range helmOwnership {
		_, declared := resolve(desired.Object, p)
		_, present := resolve(live.Object, p)
		if declared && !present {
			drop = append(drop, p)
		}
	}
	if len(drop) == 0 {
		return desired
	}
	d := desired.DeepCopy()
	for _, p := range drop {
		removeAt(d.Object, p)
	}
	for _, f := range []string{"annotations", "labels"} {
		if m, ok, _ := unstructured.NestedMap(d.Object, "metadata", f); ok && len(m) == 0 {
			unstructured.RemoveNestedField(d.Object, "metadata", f)
		}
	}
	return d
}

// withLiveGenerated returns desired with the fields its chart generates
// anew on every render (source.Origin.Generated: a random password, a
// certificate) set to their live values where the live object has them:
// such a field is compared by presence only, and a plan never replaces
// the value the chart generated when it was installed. A generated field
// the live object lacks keeps the rendered value and shows as removed.
// desired is not modified.
func withLiveGenerated(desired, live *unstructured.Unstructured, generated []string) *unstructured.Unstructured {
	if len(generated) == 0 || live == nil {
		return desired
	}
	d := desired.DeepCopy()
	for _, p := range generated {
		if lv, ok := ValueAt(live.Object, p); ok {
			PutValue(d.Object, p, lv)
		}
	}
	return d
}

// updates reports whether manager writes the object with Update, as
// kubectl's client-side apply does; its last-applied record then says which
// fields the source dropped.
func updates(entries []managedEntry, manager string) bool {
	for _, e := range entries {
		if e.Manager == manager && e.Subresource == "" && e.Operation == metav1.ManagedFieldsOperationUpdate {
			return true
		}
	}
	return false
}

// locallyInSync is the cheap check: every declared field has its declared
// value live, and the deploying manager, if it applies, owns no field the
// source stopped declaring (apart from fields the ignore rules drop
// anyway, such as a GitOps controller's tracking annotation). True means a
// dry-run cannot find a change.
func locallyInSync(desired, live map[string]any, deployer managedEntry, secret bool, ignorable func(fieldpath.Path) bool) bool {
	stored := desired
	if secret {
		stored = secretForCompare(desired)
	}
	if !contains(stored, live) {
		return false
	}
	if deployer.Operation != metav1.ManagedFieldsOperationApply || deployer.Set == nil {
		return true
	}
	for _, p := range leaves(deployer.Set) {
		if !declares(desired, p) && !ignorable(p) {
			return false
		}
	}
	return true
}

// typedDiff compares the dry-run result r with live as structured-merge-diff
// typed values, so lists are matched by their keys as the server does.
func (e *Engine) typedDiff(t *target, desired map[string]any, r, live *unstructured.Unstructured, entries []managedEntry) ([]rawChange, error) {
	tc, err := e.converter(t)
	if err != nil {
		return nil, err
	}
	rt, err := tc.ObjectToTyped(forCompare(r), typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("dry-run result: %w", err)
	}
	lt, err := tc.ObjectToTyped(forCompare(live), typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("live object: %w", err)
	}
	c, err := rt.Compare(lt)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}

	var out []rawChange
	for _, p := range leaves(c.Modified) {
		rv, _ := resolve(r.Object, p)
		lv, _ := resolve(live.Object, p)
		if equivalentAt(rt, p, rv, lv) {
			// The same quantity spelt another way (1Gi, 1073741824): not
			// drift, and the desired view shows the live spelling so that
			// a diff of the two has no line for it.
			setAt(r.Object, p, lv)
			continue
		}
		dv, ok := resolve(desired, p)
		if !ok {
			dv = rv
		}
		out = append(out, rawChange{path: p, typ: ChangeModified, desired: dv, live: lv, owner: owner(entries, p), quantity: quantityAt(rt, p)})
	}
	for _, p := range topmostMissing(live.Object, leaves(c.Removed)) {
		dv, ok := resolve(desired, p)
		if !ok {
			dv, _ = resolve(r.Object, p)
		}
		// Nobody owns a field that is gone, and managedFields keep no record
		// of who removed it (kubectl annotate key- leaves no entry), so a
		// removed field is not attributed rather than attributed wrongly.
		out = append(out, rawChange{path: p, typ: ChangeRemoved, desired: dv})
	}
	for _, p := range topmostMissing(r.Object, leaves(c.Added)) {
		lv, _ := resolve(live.Object, p)
		out = append(out, rawChange{path: p, typ: ChangeAdded, live: lv, owner: owner(entries, p)})
	}
	return out, nil
}

// localDiff compares the declared object with the live one without the
// server, for identities that may not dry-run: declared fields whose live
// value differs (resource quantities compared as quantities) are modified,
// declared fields the live object lacks are removed. Fields the server
// would default are absent from the declaration and so never compared; what
// this cannot see is a mutating webhook's or a dropped field's effect,
// which is why such findings are marked unconfirmed.
func (e *Engine) localDiff(t *target, desired map[string]any, live *unstructured.Unstructured, entries []managedEntry) ([]rawChange, error) {
	tc, err := e.converter(t)
	if err != nil {
		return nil, err
	}
	if isSecret(t.mapping.GroupVersionKind.GroupKind()) {
		desired = secretForCompare(desired) // the server stores stringData as data
	}
	dt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: desired}, typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("desired object: %w", err)
	}
	lt, err := tc.ObjectToTyped(forCompare(live), typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("live object: %w", err)
	}
	c, err := dt.Compare(lt)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	var out []rawChange
	for _, p := range leaves(c.Modified) {
		dv, _ := resolve(desired, p)
		lv, _ := resolve(live.Object, p)
		if empty(dv) && empty(lv) {
			continue // [] declared, null stored (a Role's rules): the same to the server
		}
		if equivalentAt(dt, p, dv, lv) {
			continue // the same quantities spelt another way
		}
		out = append(out, rawChange{path: p, typ: ChangeModified, desired: dv, live: lv, owner: owner(entries, p), quantity: quantityAt(dt, p)})
	}
	for _, p := range topmostMissing(live.Object, leaves(c.Removed)) {
		dv, _ := resolve(desired, p)
		if empty(dv) {
			continue // an empty map or list declares nothing
		}
		out = append(out, rawChange{path: p, typ: ChangeRemoved, desired: dv})
	}
	return out, nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case nil:
		return true
	}
	return false
}

// converter returns the typed converter for t's group-version, or a
// schema-less one (lists compare as atomic) when the server publishes none.
func (e *Engine) converter(t *target) (managedfields.TypeConverter, error) {
	gv := t.mapping.GroupVersionKind.GroupVersion()
	tc, err := e.cluster.TypeConverter(gv)
	if errors.Is(err, cluster.ErrNoSchema) {
		e.opts.Logger.Debug("no OpenAPI schema: lists compare as atomic", "groupVersion", gv)
		return managedfields.NewDeducedTypeConverter(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("schema for %s: %w", gv, err)
	}
	return tc, nil
}

// droppedSinceLastApply finds fields that an earlier version of the source
// declared and this one does not, on an object deployed with kubectl's
// client-side apply: kubectl records what it applied in the
// last-applied-configuration annotation and deletes such fields on the
// next apply. (Server-side apply needs no record: the dry-run as the Apply
// manager drops them.) They are reported as added: live, not declared.
func (e *Engine) droppedSinceLastApply(t *target, desired map[string]any, live *unstructured.Unstructured, entries []managedEntry, have []rawChange) ([]rawChange, error) {
	raw := live.GetAnnotations()[lastApplied]
	if raw == "" {
		return nil, nil
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(raw), &last); err != nil {
		e.opts.Logger.Debug("unreadable last-applied-configuration", "object", t.id(), "err", err)
		return nil, nil
	}
	// kubectl records an empty annotations map; empty maps declare nothing.
	last = pruneEmpty(last)
	if contains(last, desired) {
		return nil, nil // everything applied last time is still declared
	}
	tc, err := e.converter(t)
	if err != nil {
		return nil, err
	}
	lt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: last}, typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("last-applied-configuration: %w", err)
	}
	dt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: desired}, typed.AllowDuplicates)
	if err != nil {
		return nil, fmt.Errorf("desired object: %w", err)
	}
	ls, err := lt.ToFieldSet()
	if err != nil {
		return nil, err
	}
	ds, err := dt.ToFieldSet()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range have {
		seen[c.path.String()] = true
	}
	var out []rawChange
	for _, p := range topmostMissing(desired, leaves(ls.Difference(ds))) {
		lv, ok := resolve(live.Object, p)
		if !ok || seen[p.String()] || coveredBy(p, seen) {
			continue
		}
		seen[p.String()] = true
		out = append(out, rawChange{path: p, typ: ChangeAdded, live: lv, owner: owner(entries, p)})
	}
	return out, nil
}

// pruneEmpty returns m without empty maps, recursively.
func pruneEmpty(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			sub = pruneEmpty(sub)
			if len(sub) == 0 {
				continue
			}
			v = sub
		}
		out[k] = v
	}
	return out
}

// forCompare strips what differs between a dry-run result and the live
// object for reasons other than drift: bookkeeping and status.
func forCompare(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "creationTimestamp", "uid", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	delete(c.Object, "status")
	return c
}

// addedOutOfBand reports fields that out-of-band managers own (see
// outOfBand) and the source does not declare: an env var added with
// kubectl patch, a label added with kubectl label, a container added with
// kubectl edit, replicas set with kubectl scale. againstDefaults then
// drops those that hold the server's default.
func addedOutOfBand(entries []managedEntry, desired, live map[string]any, deployer managedEntry, patterns []string, have []rawChange) []rawChange {
	seen := map[string]bool{}
	for _, c := range have {
		seen[c.path.String()] = true
	}
	var out []rawChange
	for i := range entries {
		e := &entries[i]
		if !outOfBand(*e, deployer, patterns) {
			continue
		}
		var undeclared []fieldpath.Path
		for _, p := range leaves(e.Set) {
			if !declares(desired, p) {
				undeclared = append(undeclared, p)
			}
		}
		for _, p := range topmostMissing(desired, undeclared) {
			if seen[p.String()] || coveredBy(p, seen) {
				continue
			}
			lv, ok := resolve(live, p)
			if !ok {
				continue
			}
			seen[p.String()] = true
			out = append(out, rawChange{path: p, typ: ChangeAdded, live: lv, owner: owner(entries, p)})
		}
	}
	return out
}

// replicasPath is where workloads, and most custom resources with a scale
// subresource, keep their replica count.
var replicasPath = fieldpath.MakePathOrDie("spec", "replicas")

// untrackedReplicas reports .spec.replicas when the source leaves it out
// and no managedFields entry owns it: a write through the scale
// subresource records no owner when nobody owned the field before
// (kubectl scale of a Deployment applied server-side without replicas), so
// only its value can tell. againstDefaults then keeps it only if it is not
// the default. Built-in workloads default replicas to 1, so a count of 1
// costs no request there.
func untrackedReplicas(gk schema.GroupKind, entries []managedEntry, declared, live map[string]any) []rawChange {
	v, ok := resolve(live, replicasPath)
	if !ok || declares(declared, replicasPath) {
		return nil
	}
	for i := range entries {
		if owns(entries[i].Set, replicasPath) {
			return nil
		}
	}
	if n, isNum := number(v); isNum && n == 1 && (gk.Group == "apps" || gk == (schema.GroupKind{Kind: "ReplicationController"})) {
		return nil
	}
	return []rawChange{{path: replicasPath, typ: ChangeAdded, live: v}}
}

// coveredBy reports whether an ancestor of p is already reported.
func coveredBy(p fieldpath.Path, seen map[string]bool) bool {
	for i := 1; i < len(p); i++ {
		if seen[p[:i].String()] {
			return true
		}
	}
	return false
}

func sortChanges(cs []rawChange) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].path.Compare(cs[j-1].path) < 0; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// public turns a raw change into a reported one. For a Secret every value
// under data or stringData, and kubectl's last-applied annotation (which
// holds them too), is replaced by Redacted.
func (c rawChange) public(secret bool) Change {
	out := Change{Path: kubectlPath(c.path), Type: c.typ, Desired: c.desired, Live: c.live, Quantity: c.quantity, Default: c.toDefault}
	if secret && secretValuePath(c.path) {
		if out.Desired != nil {
			out.Desired = Redacted
		}
		if out.Live != nil {
			out.Live = Redacted
		}
	}
	if c.owner != nil {
		out.Manager, out.Operation, out.Subresource, out.Time = c.owner.Manager, string(c.owner.Operation), c.owner.Subresource, c.owner.Time
	}
	return out
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func secretValuePath(p fieldpath.Path) bool {
	if len(p) == 0 || p[0].FieldName == nil {
		return false
	}
	switch top := *p[0].FieldName; top {
	case "data", "stringData":
		return true
	case "metadata":
		return len(p) >= 2 && p[1].FieldName != nil && *p[1].FieldName == "annotations" &&
			(len(p) == 2 || p[2].FieldName != nil && *p[2].FieldName == lastApplied)
	}
	return false
}

// viewObject copies u for display: managedFields removed, and the added
// changes taken out (for the desired view: putting the object back removes
// them).
func viewObject(u *unstructured.Unstructured, secret bool, changes []rawChange) *unstructured.Unstructured {
	v := u.DeepCopy()
	unstructured.RemoveNestedField(v.Object, "metadata", "managedFields")
	for _, c := range changes {
		if c.typ == ChangeAdded {
			removeAt(v.Object, c.path)
		}
	}
	if secret {
		if a := v.GetAnnotations(); a[lastApplied] != "" {
			a[lastApplied] = Redacted
			v.SetAnnotations(a)
		}
	}
	return v
}

// removeAt deletes the field or list element at p, if present.
func removeAt(obj map[string]any, p fieldpath.Path) {
	if len(p) == 0 {
		return
	}
	parent, ok := resolve(obj, p[:len(p)-1])
	if !ok {
		return
	}
	last := p[len(p)-1]
	if last.FieldName != nil {
		if m, ok := parent.(map[string]any); ok {
			delete(m, *last.FieldName)
		}
		return
	}
	list, ok := parent.([]any)
	if !ok {
		return
	}
	el, ok := step(list, last)
	if !ok {
		return
	}
	kept := list[:0:0]
	for _, x := range list {
		if !equalJSON(x, el) {
			kept = append(kept, x)
		}
	}
	// Write the shorter list back into the grandparent.
	if gp, ok := resolve(obj, p[:len(p)-2]); ok && len(p) >= 2 && p[len(p)-2].FieldName != nil {
		if m, ok := gp.(map[string]any); ok {
			m[*p[len(p)-2].FieldName] = kept
		}
	}
}

// maskSecretPair replaces a Secret's values in both views: "(redacted)"
// where they are equal, "(redacted: live)" and "(redacted: desired)" where
// they differ, so a diff shows which keys changed and never what they hold.
func maskSecretPair(desired, live *unstructured.Unstructured) {
	for _, field := range []string{"data", "stringData"} {
		dm, _, _ := unstructured.NestedMap(desired.Object, field)
		lm, _, _ := unstructured.NestedMap(live.Object, field)
		mask := func(own, other map[string]any, side string) map[string]any {
			out := map[string]any{}
			for k, v := range own {
				if ov, ok := other[k]; ok && equalJSON(ov, v) {
					out[k] = Redacted
				} else {
					out[k] = "(redacted: " + side + ")"
				}
			}
			return out
		}
		if dm != nil {
			_ = unstructured.SetNestedMap(desired.Object, mask(dm, lm, "desired"), field)
		}
		if lm != nil {
			_ = unstructured.SetNestedMap(live.Object, mask(lm, dm, "live"), field)
		}
	}
}

// MaskSecret returns a copy of u that is safe to print or store: when u is
// a Secret, every value of data and stringData, and kubectl's
// last-applied record, are replaced by Redacted. Other objects are copied
// as they are.
func MaskSecret(u *unstructured.Unstructured) *unstructured.Unstructured {
	v := u.DeepCopy()
	if !isSecret(v.GroupVersionKind().GroupKind()) {
		return v
	}
	for _, field := range []string{"data", "stringData"} {
		if m, ok, _ := unstructured.NestedMap(v.Object, field); ok {
			for k := range m {
				m[k] = Redacted
			}
			_ = unstructured.SetNestedMap(v.Object, m, field)
		}
	}
	if a := v.GetAnnotations(); a[lastApplied] != "" {
		a[lastApplied] = Redacted
		v.SetAnnotations(a)
	}
	return v
}

// IsSecret reports whether u is a core Secret, whose values plumb never
// prints or stores.
func IsSecret(u *unstructured.Unstructured) bool {
	return isSecret(u.GroupVersionKind().GroupKind())
}
