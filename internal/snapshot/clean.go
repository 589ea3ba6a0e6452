package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// DefaultSystemManagers are the field managers of the cluster itself,
// whose fields nobody declared: controllers, the scheduler, the kubelet
// and the API server's own bootstrapping. Patterns use path.Match syntax.
var DefaultSystemManagers = []string{
	"kube-controller-manager",
	"kube-scheduler",
	"kubelet",
	"kube-apiserver",
	"kube-proxy",
	"cloud-controller-manager",
	"api-priority-and-fairness-config-producer-*",
}

// clientSideApply is kubectl apply's field manager; it records what it
// applied in lastApplied.
const clientSideApply = "kubectl-client-side-apply"

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// Converters returns the structured-merge-diff type converter for a
// group-version (cluster.Cluster.TypeConverter).
type Converters func(schema.GroupVersion) (managedfields.TypeConverter, error)

// Cleaner turns live objects into the manifests people declared (see the
// package documentation).
type Cleaner struct {
	converters Converters
	system     []string
	// HashKey keys the hash of each Secret's data (drift.SecretDataHash);
	// without it the hash is unkeyed.
	HashKey []byte
}

// NewCleaner returns a cleaner that reads schemas through converters and
// counts the managers matching system (nil: DefaultSystemManagers) as the
// cluster's own.
func NewCleaner(converters Converters, system []string) *Cleaner {
	if system == nil {
		system = DefaultSystemManagers
	}
	return &Cleaner{converters: converters, system: system}
}

// Clean returns the manifest for live: the declared fields only, and for a
// Secret no values (see drift.IsValueless). live is not changed.
func (c *Cleaner) Clean(live *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	gvk := live.GroupVersionKind()
	body := live.DeepCopy()
	delete(body.Object, "status")
	body.SetManagedFields(nil)

	var out map[string]any
	declared, err := c.declared(live, body)
	if err != nil {
		return nil, err
	}
	if declared == nil {
		out = conservative(body)
	} else {
		tc, err := c.converter(gvk.GroupVersion())
		if err != nil {
			return nil, err
		}
		tv, err := tc.ObjectToTyped(body, typed.AllowDuplicates)
		if err != nil {
			return nil, fmt.Errorf("typed: %w", err)
		}
		// ExtractItems takes a member that has children (an Update
		// entry's "." on a list it fills) as the whole set again below it,
		// and extracts nothing there: it wants leaves only
		// (kubernetes-sigs/structured-merge-diff#185).
		var ok bool
		if out, ok = tv.ExtractItems(declared.Leaves(), typed.WithAppendKeyFields()).AsValue().Unstructured().(map[string]any); !ok {
			out = map[string]any{}
		}
		pruneWhole(gvk.GroupKind(), out, declared)
	}
	u := &unstructured.Unstructured{Object: out}
	u.SetGroupVersionKind(gvk)
	u.SetName(live.GetName())
	if ns := live.GetNamespace(); ns != "" {
		u.SetNamespace(ns)
	}
	scrub(u)
	if drift.IsSecret(u) {
		if err := withoutValues(c.HashKey, u, live); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// converter returns the type converter for gv, or a schema-less one
// (lists as atomic) when the server publishes no schema for it.
func (c *Cleaner) converter(gv schema.GroupVersion) (managedfields.TypeConverter, error) {
	tc, err := c.converters(gv)
	if errors.Is(err, cluster.ErrNoSchema) {
		return managedfields.NewDeducedTypeConverter(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("schema for %s: %w", gv, err)
	}
	return tc, nil
}

// declared returns the fields people and their tools declared in live
// (body is live without status and managedFields), or nil when
// managedFields do not say (none, or only the cluster's own managers).
func (c *Cleaner) declared(live, body *unstructured.Unstructured) (*fieldpath.Set, error) {
	exact, loose := &fieldpath.Set{}, &fieldpath.Set{}
	found := false
	for _, e := range live.GetManagedFields() {
		if e.Subresource == "status" || e.FieldsV1 == nil || c.isSystem(e.Manager) {
			continue
		}
		s := &fieldpath.Set{}
		if err := s.FromJSON(e.FieldsV1.GetRawReader()); err != nil {
			return nil, fmt.Errorf("managedFields of %s: %w", e.Manager, err)
		}
		found = true
		switch {
		case e.Operation == metav1.ManagedFieldsOperationApply:
			exact = exact.Union(s)
		case e.Manager == clientSideApply && e.Subresource == "":
			if applied, ok := c.lastApplied(live); ok {
				exact = exact.Union(applied)
				continue
			}
			loose = loose.Union(s)
		default:
			loose = loose.Union(s)
		}
	}
	if !found {
		return nil, nil
	}
	loose = loose.Difference(exact)
	gk := live.GroupVersionKind().GroupKind()
	var defaulted []fieldpath.Path
	for p := range loose.Leaves().All() {
		if isServerDefault(gk, body.Object, p) {
			defaulted = append(defaulted, p.Copy()) // All reuses the path's array
		}
	}
	before := loose.Leaves()
	for _, p := range defaulted {
		loose = loose.Difference(fieldpath.NewSet(p))
	}
	// A map or list element that held only defaults (a Deployment's
	// strategy.rollingUpdate) is now a leaf itself: nothing of it was
	// declared either.
	for {
		var emptied []fieldpath.Path
		for p := range loose.Leaves().All() {
			if !before.Has(p) {
				emptied = append(emptied, p.Copy())
			}
		}
		if len(emptied) == 0 {
			break
		}
		for _, p := range emptied {
			loose = loose.Difference(fieldpath.NewSet(p))
		}
	}
	return exact.Union(loose), nil
}

// lastApplied returns the fields of kubectl's last-applied record, when
// it is readable.
func (c *Cleaner) lastApplied(live *unstructured.Unstructured) (*fieldpath.Set, bool) {
	raw := live.GetAnnotations()[lastApplied]
	if raw == "" {
		return nil, false
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, false
	}
	tc, err := c.converter(live.GroupVersionKind().GroupVersion())
	if err != nil {
		return nil, false
	}
	tv, err := tc.ObjectToTyped(&unstructured.Unstructured{Object: obj}, typed.AllowDuplicates)
	if err != nil {
		return nil, false
	}
	s, err := tv.ToFieldSet()
	return s, err == nil
}

func (c *Cleaner) isSystem(manager string) bool {
	for _, p := range c.system {
		if ok, _ := path.Match(p, manager); ok {
			return true
		}
	}
	return false
}

// onlySystemWrote reports an object whose every writer (status aside) is
// one of the cluster's own managers: something the cluster made.
func (c *Cleaner) onlySystemWrote(u *unstructured.Unstructured) bool {
	n := 0
	for _, e := range u.GetManagedFields() {
		if e.Subresource == "status" {
			continue
		}
		if !c.isSystem(e.Manager) {
			return false
		}
		n++
	}
	return n > 0
}

// bookkeeping are the metadata fields the server keeps for itself.
var bookkeeping = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
	"deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences"}

// scrub removes what is never declared, whatever managedFields say:
// bookkeeping and status, of the object and of the objects it embeds (a
// StatefulSet's volumeClaimTemplates), kubectl's last-applied record,
// empty label and annotation maps.
func scrub(u *unstructured.Unstructured) {
	drop := func(obj map[string]any) {
		delete(obj, "status")
		for _, f := range bookkeeping {
			unstructured.RemoveNestedField(obj, "metadata", f)
		}
	}
	drop(u.Object)
	eachEmbedded(u.GroupVersionKind().GroupKind(), u.Object, drop)
	if a := u.GetAnnotations(); a != nil {
		delete(a, lastApplied)
		u.SetAnnotations(a)
	}
	meta, _ := u.Object["metadata"].(map[string]any)
	for _, f := range []string{"annotations", "labels"} {
		if m, _ := meta[f].(map[string]any); len(m) == 0 {
			delete(meta, f) // absent, null or {}
		}
	}
}

// conservative cleans an object whose managedFields say nothing: the
// server's own annotations and the values it allocates (a Service's
// cluster IPs and node ports, but not clusterIP: None) go; everything
// else stays, since nothing tells a default from a declared value.
func conservative(u *unstructured.Unstructured) map[string]any {
	obj := u.DeepCopy().Object
	unstructured.RemoveNestedField(obj, "metadata", "annotations", "deployment.kubernetes.io/revision")
	if u.GroupVersionKind().GroupKind() != (schema.GroupKind{Kind: "Service"}) {
		return obj
	}
	if ip, _, _ := unstructured.NestedString(obj, "spec", "clusterIP"); ip != "None" {
		unstructured.RemoveNestedField(obj, "spec", "clusterIP")
		unstructured.RemoveNestedField(obj, "spec", "clusterIPs")
	}
	unstructured.RemoveNestedField(obj, "spec", "healthCheckNodePort")
	if ports, ok, _ := unstructured.NestedSlice(obj, "spec", "ports"); ok {
		for _, p := range ports {
			if m, ok := p.(map[string]any); ok {
				delete(m, "nodePort")
			}
		}
		_ = unstructured.SetNestedSlice(obj, ports, "spec", "ports")
	}
	return obj
}
