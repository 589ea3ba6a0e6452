package drift

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
)

// declaredInSystemNamespaces declares a ConfigMap in default and in
// kube-system.
const declaredInSystemNamespaces = `apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: default}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: kube-system}
data: {mode: fast}
`

// TestSystemObjectsOfAFreshCluster starts a control plane of its own and
// adds what the kube-controller-manager would (envtest runs none: the
// default ServiceAccount and kube-root-ca.crt of default and kube-system,
// written by an ordinary client so that their names alone must tell them)
// and what a person would: declaredInSystemNamespaces, and, declared
// nowhere, a ConfigMap in default and in kube-system, a Role in
// kube-system and a ClusterRole.
//
// Read metadata only, every object of every kind, cluster-scoped ones
// included, is the cluster's (MadeByCluster) but the person's: bootstrap
// RBAC, APF configuration, the kubernetes Service and its IPAddress and
// ServiceCIDR, the system namespaces, priority classes and ConfigMaps,
// APIServices, the identity Lease. A scan of default and kube-system
// with unmanaged objects of every kind finds the undeclared objects of
// the person alone, and counts nothing else against the coverage.
func TestSystemObjectsOfAFreshCluster(t *testing.T) {
	fresh, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Stop() })
	ctx := context.Background()
	for _, ns := range []string{"default", "kube-system"} {
		fresh.Kubectl(t, "", "-n", ns, "create", "serviceaccount", "default")
		fresh.Kubectl(t, "", "-n", ns, "create", "configmap", "kube-root-ca.crt", "--from-literal=ca.crt=not-a-cert")
		fresh.Kubectl(t, "", "-n", ns, "create", "configmap", "hand-made", "--from-literal=mode=fast")
	}
	fresh.Kubectl(t, "", "-n", "kube-system", "create", "role", "hand-made", "--verb=get", "--resource=pods")
	fresh.Kubectl(t, "", "create", "clusterrole", "hand-made", "--verb=get", "--resource=pods")
	fresh.Kubectl(t, declaredInSystemNamespaces, "apply", "--server-side", "-f", "-")
	c, err := cluster.NewForConfig("fresh", "default", fresh.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every object", func(t *testing.T) {
		served, err := c.Listable()
		if err != nil {
			t.Fatal(err)
		}
		var people []string
		seen := 0
		for _, r := range served {
			items, err := c.ListMetadata(ctx, r.GVR, "", nil)
			if err != nil {
				t.Fatalf("list %s: %v", r.GVR.GroupResource(), err)
			}
			for i := range items {
				u, err := FromMetadata(&items[i], r.GVR.GroupVersion().WithKind(r.Kind))
				if err != nil {
					t.Fatal(err)
				}
				seen++
				if !MadeByCluster(u) {
					people = append(people, r.Kind+" "+u.GetNamespace()+"/"+u.GetName())
				}
			}
		}
		slices.Sort(people)
		want := []string{
			"ClusterRole /hand-made",
			"ConfigMap default/declared", "ConfigMap default/hand-made",
			"ConfigMap kube-system/declared", "ConfigMap kube-system/hand-made",
			"Role kube-system/hand-made",
		}
		if diff := cmp.Diff(want, people); diff != "" {
			t.Errorf("of %d objects, not the cluster's (-want +got):\n%s", seen, diff)
		}
		if seen < 150 {
			t.Errorf("read %d objects; a fresh control plane has about 200 (its bootstrap RBAC alone)", seen)
		}
	})

	t.Run("scan --unmanaged", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "declared.yaml")
		if err := os.WriteFile(src, []byte(declaredInSystemNamespaces), 0o644); err != nil {
			t.Fatal(err)
		}
		set := source.Load(ctx, []string{src}, source.Options{})
		if len(set.Errors) > 0 {
			t.Fatalf("load: %v", set.Errors)
		}
		opts := DefaultOptions()
		opts.Unmanaged, opts.UnmanagedAllKinds = true, true
		e, err := New(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Scan(ctx, set.Objects)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range res.Findings {
			got = append(got, f.Kind+" "+f.Namespace+"/"+f.Name+" "+string(f.State))
		}
		// Cluster-scoped kinds are not searched (see Engine.unmanaged).
		want := []string{"ConfigMap default/hand-made unmanaged", "ConfigMap kube-system/hand-made unmanaged", "Role kube-system/hand-made unmanaged"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings (-want +got):\n%s", diff)
		}
		if res.Managed != 2 || res.Unmanaged != 3 {
			t.Errorf("%d managed, %d unmanaged; want 2 and 3", res.Managed, res.Unmanaged)
		}
	})
}
