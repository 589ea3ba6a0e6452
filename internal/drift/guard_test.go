package drift

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
)

// TestOverrides: of the writes a person might make to a deployed
// Deployment, those that move a declared field away from the source are
// overrides, named by path; undeclared fields, the same quantity spelt
// another way and putting a drifted field back are not.
func TestOverrides(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "--field-manager=gitops", "-f", shop+"/web.yaml")
	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	set := source.Load(ctx, []string{shop + "/web.yaml"}, source.Options{Namespace: ns})
	e, err := New(c, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	targets, _, err := e.Resolve(set.Objects)
	if err != nil {
		t.Fatal(err)
	}
	var web Target
	for _, tg := range targets {
		if tg.Key().Kind == "Deployment" {
			web = tg
		}
	}
	live, err := e.Get(ctx, web)
	if err != nil || live == nil {
		t.Fatalf("get web: %v", err)
	}
	setContainer := func(u *unstructured.Unstructured, f func(map[string]any)) {
		cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		f(cs[0].(map[string]any))
		_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
	}
	for _, tc := range []struct {
		name   string
		old    func(*unstructured.Unstructured)
		change func(*unstructured.Unstructured)
		want   []string
	}{
		{name: "scale", change: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(5), "spec", "replicas")
		},
			want: []string{".spec.replicas"}},
		{name: "put back", old: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(5), "spec", "replicas")
		},
			change: func(u *unstructured.Unstructured) {
				_ = unstructured.SetNestedField(u.Object, int64(2), "spec", "replicas")
			}},
		{name: "drifted further", old: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, int64(5), "spec", "replicas")
		},
			change: func(u *unstructured.Unstructured) {
				_ = unstructured.SetNestedField(u.Object, int64(6), "spec", "replicas")
			},
			want: []string{".spec.replicas"}},
		{name: "new label", change: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "payments", "metadata", "labels", "team")
		}},
		{name: "declared label", change: func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "other", "metadata", "labels", "app.kubernetes.io/part-of")
		}, want: []string{`.metadata.labels["app.kubernetes.io/part-of"]`}},
		{name: "image", change: func(u *unstructured.Unstructured) {
			setContainer(u, func(c map[string]any) { c["image"] = "nginx:1.28" })
		}, want: []string{`.spec.template.spec.containers[name="web"].image`}},
		{name: "same quantity", change: func(u *unstructured.Unstructured) {
			setContainer(u, func(c map[string]any) {
				_ = unstructured.SetNestedField(c, "134217728", "resources", "limits", "memory")
			})
		}},
		{name: "container replaced", change: func(u *unstructured.Unstructured) {
			setContainer(u, func(c map[string]any) { c["name"] = "nginx" })
		}, want: []string{`.spec.template.spec.containers[name="web"]`}},
		{name: "env removed", change: func(u *unstructured.Unstructured) {
			setContainer(u, func(c map[string]any) { delete(c, "env") })
		}, want: []string{`.spec.template.spec.containers[name="web"].env`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := live.DeepCopy()
			if tc.old != nil {
				tc.old(old)
			}
			next := old.DeepCopy()
			tc.change(next)
			ov, err := e.Overrides(web, Write{Old: old, New: next, Manager: "kubectl-edit"}, false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ov.Paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if ov.Writer != "kubectl-edit" || len(ov.Paths) > 0 && ov.Deployer != "gitops" {
				t.Errorf("writer %q, deployer %q; want kubectl-edit, gitops", ov.Writer, ov.Deployer)
			}
		})
	}
}
