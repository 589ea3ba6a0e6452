package drift

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/source"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestScanAcrossListPages scans more ConfigMaps than three list pages
// hold, compared page by page as the pages arrive: drift on the second
// and third page, declared objects that no page holds (missing) and live
// ones nobody declared (unmanaged) are each found once, and the rest is
// in sync.
func TestScanAcrossListPages(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	n := 2*listPage + 234
	cm := func(i int) string { return fmt.Sprintf("cm-%04d", i) }
	for i := range n + 4 {
		name := cm(i)
		if i >= n {
			name = fmt.Sprintf("extra-%d", i-n)
		}
		c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"mode": "fast"}}
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, c, metav1.CreateOptions{FieldManager: "kubectl-client-side-apply"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{cm(700), cm(1100)} {
		patch := []byte(`{"data":{"mode":"slow"}}`)
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
			t.Fatal(err)
		}
	}
	var objs []source.Object
	for i := range n + 2 {
		name := cm(i)
		if i >= n {
			name = fmt.Sprintf("missing-%d", i-n)
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"data":     map[string]any{"mode": "fast"},
		}}
		objs = append(objs, source.Object{Object: u, Origin: source.Origin{Path: "cms.yaml", Line: 1 + 6*i}})
	}

	var pages atomic.Int32
	copts := cluster.DefaultOptions()
	copts.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/namespaces/"+ns+"/configmaps") && r.URL.Query().Get("watch") == "" {
				pages.Add(1)
			}
			return next.RoundTrip(r)
		})
	}
	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, copts)
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Unmanaged = true
	e, err := New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Scan(ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, string(f.State)+" "+f.Name)
	}
	sort.Strings(got)
	want := []string{"drifted " + cm(700), "drifted " + cm(1100), "missing missing-0", "missing missing-1",
		"unmanaged extra-0", "unmanaged extra-1", "unmanaged extra-2", "unmanaged extra-3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("findings %v, want %v", got, want)
	}
	if res.Objects != n+2 || res.Managed != n || res.InSync != n-2 || res.Unmanaged != 4 {
		t.Errorf("objects %d, managed %d, in sync %d, unmanaged %d; want %d, %d, %d, 4", res.Objects, res.Managed, res.InSync, res.Unmanaged, n+2, n, n-2)
	}
	if p := pages.Load(); p != 3 {
		t.Errorf("%d list requests for %d ConfigMaps, want 3 pages of %d", p, n+4, listPage)
	}
}
