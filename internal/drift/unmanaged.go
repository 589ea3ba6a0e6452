package drift

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// unmanaged returns the live objects in the listed namespaces that no
// source declares. Cluster-scoped kinds are left out: every cluster has
// system ClusterRoles, Namespaces and the like that nobody declares on
// purpose. So are objects the cluster makes itself (see systemObject).
func (e *Engine) unmanaged(lists map[listKey]*liveList, declared map[string]bool) []Finding {
	var out []Finding
	for _, l := range lists {
		if !l.namespaced {
			continue
		}
		for i := range l.items {
			u := &l.items[i]
			gvk := u.GroupVersionKind()
			id := gvk.GroupKind().String() + " " + u.GetNamespace() + "/" + u.GetName()
			if declared[id] {
				continue
			}
			if f := UnmanagedFinding(e.cluster.Name, u); f != nil {
				out = append(out, *f)
			}
		}
	}
	return out
}

// UnmanagedFinding returns the finding for a live object no source
// declares, or nil for an object the cluster makes itself (see
// systemObject). Its one change, at path ".", names who created or last
// touched the object.
func UnmanagedFinding(cluster string, u *unstructured.Unstructured) *Finding {
	gvk := u.GroupVersionKind()
	if systemObject(u, gvk.GroupKind()) {
		return nil
	}
	secret := isSecret(gvk.GroupKind())
	f := &Finding{
		Cluster: cluster, APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Namespace: u.GetNamespace(), Name: u.GetName(), State: StateUnmanaged,
		Live: viewObject(u, secret, nil),
	}
	if secret {
		maskSecretPair(f.Live, f.Live)
	}
	if m := newestManager(u); m != nil {
		f.Changes = []Change{{Path: ".", Type: ChangeAdded, Manager: m.Manager, Operation: string(m.Operation), Subresource: m.Subresource, Time: m.Time}}
	}
	return f
}

// newestManager names who created or last touched an unmanaged object.
// managedFields times have one-second resolution; on a tie an Update (a
// hand or a tool that just wrote) wins over an Apply (the deployer's
// standing ownership).
func newestManager(u *unstructured.Unstructured) *managedEntry {
	var best *managedEntry
	entries := decodeManagedFields(u.GetManagedFields())
	for i := range entries {
		e := &entries[i]
		if e.Subresource == "status" {
			continue
		}
		tie := best != nil && e.Time != nil && best.Time != nil && e.Time.Equal(*best.Time)
		if best == nil || later(e.Time, best.Time) ||
			tie && e.Operation == metav1.ManagedFieldsOperationUpdate && best.Operation == metav1.ManagedFieldsOperationApply {
			best = e
		}
	}
	return best
}

// LastWriter names the field manager that last wrote u (not its status),
// or "" when managedFields say nothing.
func LastWriter(u *unstructured.Unstructured) string {
	if m := newestManager(u); m != nil {
		return m.Manager
	}
	return ""
}

// systemObject reports objects the cluster creates by itself, which no
// source is expected to declare: anything a controller owns (ReplicaSets,
// Pods, EndpointSlices), the CA bundle ConfigMap and default ServiceAccount
// of every namespace, service account token Secrets, and Helm's release
// records.
func systemObject(u *unstructured.Unstructured, gk schema.GroupKind) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	switch {
	case gk.Group == "" && gk.Kind == "ConfigMap":
		return u.GetName() == "kube-root-ca.crt"
	case gk.Group == "" && gk.Kind == "ServiceAccount":
		return u.GetName() == "default"
	case gk.Group == "" && gk.Kind == "Secret":
		t, _, _ := unstructured.NestedString(u.Object, "type")
		return t == "kubernetes.io/service-account-token" || t == "helm.sh/release.v1"
	case gk.Group == "" && gk.Kind == "Endpoints", gk.Group == "discovery.k8s.io" && gk.Kind == "EndpointSlice":
		// Made by the endpoints controllers for each Service.
		return true
	}
	return false
}
