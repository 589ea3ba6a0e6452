package snapshot

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// resources returns the served kinds a snapshot lists: namespaced ones,
// and with clusterScoped the others too, less the kinds nobody declares.
func resources(served []cluster.Resource, clusterScoped bool) []cluster.Resource {
	var out []cluster.Resource
	for _, r := range drift.UnmanagedResources(served) {
		if !r.Namespaced && !clusterScoped {
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
