package drift

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
)

// TestScanEncodedAsScan scans the same declarations decoded (Scan) and as
// JSON (ScanEncoded), over more than two resolve batches, with -l and
// --unmanaged: both find the same drift, missing and unmanaged objects,
// the same errors (an unknown kind, a duplicate across batches), the same
// counts and the same declarations. A declared object that -l leaves out
// by its declared labels is not reported unmanaged though its live labels
// match.
func TestScanEncodedAsScan(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	n := 2*resolveBatch + 100
	cm := func(i int) string { return fmt.Sprintf("cm-%04d", i) }
	tier := func(i int) string { return []string{"a", "b"}[i%2] }
	for i := range n + 2 {
		name, lbl := cm(i), tier(i)
		if i >= n {
			name, lbl = fmt.Sprintf("extra-%d", i-n), "a"
		}
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"tier": lbl}}, Data: map[string]string{"mode": "fast"}}
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, c, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{cm(2), cm(3), cm(900)} {
		patch := []byte(`{"data":{"mode":"slow"}}`)
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
			t.Fatal(err)
		}
	}
	decl := func(kind, name, lbl string, line int) source.Object {
		return source.Object{Object: &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": kind,
			"metadata": map[string]any{"name": name, "labels": map[string]any{"tier": lbl}},
			"data":     map[string]any{"mode": "fast"},
		}}, Origin: source.Origin{Path: "cms.yaml", Line: line}}
	}
	var objs []source.Object
	for i := range n {
		lbl := tier(i)
		if i == 1 {
			lbl = "a" // declared in tier a, live in tier b: -l tier=a compares it
		}
		if i == 4 {
			lbl = "b" // declared in tier b, live in tier a: left out, never unmanaged
		}
		objs = append(objs, decl("ConfigMap", cm(i), lbl, 1+7*i))
	}
	// Tier a: half of them, cm-0001 in, cm-0004 out, and missing-0.
	objs = append(objs, decl("ConfigMap", "missing-0", "a", 9000), decl("ConfigMap", "missing-1", "b", 9007),
		decl("Widget", "w", "a", 9014), decl("ConfigMap", cm(0), "a", 9021))

	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	sel, err := labels.Parse("tier=a")
	if err != nil {
		t.Fatal(err)
	}
	scan := func(encoded bool) Result {
		opts := DefaultOptions()
		opts.Unmanaged, opts.Selector = true, sel
		opts.Cache = NewCache() // each scan compares afresh
		e, err := New(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		var res Result
		if encoded {
			enc, errs := source.EncodeAll(objs)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			res, err = e.ScanEncoded(ctx, enc)
		} else {
			res, err = e.Scan(ctx, objs)
		}
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	decoded, encoded := scan(false), scan(true)

	var got []string
	for _, f := range encoded.Findings {
		got = append(got, string(f.State)+" "+f.Name)
	}
	// cm-0001's labels drifted (declared tier a, live b); cm-0003 drifted
	// in tier b, which -l leaves out.
	want := []string{"drifted " + cm(1), "drifted " + cm(2), "drifted " + cm(900), "unmanaged extra-0", "unmanaged extra-1", "missing missing-0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ScanEncoded's findings (-want +got):\n%s", diff)
	}
	if len(encoded.Errors) != 2 {
		t.Errorf("ScanEncoded's errors: %v, want the unknown kind and the duplicate", encoded.Errors)
	}
	if diff := cmp.Diff(decoded.Findings, encoded.Findings); diff != "" {
		t.Errorf("findings, Scan (-) and ScanEncoded (+):\n%s", diff)
	}
	if diff := cmp.Diff(decoded.Errors, encoded.Errors); diff != "" {
		t.Errorf("errors, Scan (-) and ScanEncoded (+):\n%s", diff)
	}
	counts := func(r Result) []int { return []int{r.Objects, r.InSync, r.Managed, r.Unmanaged} }
	if diff := cmp.Diff(counts(decoded), counts(encoded)); diff != "" || encoded.Objects != n/2+1 {
		t.Errorf("objects, in sync, managed, unmanaged: Scan %v, ScanEncoded %v; want %d objects", counts(decoded), counts(encoded), n/2+1)
	}
	if len(decoded.Declared) != len(encoded.Declared) || len(encoded.Declared) != encoded.Objects {
		t.Fatalf("declarations: Scan %d, ScanEncoded %d, want one per object compared (%d)", len(decoded.Declared), len(encoded.Declared), encoded.Objects)
	}
	for k, d := range encoded.Declared {
		a, errA := decoded.Declared[k].Object()
		b, errB := d.Object()
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v, %v", k, errA, errB)
		}
		if diff := cmp.Diff(a.Object, b.Object); diff != "" {
			t.Errorf("%s declared, Scan (-) and ScanEncoded (+):\n%s", k, diff)
		}
		if b.GetNamespace() != ns || !cmp.Equal(d.Origin(), decoded.Declared[k].Origin()) {
			t.Errorf("%s: namespace %q, origin %v; want %q, %v", k, b.GetNamespace(), d.Origin(), ns, decoded.Declared[k].Origin())
		}
	}
}
