package drift

import (
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// systemObject reports objects the cluster creates by itself, which no
// source is expected to declare: anything a controller owns (ReplicaSets,
// Pods, EndpointSlices), the kinds of skippedKinds, what the
// kube-controller-manager creates without an owner (a StatefulSet's
// PersistentVolumeClaims), service account token Secrets, Helm's release
// records, and what the control plane makes and marks (systemMarked) or
// makes under well-known names (systemNames). It is the one rule for scan
// --unmanaged, serve --unmanaged (both through UnmanagedFinding and
// MadeByCluster) and plumb snapshot. It needs only the object's metadata,
// except for a Secret's type, which metadata-only reads do without.
func systemObject(u *unstructured.Unstructured, gk schema.GroupKind) bool {
	for _, ref := range u.GetOwnerReferences() {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	if skippedKinds[gk] || createdByControllerManager(u) || systemMarked(u, gk) || systemNamed(u, gk) {
		return true
	}
	if gk.Group == "" && gk.Kind == "Secret" {
		if _, ok := u.GetAnnotations()["kubernetes.io/service-account.name"]; ok {
			return true // a service account token, with or without its type
		}
		if u.GetLabels()["owner"] == "helm" && strings.HasPrefix(u.GetName(), "sh.helm.release.v1.") {
			return true
		}
		t, _, _ := unstructured.NestedString(u.Object, "type")
		return t == "kubernetes.io/service-account-token" || t == "helm.sh/release.v1"
	}
	return false
}

// systemMarked reports an object that carries the label or annotation the
// control plane puts on what it makes. A mark counts only on the kinds it
// is set on.
func systemMarked(u *unstructured.Unstructured, gk schema.GroupKind) bool {
	labels := u.GetLabels()
	switch gk {
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:
		// kube-apiserver's RBAC bootstrap policy: the system:* roles and
		// bindings, cluster-admin, admin, edit, view, and the kube-system
		// and kube-public Roles of the controllers. It reconciles them at
		// every start.
		return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
	case schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"},
		schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:
		// API Priority and Fairness' mandatory and suggested
		// configuration, which kube-apiserver creates and keeps up to
		// date. The annotation says whether it may overwrite the spec
		// ("false" once an administrator changed it); either way the
		// object is kube-apiserver's.
		_, ok := u.GetAnnotations()["apf.kubernetes.io/autoupdate-spec"]
		return ok
	case schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}:
		// The built-in API groups, which kube-aggregator registers
		// ("onstart", or "true" while it keeps them in step).
		return labels["kube-aggregator.kubernetes.io/automanaged"] != ""
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "IPAddress"}:
		// A Service's cluster IP, which kube-apiserver's allocator
		// records as an object of its own.
		return labels["ipaddress.kubernetes.io/managed-by"] != ""
	case schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}:
		// kube-apiserver's identity Lease, one per API server (Leases are
		// skipped as a kind too; this says what these ones are).
		return labels["apiserver.kubernetes.io/identity"] != ""
	case schema.GroupKind{Kind: "PersistentVolume"}:
		// A volume a provisioner made for a PersistentVolumeClaim.
		_, ok := u.GetAnnotations()["pv.kubernetes.io/provisioned-by"]
		return ok
	}
	return false
}

// systemNames are the objects the control plane makes under well-known
// names, by kind: "namespace/name" of a namespaced object ("*/name" in
// every namespace), the name of a cluster-scoped one, as path.Match
// patterns. Names alone are used only where the control plane sets no
// mark.
var systemNames = map[schema.GroupKind][]string{
	// kube-apiserver creates these namespaces at start and recreates them
	// when deleted.
	{Kind: "Namespace"}: {"default", "kube-system", "kube-public", "kube-node-lease"},
	// kube-apiserver's own Service, which it keeps pointing at itself.
	{Kind: "Service"}: {"default/kubernetes"},
	// The kube-controller-manager's service account controller makes the
	// default ServiceAccount of every namespace.
	{Kind: "ServiceAccount"}: {"*/default"},
	{Kind: "ConfigMap"}: {
		// The kube-controller-manager's root CA publisher writes the CA
		// bundle into every namespace.
		"*/kube-root-ca.crt",
		// kube-apiserver publishes its client CA and request-header
		// settings here for extension API servers.
		"kube-system/extension-apiserver-authentication",
		// kube-apiserver records since when it tracks the use of legacy
		// service account tokens.
		"kube-system/kube-apiserver-legacy-service-account-token-tracking",
	},
	// kube-apiserver's identity Leases: apiserver-<hash>, and
	// kube-apiserver-<id> as older releases named them.
	{Group: "coordination.k8s.io", Kind: "Lease"}: {"kube-system/apiserver-*", "kube-system/kube-apiserver-*"},
	// kube-apiserver creates the two system priority classes at start.
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}: {"system-cluster-critical", "system-node-critical"},
	// kube-apiserver's default Service CIDR, from its
	// --service-cluster-ip-range.
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}: {"kubernetes"},
}

// systemNamed reports an object of systemNames.
func systemNamed(u *unstructured.Unstructured, gk schema.GroupKind) bool {
	name := u.GetName()
	if ns := u.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	for _, p := range systemNames[gk] {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// controllerManager is the field manager of the kube-controller-manager.
const controllerManager = "kube-controller-manager"

// createdByControllerManager reports an object the kube-controller-manager
// wrote when it was created: its managedFields have an entry of that
// manager (not of a subresource) timed at the creation, to the second.
// The PersistentVolumeClaims of a StatefulSet's volumeClaimTemplates are
// such objects: they have no owner unless a retention policy sets one.
func createdByControllerManager(u *unstructured.Unstructured) bool {
	created := u.GetCreationTimestamp()
	for _, e := range u.GetManagedFields() {
		if e.Manager == controllerManager && e.Subresource == "" && e.Time != nil && e.Time.Unix() == created.Unix() {
			return true
		}
	}
	return false
}
