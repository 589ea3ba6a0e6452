package drift

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/cluster"
)

// ClusterWide reports whether the unmanaged objects of the other kinds in
// namespaces many namespaces are read once per kind for the whole cluster
// rather than once per namespace, under the threshold after (see
// Options.UnmanagedClusterWideAfter). plumb scan and serve decide alike.
func ClusterWide(after, namespaces int) bool { return after >= 0 && namespaces > after }

// MadeByCluster reports a live object that is never unmanaged because the
// cluster made it (see systemObject). It needs only the object's metadata.
func MadeByCluster(u *unstructured.Unstructured) bool {
	return systemObject(u, u.GroupVersionKind().GroupKind())
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

// skippedKinds are never reported as unmanaged, nor watched or listed to
// look for unmanaged objects: the cluster and its add-ons make and replace
// them all the time, and nobody declares them. Argo CD's default resource
// exclusions leave out the same kinds.
var skippedKinds = map[schema.GroupKind]bool{
	{Group: "", Kind: "Event"}:                             true,
	{Group: "events.k8s.io", Kind: "Event"}:                true,
	{Group: "", Kind: "Endpoints"}:                         true, // made by the endpoints controller for each Service
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:     true,
	{Group: "coordination.k8s.io", Kind: "Lease"}:          true, // leader election and node heartbeats
	{Group: "wgpolicyk8s.io", Kind: "PolicyReport"}:        true, // policy engines' reports (Kyverno)
	{Group: "reports.kyverno.io", Kind: "EphemeralReport"}: true,
	{Group: "cilium.io", Kind: "CiliumEndpoint"}:           true, // one per Pod
	{Group: "", Kind: "ComponentStatus"}:                   true, // computed by kube-apiserver at each read, stored nowhere
	// What the cluster, its nodes or its add-ons make and people do not
	// write: scan --unmanaged -A and plumb snapshot -A read the
	// cluster-scoped kinds, where every Node would otherwise show.
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

// UnmanagedResources returns the served resources in which to look for
// unmanaged objects, less skippedKinds.
func UnmanagedResources(served []cluster.Resource) []cluster.Resource {
	var out []cluster.Resource
	for _, r := range served {
		if !skippedKinds[r.GroupKind()] {
			out = append(out, r)
		}
	}
	return out
}

// FromMetadata returns the object a metadata-only read describes, as an
// unstructured object of kind gvk with only its metadata: what
// UnmanagedFinding needs.
func FromMetadata(m *metav1.PartialObjectMetadata, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	meta, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&m.ObjectMeta)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", gvk.Kind, m.Namespace, m.Name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"metadata": meta}}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// unmanagedOther looks for unmanaged objects of the kinds no source
// declares in a namespace, in the namespaces the sources touch, reading
// only metadata: one paged list per resource and namespace or, beyond
// Options.UnmanagedClusterWideAfter namespaces, per resource for the whole
// cluster. With Options.UnmanagedAllNamespaces it looks in every
// namespace and every cluster-scoped kind, one list per resource. lists
// are the lists the scan made of declared kinds; declared names every
// declared object. Lists carry Options.Selector. A kind the identity may
// not list is logged and skipped; one it may not list cluster-wide is
// listed per namespace.
func (e *Engine) unmanagedOther(ctx context.Context, lists map[listKey]bool, declared map[string]bool, namespaces []string) ([]Finding, error) {
	all := e.opts.UnmanagedAllNamespaces
	list := e.cluster.WatchableNamespaced
	if all {
		list = e.cluster.Listable
	}
	served, err := list()
	if err != nil {
		if served == nil {
			return nil, err
		}
		e.opts.Logger.Warn("some API groups not searched for unmanaged objects", "cluster", e.cluster.Name, "err", err)
	}
	// A resource the scan listed whole in a namespace (its kind is
	// declared there) was searched already.
	type listed struct {
		gr schema.GroupResource
		ns string
	}
	covered := map[listed]bool{}
	for k := range lists {
		covered[listed{k.gvr.GroupResource(), k.ns}] = true
	}
	wide := ClusterWide(e.opts.UnmanagedClusterWideAfter, len(namespaces))
	selector := ""
	if e.opts.Selector != nil {
		selector = e.opts.Selector.String()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Concurrency)
	var mu sync.Mutex
	var out []Finding
	search := func(r cluster.Resource, ns string, keep func(*metav1.PartialObjectMetadata) bool) error {
		items, err := e.cluster.ListMetadataSelected(gctx, r.GVR, ns, selector, keep)
		if err != nil {
			return err
		}
		gvk := r.GVR.GroupVersion().WithKind(r.Kind)
		mu.Lock()
		defer mu.Unlock()
		for i := range items {
			if declared[objectID(gvk.GroupKind(), items[i].Namespace, items[i].Name)] {
				continue // declared, and left out by Options.Selector
			}
			u, err := FromMetadata(&items[i], gvk)
			if err != nil {
				return err
			}
			if f := UnmanagedFinding(e.cluster.Name, u); f != nil {
				out = append(out, *f)
			}
		}
		return nil
	}
	inNamespace := func(r cluster.Resource, ns string) error {
		err := search(r, ns, nil)
		if cluster.IsRefused(err) {
			e.opts.Logger.Warn("not searched for unmanaged objects", "cluster", e.cluster.Name, "resource", r.GVR.GroupResource().String(), "namespace", ns, "err", err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("list %s in %q: %w", r.GVR.GroupResource(), ns, err)
		}
		return nil
	}
	for _, r := range UnmanagedResources(served) {
		gr := r.GVR.GroupResource()
		if all {
			g.Go(func() error {
				err := search(r, "", func(m *metav1.PartialObjectMetadata) bool { return !covered[listed{gr, m.Namespace}] })
				if cluster.IsRefused(err) {
					e.opts.Logger.Warn("not searched for unmanaged objects", "cluster", e.cluster.Name, "resource", gr.String(), "err", err)
					return nil
				}
				if err != nil {
					return fmt.Errorf("list %s: %w", gr, err)
				}
				return nil
			})
			continue
		}
		todo := map[string]bool{}
		for _, ns := range namespaces {
			if !covered[listed{gr, ns}] {
				todo[ns] = true
			}
		}
		if !wide {
			for ns := range todo {
				g.Go(func() error { return inNamespace(r, ns) })
			}
			continue
		}
		if len(todo) == 0 {
			continue // every namespace has it listed whole already
		}
		g.Go(func() error {
			err := search(r, "", func(m *metav1.PartialObjectMetadata) bool { return todo[m.Namespace] })
			if !cluster.IsRefused(err) {
				if err != nil {
					return fmt.Errorf("list %s: %w", gr, err)
				}
				return nil
			}
			e.opts.Logger.Info("not listed cluster-wide for unmanaged objects; listing each namespace instead", "cluster", e.cluster.Name,
				"resource", gr.String(), "err", err)
			for ns := range todo {
				if err := inNamespace(r, ns); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
