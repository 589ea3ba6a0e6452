package drift

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Write is an update someone is making to a declared object, as an
// admission review shows it: the object before and after.
type Write struct {
	Old, New *unstructured.Unstructured
	// Manager is the field manager the request names (its fieldManager
	// option); "" when it names none.
	Manager string
}

// Override is what a write does to a declared object's declared fields.
type Override struct {
	// Paths are the declared fields the write changes away from their
	// declared values, in kubectl's notation, sorted.
	Paths []string
	// Writer is the field manager making the write: the request's, else
	// the one the new object's managedFields give the changed fields to.
	Writer string
	// Deployer is the manager that deployed the declaration (as a drift
	// finding's deployer): a write by it is the declared tool at work. It
	// is set when Paths are.
	Deployer string
}

// Overrides reports the declared fields of t that w moves away from the
// declaration: fields the write changes, adds or removes whose new value is
// not the declared one. A write that leaves declared fields alone, or puts
// a drifted one back, overrides nothing; quantities compare by amount; the
// engine's ignore rules (and the HPA rule for objects an autoscaler scales)
// drop paths as they drop drift. Nothing is read from the cluster but the
// schema the engine already holds.
func (e *Engine) Overrides(t Target, w Write, hpaScaled bool) (Override, error) {
	desired, _, err := t.t.desired()
	if err != nil {
		return Override{}, err
	}
	declared := desired.Object
	gk := t.t.mapping.GroupVersionKind.GroupKind()
	if isSecret(gk) {
		declared = secretForCompare(declared)
	}
	if untouched(declared, w.Old.Object, w.New.Object) {
		// Most writes leave every declared field as it was: no schema,
		// no conversion.
		return Override{Writer: w.Manager}, nil
	}
	tc, err := e.converter(t.t)
	if err != nil {
		return Override{}, err
	}
	dt, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: declared}, typed.AllowDuplicates)
	if err != nil {
		return Override{}, fmt.Errorf("desired object: %w", err)
	}
	ot, err := tc.ObjectToTyped(forCompare(w.Old), typed.AllowDuplicates)
	if err != nil {
		return Override{}, fmt.Errorf("old object: %w", err)
	}
	nt, err := tc.ObjectToTyped(forCompare(w.New), typed.AllowDuplicates)
	if err != nil {
		return Override{}, fmt.Errorf("new object: %w", err)
	}
	changed, err := ot.Compare(nt)
	if err != nil {
		return Override{}, err
	}
	away, err := dt.Compare(nt)
	if err != nil {
		return Override{}, err
	}
	touched := changed.Modified.Union(changed.Added).Union(changed.Removed)
	differs := away.Modified.Union(away.Removed)
	entries := decodeManagedFields(w.New.GetManagedFields())
	o := Override{Writer: w.Manager}

	rules := e.rules
	if hpaScaled {
		rules = e.hpaRules
	}
	var hit, gone []fieldpath.Path
	for _, p := range leaves(touched.Intersection(differs)) {
		dv, declaredHere := resolve(declared, p)
		if !declaredHere && !declares(declared, p) {
			continue
		}
		nv, present := resolve(w.New.Object, p)
		if present && (equivalentAt(dt, p, dv, nv) || (empty(dv) && empty(nv))) {
			continue
		}
		c := rawChange{path: p, owner: owner(entries, p)}
		if r := e.ignored(rules, gk, c, w.New.Object); r != nil {
			continue
		}
		if o.Writer == "" && c.owner != nil {
			o.Writer = c.owner.Manager
		}
		if present {
			hit = append(hit, p)
		} else {
			gone = append(gone, p)
		}
	}
	// A removed list element is one path, not one per field it held.
	hit = append(hit, topmostMissing(w.New.Object, gone)...)
	sortPaths(hit)
	for _, p := range hit {
		o.Paths = append(o.Paths, kubectlPath(p))
	}
	if len(o.Paths) > 0 {
		o.Deployer = chooseDeployer(decodeManagedFields(w.Old.GetManagedFields()), declared, w.Old.Object).Manager
	}
	return o, nil
}

// untouched reports whether old and new hold the same value wherever
// declared has a field (lists compare whole). False means only that the
// typed comparison has to look.
func untouched(declared, old, new any) bool {
	d, ok := declared.(map[string]any)
	if !ok {
		return reflect.DeepEqual(old, new)
	}
	o, oIsMap := old.(map[string]any)
	n, nIsMap := new.(map[string]any)
	if !oIsMap || !nIsMap {
		return reflect.DeepEqual(old, new)
	}
	for k, dv := range d {
		ov, inOld := o[k]
		nv, inNew := n[k]
		if inOld != inNew || inOld && !untouched(dv, ov, nv) {
			return false
		}
	}
	return true
}
