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
	"k8s.io/client-go/util/workqueue"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

// TestBoundedListAndShrink lists more objects than a full list may leave
// pending: the first sync hands them to the workers page by page, so the
// backlog stays bounded. A reload that changes every declaration is a
// burst beyond that bound: once it has drained, the watcher replaces its
// work queue and pending map, all its workers move to the new queue, and a
// change made afterwards is still found.
func TestBoundedListAndShrink(t *testing.T) {
	ns := env.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := shrinkAbove + 100
	// Both declarations are in sync with the live objects, which carry the
	// label: the second declares it too, so every hash changes.
	declare := func(labels map[string]any) []source.Encoded {
		var objs []source.Object
		for i := range n {
			meta := map[string]any{"name": fmt.Sprintf("cm-%d", i)}
			if labels != nil {
				meta["labels"] = labels
			}
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
				"data": map[string]any{"mode": "fast"},
			}}
			objs = append(objs, source.Object{Object: u, Origin: source.Origin{Path: "cms.yaml", Line: 1 + 6*i}})
		}
		enc, errs := source.EncodeAll(objs)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		return enc
	}
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: ns, Labels: map[string]string{"tier": "bench"}},
			Data: map[string]string{"mode": "fast"}}
		if _, err := env.Clientset.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "plumb-test"}); err != nil {
			t.Fatal(err)
		}
	}

	c, err := cluster.NewForConfig("envtest", ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan event.Event, 64)
	var first workqueue.TypedRateLimitingInterface[drift.ObjectKey]
	w := startWatcher(t, ctx, c, declare(nil), func(ev event.Event) { events <- ev }, func(w *Watcher) { first = w.currentQueue() })

	testwait.For(t, 60*time.Second, "the first sync", func() bool { return w.Ready() })
	w.mu.Lock()
	peak := w.pendingPeak
	w.mu.Unlock()
	if peak > listBacklog+listPage || peak == 0 {
		t.Fatalf("first sync of %d objects left up to %d pending, want between 1 and %d", n, peak, listBacklog+listPage)
	}
	if w.currentQueue() != first {
		t.Fatal("the queue was replaced after a bounded list")
	}
	select {
	case ev := <-events:
		t.Fatalf("event before any change: %+v", ev)
	default:
	}

	// Every declaration changes: n objects are compared again at once.
	if err := w.Reload(declare(map[string]any{"tier": "bench"})); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 60*time.Second, "the reload's burst to drain and the queue to be replaced", func() bool { return w.Ready() && w.currentQueue() != first })
	time.Sleep(100 * time.Millisecond) // workers that left the old queue have reached the new one
	if got, want := w.working.Load(), int64(DefaultOptions().Workers); got != want {
		t.Fatalf("%d workers running after the queue was replaced, want %d", got, want)
	}
	select {
	case ev := <-events:
		t.Fatalf("event after a reload that left everything in sync: %+v", ev)
	default:
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

// startWatcher starts a watcher of objs on c, with a store of its own, and
// stops it when the test ends; before, if set, sees the watcher before it
// starts.
func startWatcher(t *testing.T, ctx context.Context, c *cluster.Cluster, objs []source.Encoded, publish func(event.Event), before func(*Watcher)) *Watcher {
	t.Helper()
	e, err := drift.New(c, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	w := New("envtest", c, e, objs, st, publish, DefaultOptions())
	if before != nil {
		before(w)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(runCtx) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return w
}
