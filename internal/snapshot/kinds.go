package snapshot

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// neverDeclared are kinds the cluster, its nodes or its add-ons make, that
// people do not write, beyond those drift never reports as unmanaged
// (events, leases, endpoints, endpoint slices, policy reports).
var neverDeclared = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "ControllerRevision"}:                       true,
	{Group: "", Kind: "Node"}:                                         true,
	{Group: "", Kind: "ComponentStatus"}:                              true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:               true,
	{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}:             true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}: true,
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:      true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                 true,
	{Group: "metrics.k8s.io", Kind: "PodMetrics"}:                     true,
	{Group: "metrics.k8s.io", Kind: "NodeMetrics"}:                    true,
}

// resources returns the served kinds a snapshot lists: namespaced ones,
// and with clusterScoped the others too, less the kinds nobody declares.
func resources(served []cluster.Resource, clusterScoped bool) []cluster.Resource {
	var out []cluster.Resource
	for _, r := range drift.UnmanagedResources(served) {
		if neverDeclared[r.GroupKind()] || !r.Namespaced && !clusterScoped {
			continue
		}
		out = append(out, r)
	}
	return out
}

// systemNamespaces exist in every cluster from the start.
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// madeByCluster reports a live object nobody declared: the cluster, a
// controller or a provisioner made it (see drift.MadeByCluster), only the
// cluster's own managers wrote it, or it is part of every cluster.
func (c *Cleaner) madeByCluster(u *unstructured.Unstructured) bool {
	if drift.MadeByCluster(u) || c.onlySystemWrote(u) {
		return true
	}
	switch u.GroupVersionKind().GroupKind() {
	case schema.GroupKind{Kind: "Namespace"}:
		return systemNamespaces[u.GetName()]
	case schema.GroupKind{Kind: "PersistentVolume"}:
		_, provisioned := u.GetAnnotations()["pv.kubernetes.io/provisioned-by"]
		return provisioned
	case schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}:
		return u.GetLabels()["kube-aggregator.kubernetes.io/automanaged"] != ""
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"},
		schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:
		return u.GetLabels()["kubernetes.io/bootstrapping"] == "rbac-defaults"
	}
	return false
}
