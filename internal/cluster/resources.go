package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Resource is a kind the cluster serves and the resource it is read through.
type Resource struct {
	GVR  schema.GroupVersionResource
	Kind string
	// Namespaced is set for a namespaced kind (Listable sets it;
	// WatchableNamespaced's are all namespaced and leave it unset).
	Namespaced bool
}

// GroupKind returns the resource's kind with its group.
func (r Resource) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.GVR.Group, Kind: r.Kind}
}

// WatchableNamespaced returns every namespaced kind the cluster serves that
// can be listed and watched, each at its preferred version, read fresh from
// discovery (a CRD installed since the last call is in it). A group whose
// discovery failed, such as an aggregated API whose backend is down, is
// left out and named in the error, which comes with the rest of the list.
func (c *Cluster) WatchableNamespaced() ([]Resource, error) {
	return c.served(discovery.ServerPreferredNamespacedResources, "list", "watch")
}

// Listable returns every kind the cluster serves that can be listed,
// namespaced and cluster-scoped, each at its preferred version and with
// its scope, read fresh from discovery. A group whose discovery failed is
// left out and named in the error, which comes with the rest of the list.
func (c *Cluster) Listable() ([]Resource, error) {
	return c.served(discovery.ServerPreferredResources, "list")
}

// served returns the resources preferred returns that support verbs,
// sorted, less subresources.
func (c *Cluster) served(preferred func(discovery.DiscoveryInterface) ([]*metav1.APIResourceList, error), verbs ...string) ([]Resource, error) {
	c.discovery.Invalidate()
	lists, err := preferred(c.discovery)
	var partial *discovery.ErrGroupDiscoveryFailed
	if err != nil && !errors.As(err, &partial) {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: verbs}, lists)
	var out []Resource
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // a subresource
			}
			out = append(out, Resource{GVR: gv.WithResource(r.Name), Kind: r.Kind, Namespaced: r.Namespaced})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GVR.String() < out[j].GVR.String() })
	if partial != nil {
		return out, fmt.Errorf("discovery: %w", err)
	}
	return out, nil
}

// ListMetadata returns the metadata of the objects of resource gvr in
// namespace ns ("" for every namespace) that keep accepts (nil: all),
// reading in pages of 500, so that a cluster-wide list holds only what is
// kept.
func (c *Cluster) ListMetadata(ctx context.Context, gvr schema.GroupVersionResource, ns string, keep func(*metav1.PartialObjectMetadata) bool) ([]metav1.PartialObjectMetadata, error) {
	return c.ListMetadataSelected(ctx, gvr, ns, "", keep)
}

// ListMetadataSelected is ListMetadata for the objects whose labels match
// selector (kubectl's -l syntax, sent to the server; "" selects all).
func (c *Cluster) ListMetadataSelected(ctx context.Context, gvr schema.GroupVersionResource, ns, selector string, keep func(*metav1.PartialObjectMetadata) bool) ([]metav1.PartialObjectMetadata, error) {
	var all []metav1.PartialObjectMetadata
	opts := metav1.ListOptions{Limit: 500, LabelSelector: selector}
	for {
		list, err := c.Metadata.Resource(gvr).Namespace(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			if keep == nil || keep(&list.Items[i]) {
				all = append(all, list.Items[i])
			}
		}
		if list.GetContinue() == "" {
			return all, nil
		}
		opts.Continue = list.GetContinue()
	}
}

// IsRefused reports an error that is about one kind, not the cluster: the
// identity may not read it (403), it is no longer served (404), or it
// cannot be listed or watched (405). Callers skip the kind and go on.
func IsRefused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
}
