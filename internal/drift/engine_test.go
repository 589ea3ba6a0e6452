package drift

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/realworld"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

const shop = "../../examples/shop"

// TestCacheAndLocalCheckSpareDryRuns scans a drifted shop twice with one
// engine: the first scan dry-runs only the object its local check cannot
// clear, the second reuses every comparison and sends no dry-run at all;
// both give the same findings. After the object changes again, it alone is
// compared anew.
func TestCacheAndLocalCheckSpareDryRuns(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=4")

	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	set := source.Load(ctx, []string{shop}, source.Options{Namespace: ns})
	if len(set.Errors) > 0 {
		t.Fatalf("load: %v", set.Errors)
	}
	e, err := New(c, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.Scan(ctx, set.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.DryRuns != 1 || st.CacheMisses != int64(len(set.Objects)) {
		t.Errorf("first scan: %+v, want 1 dry-run (the scaled Deployment) and a miss per object (%d)", st, len(set.Objects))
	}
	second, err := e.Scan(ctx, set.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.DryRuns != 1 || st.CacheHits != int64(len(set.Objects)) {
		t.Errorf("second scan: %+v, want no new dry-run and a hit per object", st)
	}
	ignoreObjects := cmpopts.IgnoreTypes(&unstructured.Unstructured{})
	if diff := cmp.Diff(first.Findings, second.Findings, ignoreObjects); diff != "" {
		t.Errorf("findings differ between scans (-first +second):\n%s", diff)
	}
	if len(first.Findings) != 1 || first.Findings[0].Name != "web" {
		t.Fatalf("findings = %+v, want web only", first.Findings)
	}

	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=2")
	third, err := e.Scan(ctx, set.Objects)
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.CacheMisses != int64(len(set.Objects))+1 {
		t.Errorf("third scan: %+v, want exactly one new miss (web changed)", st)
	}
	if len(third.Findings) != 0 || third.InSync != len(set.Objects) {
		t.Errorf("after scaling back: %d findings, %d in sync; want none and all", len(third.Findings), third.InSync)
	}
}

// TestInSyncObjectsCostNoDryRun scans real-world manifests right after
// applying them: every object must be cleared by the local check, so an
// in-sync cluster costs lists and nothing else.
func TestInSyncObjectsCostNoDryRun(t *testing.T) {
	rw := realworld.MustDir()
	for _, tt := range []struct {
		name, path string
		apply      []string
	}{
		{"microservices-demo/ssa", filepath.Join(rw, "microservices-demo/release/kubernetes-manifests.yaml"), []string{"apply", "--server-side", "-f"}},
		{"microservices-demo/csa", filepath.Join(rw, "microservices-demo/release/kubernetes-manifests.yaml"), []string{"apply", "-f"}},
		{"podinfo-kustomize/ssa", filepath.Join(rw, "podinfo/kustomize"), []string{"apply", "--server-side", "-k"}},
		{"shop/csa", shop, []string{"apply", "-f"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, "", append(append([]string{"-n", ns}, tt.apply...), tt.path)...)
			c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			set := source.Load(context.Background(), []string{tt.path}, source.Options{Namespace: ns})
			e, err := New(c, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Scan(context.Background(), set.Objects)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != 0 || res.InSync != len(set.Objects) {
				t.Errorf("%d findings, %d of %d in sync", len(res.Findings), res.InSync, len(set.Objects))
			}
			if st := e.Stats(); st.DryRuns != 0 {
				t.Errorf("%d dry-runs for an in-sync cluster, want 0", st.DryRuns)
			}
		})
	}
}
