package drift

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/source"
)

// State is what is wrong with one object.
type State string

const (
	// StateDrifted: the object exists but differs from what is declared.
	StateDrifted State = "drifted"
	// StateMissing: the object is declared but absent.
	StateMissing State = "missing"
	// StateUnmanaged: the object is live but no source declares it.
	StateUnmanaged State = "unmanaged"
)

// ChangeType says how one field of a drifted object differs.
type ChangeType string

const (
	// ChangeModified: a declared field has another value.
	ChangeModified ChangeType = "modified"
	// ChangeAdded: the live object has a field the source does not declare,
	// set by an out-of-band manager or left over from an earlier version of
	// the source.
	ChangeAdded ChangeType = "added"
	// ChangeRemoved: a declared field is gone from the live object.
	ChangeRemoved ChangeType = "removed"
)

// Redacted replaces every value of a Secret in changes and diffs.
const Redacted = "(redacted)"

// Change is one field that differs, with who last touched it.
type Change struct {
	// Path is the field in kubectl's notation,
	// e.g. .spec.template.spec.containers[name="web"].image.
	Path string     `json:"path"`
	Type ChangeType `json:"type"`
	// Desired is the declared value; absent for added fields.
	Desired any `json:"desired,omitempty"`
	// Live is the value in the cluster; absent for removed fields.
	Live any `json:"live,omitempty"`
	// Manager, Operation, Subresource and Time come from the managedFields
	// entry that owns the field live. A removed field has none: nobody owns
	// it any more and managedFields do not record who removed it. Time is
	// absent when the entry has none (seen for a kubectl scale through the
	// scale subresource).
	Manager     string     `json:"manager,omitempty"`
	Operation   string     `json:"operation,omitempty"`
	Subresource string     `json:"subresource,omitempty"`
	Time        *time.Time `json:"time,omitempty"`
	// User is the person whose request made the change, from the API
	// server's audit log where plumb serve receives it (--audit-listen);
	// absent otherwise.
	User *User `json:"user,omitempty"`
	// Default is set on a modified field that the source leaves out: its
	// Desired value is what the server defaults it to, and putting the
	// object back restores that value (kubectl scale of a Deployment whose
	// manifest has no replicas).
	Default bool `json:"default,omitempty"`
	// Quantity is set when the field holds a resource quantity, whose
	// values compare by amount, not spelling (1Gi is 1073741824). It is
	// not part of the report: comparisons made in the same process (skew)
	// read it.
	Quantity bool `json:"-"`
}

// User is who made a request, as the API server authenticated it.
type User struct {
	// Name is the user; empty when the change cannot be pinned on one of
	// Candidates.
	Name      string   `json:"name"`
	Groups    []string `json:"groups,omitempty"`
	UserAgent string   `json:"userAgent,omitempty"`
	SourceIPs []string `json:"sourceIPs,omitempty"`
	// Candidates are the users who wrote with the change's field manager,
	// when they were more than one.
	Candidates []string `json:"candidates,omitempty"`
}

// String names the user, or the candidates when there are several.
func (u User) String() string {
	if u.Name == "" && len(u.Candidates) > 0 {
		return "one of " + strings.Join(u.Candidates, ", ")
	}
	return u.Name
}

// Finding is one object that is not as declared.
type Finding struct {
	Cluster    string         `json:"cluster"`
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Namespace  string         `json:"namespace,omitempty"`
	Name       string         `json:"name"`
	State      State          `json:"state"`
	Source     *source.Origin `json:"source,omitempty"`
	Changes    []Change       `json:"changes,omitempty"`
	// Unconfirmed is set when plumb could not dry-run the object (its
	// identity may read but not patch, or the server refused the
	// declaration; see Replace) and compared it locally instead: a
	// verdict the server did not confirm.
	Unconfirmed bool `json:"unconfirmed,omitempty"`
	// Replace is set when the server refuses the declaration applied over
	// the live object (a hand edit made them incompatible: a Service port
	// renumbered so that two ports share a name): the server's message.
	// The changes are real, but an apply cannot put them back; a replace
	// (kubectl replace, or delete and create) can.
	Replace string `json:"replace,omitempty"`
	// ResourceDelta is what a drifted workload requests live beyond what
	// it was declared to request (pod requests × replicas; negative when
	// less), e.g. {"cpu": "600m", "memory": "2Gi"}; absent when they are
	// the same or the object runs no pods (package cost).
	ResourceDelta corev1.ResourceList `json:"resourceDelta,omitempty"`

	// Desired and Live are the whole objects, for diffs: Desired is what
	// putting the object back would leave in the cluster (the server's
	// dry-run result without the added fields). Secrets are masked and
	// managedFields removed. Neither is part of the report.
	Desired *unstructured.Unstructured `json:"-"`
	Live    *unstructured.Unstructured `json:"-"`
	// Deployer is the field manager the object was compared as (see
	// chooseManager); putting it back applies as the same manager.
	Deployer string `json:"-"`
}

// ObjectKey identifies an object in a cluster, across API versions.
type ObjectKey struct {
	Group, Kind, Namespace, Name string
}

// KeyOf names an object by its group, kind, namespace and name, as it is
// declared or live.
func KeyOf(u *unstructured.Unstructured) ObjectKey {
	gvk := u.GroupVersionKind()
	return ObjectKey{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}

func (k ObjectKey) String() string {
	gk := k.Kind
	if k.Group != "" {
		gk += "." + k.Group
	}
	if k.Namespace == "" {
		return gk + " " + k.Name
	}
	return gk + " " + k.Namespace + "/" + k.Name
}

// Key identifies the finding's object.
func (f Finding) Key() ObjectKey {
	group, _, ok := strings.Cut(f.APIVersion, "/")
	if !ok {
		group = ""
	}
	return ObjectKey{Group: group, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}
}

// Result is the outcome of scanning one cluster.
type Result struct {
	Cluster string
	// Objects is the number of declared objects that were compared.
	Objects int
	// InSync is how many of them match.
	InSync   int
	Findings []Finding
	// Errors are bad input and per-object failures; the rest was scanned.
	Errors []source.Error
	// Managed and Unmanaged count live objects in scope of --unmanaged;
	// both are zero when it was not asked for.
	Managed, Unmanaged int
	// UnmanagedChecked says whether unmanaged objects were looked for.
	UnmanagedChecked bool
	// Declared are the objects compared, by key, as they are sent to the
	// server (namespace resolved; see Declaration); skew reads declared
	// values from them.
	Declared map[ObjectKey]Declaration
}

// Declaration is a declared object as a scan compared it: decoded on
// demand, so that a result of a large scan holds its declarations as
// compact JSON.
type Declaration struct {
	t *target
}

// DeclarationOf is the declaration of o as a scan in namespace ns (""
// for a cluster-scoped kind) holds it.
func DeclarationOf(o source.Object, ns string) Declaration {
	return Declaration{t: &target{obj: o, name: o.Object.GetName(), ns: ns}}
}

// Object returns the declaration as it is sent to the server: namespace
// set, server bookkeeping and status removed; decoded afresh, so the
// caller may change it.
func (d Declaration) Object() (*unstructured.Unstructured, error) {
	if d.t == nil {
		return nil, fmt.Errorf("no declaration")
	}
	return d.t.decoded()
}

// Origin is where the object is declared.
func (d Declaration) Origin() source.Origin {
	if d.t == nil {
		return source.Origin{}
	}
	return d.t.obj.Origin
}
