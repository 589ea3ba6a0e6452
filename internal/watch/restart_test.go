package watch

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// answered records, per URL path, when the API server last answered a
// list or watch request with 200.
type answered struct {
	mu sync.Mutex
	at map[string]time.Time
}

// wrap records what next's requests were answered.
func (a *answered) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusOK && req.Method == http.MethodGet {
			a.mu.Lock()
			a.at[req.URL.Path] = time.Now()
			a.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// since lists the paths of want not answered after t.
func (a *answered) since(t time.Time, want []string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var missing []string
	for _, p := range want {
		if !a.at[p].After(t) {
			missing = append(missing, p)
		}
	}
	return missing
}

// TestOKOnlyWhenEveryWatchIsBack restarts the API server under a watcher
// of six kinds. Each kind's watch comes back after its own back-off; the
// cluster must not say ok until the API server has answered every one of
// them again, since until then changes to that kind go unseen.
func TestOKOnlyWhenEveryWatchIsBack(t *testing.T) {
	e, err := testcluster.StartWith(testcluster.Options{APIServerFlags: map[string]string{
		"shutdown-watch-termination-grace-period": "2s",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop() }()
	ns := e.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	kinds := []struct{ apiVersion, kind, path string }{
		{"v1", "ConfigMap", "/api/v1/namespaces/" + ns + "/configmaps"},
		{"v1", "Secret", "/api/v1/namespaces/" + ns + "/secrets"},
		{"v1", "ServiceAccount", "/api/v1/namespaces/" + ns + "/serviceaccounts"},
		{"rbac.authorization.k8s.io/v1", "Role", "/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/roles"},
		{"v1", "ResourceQuota", "/api/v1/namespaces/" + ns + "/resourcequotas"},
		{"scheduling.k8s.io/v1", "PriorityClass", "/apis/scheduling.k8s.io/v1/priorityclasses"},
	}
	var objs []source.Object
	var paths []string
	for i, k := range kinds {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": k.apiVersion, "kind": k.kind,
			"metadata": map[string]any{"name": "restart-" + ns},
		}}
		if k.kind == "PriorityClass" {
			u.Object["value"] = int64(1000)
		} else {
			u.SetNamespace(ns)
		}
		objs = append(objs, source.Object{Object: u, Origin: source.Origin{Path: "kinds.yaml", Line: 1 + 4*i}})
		paths = append(paths, k.path)
	}
	enc, errs := source.EncodeAll(objs)
	if len(errs) > 0 {
		t.Fatal(errs)
	}

	rec := &answered{at: map[string]time.Time{}}
	copts := cluster.DefaultOptions()
	copts.WrapTransport = rec.wrap
	c, err := cluster.NewForConfig("envtest", ns, e.Config, nil, copts)
	if err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, ctx, c, enc, func(event.Event) {}, nil)
	testwait.For(t, 60*time.Second, "the first sync", func() bool { return w.Ready() && w.Status().State == event.StateOK })
	if missing := rec.since(time.Time{}, paths); len(missing) > 0 {
		t.Fatalf("no answered request recorded for %v: the test's paths are wrong", missing)
	}

	restarted := make(chan error, 1)
	stopping := time.Now()
	go func() { restarted <- e.RestartAPIServer() }()
	testwait.For(t, 90*time.Second, "the cluster to be unreachable", func() bool { return w.Status().State == event.StateUnreachable })
	states := map[event.State]bool{}
	for {
		s := w.Status()
		states[s.State] = true
		if s.State == event.StateOK {
			if missing := rec.since(stopping, paths); len(missing) > 0 {
				t.Fatalf("the cluster says ok after the restart while the API server has answered no list or watch of %v since", missing)
			}
			break
		}
		if time.Since(stopping) > 3*time.Minute {
			t.Fatalf("the cluster is still %s (%s) 3 minutes after the restart began", s.State, s.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	t.Logf("states seen after the restart: %v", states)
}
