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

// madeByCluster reports a live object nobody declared: the cluster, a
// controller or a provisioner made it (see drift.MadeByCluster), or only
// the cluster's own managers wrote it.
func (c *Cleaner) madeByCluster(u *unstructured.Unstructured) bool {
	return drift.MadeByCluster(u) || c.onlySystemWrote(u)
}
