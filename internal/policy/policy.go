package policy

import (
	"context"
	"slices"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/source"
)

// Operation is what a change does to an object, named as admission names it.
type Operation string

const (
	OperationCreate Operation = "CREATE"
	OperationUpdate Operation = "UPDATE"
	OperationDelete Operation = "DELETE"
)

// Severity says whether a violation stops the change.
type Severity string

const (
	// SeverityDeny fails plumb check (exit 1) and is refused at admission.
	SeverityDeny Severity = "deny"
	// SeverityWarn is reported and lets the change through.
	SeverityWarn Severity = "warn"
)

// Change is one object's change: Old is nil for a create, New for a delete.
type Change struct {
	Operation Operation
	Old, New  *unstructured.Unstructured
	// Source is where the object is declared: in the new version for a
	// create or an update, in the previous one for a delete; nil when
	// unknown (an admission request).
	Source *source.Origin
}

// Object is the object the change is about: New, or Old for a delete.
func (c Change) Object() *unstructured.Unstructured {
	if c.New != nil {
		return c.New
	}
	return c.Old
}

// Violation is one rule that fired on one change.
type Violation struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace,omitempty"`
	Name      string   `json:"name"`
	Message   string   `json:"message"`
	// Affected counts the objects the change takes with it (a deleted
	// Namespace's objects, a deleted CRD's custom resources); 0 where
	// nothing else goes, or where nothing could count them.
	Affected int `json:"affected"`
	// Source is the file and line that declare the object, as the scan
	// report's findings carry them; absent when unknown.
	Source *source.Origin `json:"source,omitempty"`
}

// Counter counts the objects a deletion takes along. Offline, it counts
// what the previous version of the source declared; against a cluster,
// what is live.
type Counter interface {
	// InNamespace counts the objects in namespace ns.
	InNamespace(ctx context.Context, ns string) (int, error)
	// CustomResources counts the custom resources of the CRD crd.
	CustomResources(ctx context.Context, crd *unstructured.Unstructured) (int, error)
}

// Rule is one guardrail.
type Rule struct {
	// Name turns the rule off (Options.Disabled) and names it in reports.
	Name     string
	Severity Severity
	// Description says in a line what the rule refuses, for the formats
	// that describe their rules (SARIF).
	Description string
	// Check returns a message per problem it finds in c; none when c is
	// fine.
	Check func(c Change) []string
	// Affected, if set, counts what a change the rule fired on takes along.
	Affected func(ctx context.Context, c Change, n Counter) (int, error)
}

// Options choose the rules.
type Options struct {
	// Disabled names built-in rules to turn off. Default none.
	Disabled []string
	// Counter counts what deletions take along. Default: nothing counted.
	Counter Counter
}

// Evaluate runs every enabled rule over changes and returns the violations,
// denials first, then by object. A count that fails is reported as 0
// affected, never as an error that hides the violation.
func Evaluate(ctx context.Context, changes []Change, rules []Rule, opts Options) []Violation {
	out := []Violation{}
	for _, r := range rules {
		if slices.Contains(opts.Disabled, r.Name) {
			continue
		}
		for _, c := range changes {
			for _, msg := range r.Check(c) {
				o := c.Object()
				v := Violation{Rule: r.Name, Severity: r.Severity, Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName(), Message: msg, Source: c.Source}
				if r.Affected != nil && opts.Counter != nil {
					if n, err := r.Affected(ctx, c, opts.Counter); err == nil {
						v.Affected = n
					}
				}
				out = append(out, v)
			}
		}
	}
	Sort(out)
	return out
}

// Sort orders violations as Evaluate returns them: denials first, then by
// object, each rule's in the order the rules ran.
func Sort(out []Violation) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity == SeverityDeny
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// Denied reports whether any violation denies.
func Denied(vs []Violation) bool {
	return slices.ContainsFunc(vs, func(v Violation) bool { return v.Severity == SeverityDeny })
}
