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

// DefaultOutOfBandManagers are the field managers whose fields count as
// out-of-band changes when the source does not declare them: kubectl's
// imperative commands (kubectl-edit, -patch, -set, -label, -annotate,
// -scale, -replace, …), and kubectl's applies when another tool deploys
// the object; k9s; and the Kubernetes Dashboard, whose edits are recorded
// under the browser's user agent, "Mozilla". Controllers are not listed:
// the fields they own (finalizers, injected CA bundles, allocated IPs) are
// how the cluster works, not drift. Patterns use path.Match syntax.
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

// chooseManager picks the field manager a dry-run applies as: the one that
// owns the declared fields, so that the dry-run sees what re-applying the
// source would do, including dropping fields the source no longer
// declares (only an Apply manager loses fields it stops sending).
//
// Candidates are the entries of the main resource (not status or scale).
// They are ranked by: not an out-of-band manager first, then the number of
// declared fields the entry owns, then Apply before Update, then the most
// recent. An entry that owns no declared field is never chosen; with no
// candidate the manager is DefaultManager.
func chooseManager(entries []managedEntry, desired map[string]any, outOfBand []string) managedEntry {
	type cand struct {
		e     managedEntry
		owned int
		oob   bool
	}
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
			cands = append(cands, cand{e: e, owned: n, oob: matchesAny(e.Manager, outOfBand)})
		}
	}
	if len(cands) == 0 {
		return managedEntry{Manager: DefaultManager, Operation: metav1.ManagedFieldsOperationApply}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.oob != b.oob {
			return !a.oob
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
