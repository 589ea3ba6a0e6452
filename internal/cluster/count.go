package cluster

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CountInNamespace counts the objects of every namespaced kind the cluster
// serves in namespace ns, metadata only: what deleting the namespace takes
// along. Events and Leases are left out (they are records, not workload).
// A kind the identity may not list is skipped; the count is then a floor.
func (c *Cluster) CountInNamespace(ctx context.Context, ns string) (int, error) {
	kinds, err := c.WatchableNamespaced()
	if kinds == nil && err != nil {
		return 0, err
	}
	n := 0
	for _, k := range kinds {
		if k.Kind == "Event" || k.Kind == "Lease" {
			continue
		}
		items, err := c.ListMetadata(ctx, k.GVR, ns, nil)
		if IsRefused(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("count %s in %s: %w", k.GVR.Resource, ns, err)
		}
		n += len(items)
	}
	return n, nil
}

// CountCustomResources counts the live custom resources of crd (a
// CustomResourceDefinition), in every namespace: what deleting it takes
// along.
func (c *Cluster) CountCustomResources(ctx context.Context, crd *unstructured.Unstructured) (int, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); !served {
			continue
		}
		name, _ := m["name"].(string)
		gvr := schema.GroupVersionResource{Group: group, Version: name, Resource: plural}
		items, err := c.ListMetadata(ctx, gvr, "", nil)
		if err != nil {
			return 0, fmt.Errorf("count %s: %w", gvr.GroupResource(), err)
		}
		return len(items), nil
	}
	return 0, nil
}
