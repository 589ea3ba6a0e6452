package drift

import (
	"path"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// DefaultManager is the field manager plumb applies as when no live manager
// owns any declared field (an object created by a controller, say).
const DefaultManager = "plumb"

// DefaultOutOfBandManagers are the field managers that update objects on a
// person's behalf, whose fields count as out-of-band changes when the
// source does not declare them: kubectl's imperative commands
// (kubectl-edit, -patch, -set, -label, -annotate, -replace, kubectl scale,
// …) and kubectl's applies when they are not the deployer; k9s; and the
// Kubernetes Dashboard, whose edits are recorded under the browser's user
// agent, "Mozilla". Any manager that applies (server-side apply) is out of
// band as well when it is not the deployer. Controllers are not listed:
// the fields they own (finalizers, injected CA bundles, allocated IPs) are
// how the cluster works, not drift. The names decide only which fields
// count as added, never who the deployer is (chooseDeployer). Patterns
// use path.Match syntax.
var DefaultOutOfBandManagers = []string{"kubectl*", "k9s", "Mozilla"}

// managedEntry is one decoded managedFields entry.
type managedEntry struct {
	Manager     string
	Operation   metav1.ManagedFieldsOperationType
	Subresource string
	Time        *time.Time
	Set         *fieldpath.Set
}

func decodeManagedFields(mf []metav1.ManagedFieldsEntry) []managedEntry {
	out := make([]managedEntry, 0, len(mf))
	for _, e := range mf {
		if e.FieldsV1 == nil {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			continue
		}
		me := managedEntry{Manager: e.Manager, Operation: e.Operation, Subresource: e.Subresource, Set: s}
		if e.Time != nil {
			t := e.Time.Time.UTC()
			me.Time = &t
		}
		out = append(out, me)
	}
	return out
}

// matchesAny reports whether name matches one of the path.Match patterns.
func matchesAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// chooseDeployer picks the field manager that deployed the object, from
// what each manager applied and never from its name: kubectl, kubectl's
// client-side apply, Helm, a GitOps controller and plumb itself are all
// deployers when they wrote the declaration, and any of them can also
// make an out-of-band edit. A dry-run applies as the deployer, so that it
// sees what re-applying the source would do, including dropping fields
// the source no longer declares (only an Apply manager loses fields it
// stops sending).
//
// Candidates are the entries of the main resource (not status or scale)
// that own at least one declared field. They are ranked by:
//
//  1. owning kubectl's last-applied-configuration annotation, when the
//     object has one: client-side apply records there what it applied,
//     which is the declaration (kubectl apply, kubectl create
//     --save-config, Argo CD);
//  2. the number of declared fields the entry owns: whoever applied the
//     declaration owns most of it, while an edit owns the few fields it
//     changed (kubectl set image --field-manager=image-updater);
//  3. Apply before Update, then the most recent.
//
// With no candidate (a controller made the object, or every owner was
// removed) the deployer is DefaultManager.
func chooseDeployer(entries []managedEntry, desired map[string]any, live map[string]any) managedEntry {
	type cand struct {
		e           managedEntry
		owned       int
		lastApplied bool
	}
	_, hasLastApplied := resolve(live, lastAppliedPath)
	var cands []cand
	for _, e := range entries {
		if e.Subresource != "" {
			continue
		}
		n := 0
		for _, p := range leaves(e.Set) {
			if declares(desired, p) {
				n++
			}
		}
		if n > 0 {
			cands = append(cands, cand{e: e, owned: n, lastApplied: hasLastApplied && owns(e.Set, lastAppliedPath)})
		}
	}
	if len(cands) == 0 {
		return managedEntry{Manager: DefaultManager, Operation: metav1.ManagedFieldsOperationApply}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.lastApplied != b.lastApplied {
			return a.lastApplied
		}
		if a.owned != b.owned {
			return a.owned > b.owned
		}
		if a.e.Operation != b.e.Operation {
			return a.e.Operation == metav1.ManagedFieldsOperationApply
		}
		return later(a.e.Time, b.e.Time)
	})
	return cands[0].e
}

// lastAppliedPath is kubectl's last-applied-configuration annotation.
var lastAppliedPath = fieldpath.MakePathOrDie("metadata", "annotations", lastApplied)

// outOfBand reports whether entry e's undeclared fields are changes made
// beside the deployer's: e is not the deployer's own main-resource entry
// (a fix put back as the same manager adds an Apply entry beside its
// Update), not a status writer, and it is a person's tool (a manager
// matching patterns, such as kubectl-edit, kubectl-patch or kubectl scale
// through the scale subresource) or an Apply: someone applied a
// configuration that sets the field. Controllers that update objects
// (finalizers, injected CA bundles, a replica count through scale) are
// how the cluster works, not drift.
func outOfBand(e managedEntry, deployer managedEntry, patterns []string) bool {
	if e.Subresource == "status" || (e.Manager == deployer.Manager && e.Subresource == "") {
		return false
	}
	return e.Operation == metav1.ManagedFieldsOperationApply || matchesAny(e.Manager, patterns)
}

func later(a, b *time.Time) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return a.After(*b)
}

// owner returns the entry that owns p live: one whose set holds p, or an
// ancestor of p as a leaf (an atomic map or list owned whole), or a field
// below p. Several owners share a field when they set the same value; the
// most recent one is named. Status entries never own spec fields and are
// skipped unless p is under .status.
func owner(entries []managedEntry, p fieldpath.Path) *managedEntry {
	var best *managedEntry
	for i := range entries {
		e := &entries[i]
		if !owns(e.Set, p) {
			continue
		}
		if best == nil || later(e.Time, best.Time) {
			best = e
		}
	}
	return best
}

func owns(s *fieldpath.Set, p fieldpath.Path) bool {
	node := s
	for _, pe := range p {
		child, hasChild := node.Children.Get(pe)
		if !hasChild {
			// A leaf member here is owned whole (an atomic map or list),
			// and everything below it with it.
			return node.Members.Has(pe)
		}
		node = child
	}
	return true
}
