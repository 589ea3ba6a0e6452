package watch

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

// TestShrinkAfterBurstKeepsWatching lists more objects than shrinkAbove,
// so that the first sync's burst makes the watcher replace its work queue
// and pending map once drained. Changes made afterwards are still found:
// the workers moved to the new queue.
func TestShrinkAfterBurstKeepsWatching(t *testing.T) {
	ns := env.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := shrinkAbove + 100
	var objs []source.Object
	for i := range n {
		name := fmt.Sprintf("cm-%d", i)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"mode": "fast"}}
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "plumb-test"}); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name},
			"data":     map[string]any{"mode": "fast"},
		}}
		objs = append(objs, source.Object{Object: u, Origin: source.Origin{Path: "cms.yaml", Line: 1 + 6*i}})
	}

	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := make(chan Event, 64)
	w := New("envtest", c, e, objs, st, func(ev Event) { events <- ev }, DefaultOptions())
	first := w.currentQueue()
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(60 * time.Second)
	for !w.Ready() || w.currentQueue() == first {
		if time.Now().After(deadline) {
			w.mu.Lock()
			peak := w.pendingPeak
			w.mu.Unlock()
			t.Fatalf("after 60s: ready %v, queue replaced %v, pending peak %d", w.Ready(), w.currentQueue() != first, peak)
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case ev := <-events:
		t.Fatalf("event before any change: %+v", ev)
	default:
	}
	time.Sleep(100 * time.Millisecond) // workers that left the old queue have reached the new one
	if got, want := w.working.Load(), int64(DefaultOptions().Workers); got != want {
		t.Fatalf("%d workers running after the queue was replaced, want %d", got, want)
	}

	patch := []byte(`{"data":{"mode":"slow"}}`)
	if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Patch(ctx, "cm-7", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-patch"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev.Transition != store.Opened || ev.Finding == nil || ev.Finding.Name != "cm-7" {
			t.Fatalf("event %+v, want cm-7 opened", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the change after the queue was replaced was not found within 30s")
	}
}
