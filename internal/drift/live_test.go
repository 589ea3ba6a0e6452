package drift

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
)

// TestResolveEncodedAcrossBatches resolves more objects than one batch
// holds: every object becomes a compact target with its declaration, a
// duplicate in a later batch is reported against the first declaration,
// and an unknown kind is an error naming its origin.
func TestResolveEncodedAcrossBatches(t *testing.T) {
	ns := env.Namespace(t)
	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(c, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	n := resolveBatch + 100
	var objs []source.Object
	cm := func(i, line int) source.Object {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": fmt.Sprintf("cm-%d", i)},
			"data":     map[string]any{"index": fmt.Sprint(i)},
		}}
		return source.Object{Object: u, Origin: source.Origin{Path: "cms.yaml", Line: line}}
	}
	for i := range n {
		objs = append(objs, cm(i, 1+5*i))
	}
	objs = append(objs, cm(3, 9999)) // in the second batch, a duplicate of the first's
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
	objs = append(objs, source.Object{Object: widget, Origin: source.Origin{Path: "widget.yaml", Line: 1}})
	enc, encErrs := source.EncodeAll(objs)
	if len(encErrs) > 0 {
		t.Fatal(encErrs)
	}

	targets, errs, err := e.ResolveEncoded(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != n {
		t.Errorf("%d targets, want %d", len(targets), n)
	}
	for i, tg := range targets {
		if tg.Name() != fmt.Sprintf("cm-%d", i) || tg.Namespace() != ns || tg.Origin().Line != 1+5*i || tg.t.compact == nil {
			t.Fatalf("target %d: %s in %s from line %d (compact %v)", i, tg.Name(), tg.Namespace(), tg.Origin().Line, tg.t.compact != nil)
		}
	}
	want := []string{
		"cms.yaml:9999: ConfigMap cm-3: duplicate of the object declared at cms.yaml:16; the first declaration is used",
		"widget.yaml:1: Widget w: the cluster does not serve kind Widget in example.com/v1 (is its CustomResourceDefinition installed?)",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
