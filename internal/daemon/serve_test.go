package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/server"
	"plumb.dev/plumb/internal/store"
)

// silentCluster is a kubeconfig whose API server takes connections and
// never answers: requests neither succeed nor fail, as with a black-holed
// address, until their handshake times out.
func silentCluster(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	kc := clientcmdapi.NewConfig()
	kc.Clusters["silent"] = &clientcmdapi.Cluster{Server: "https://" + ln.Addr().String(), InsecureSkipTLSVerify: true}
	kc.AuthInfos["silent"] = &clientcmdapi.AuthInfo{Token: "unused"}
	kc.Contexts["silent"] = &clientcmdapi.Context{Cluster: "silent", AuthInfo: "silent", Namespace: "default"}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeReadyAfterFirstSync: a cluster that answers nothing, neither
// objects nor an error, holds serve's readiness for FirstSync only; then
// /readyz is 200 while the cluster is still syncing, and the API and the
// metrics say so.
func TestServeReadyAfterFirstSync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	member := fleet.Member{Cluster: config.Cluster{Name: "silent", Kubeconfig: silentCluster(t), Context: "silent"},
		Sources: []fleet.Bound{{Source: config.Source{Name: "cm", Path: src}}}}
	session, err := fleet.Open(member, fleet.SessionOptions{CacheDir: t.TempDir(), Cluster: cluster.DefaultOptions(), Drift: drift.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := session.LoadEncoded(ctx)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const grace = 2 * time.Second
	s, err := New(ctx, Options{
		Clusters:  []Cluster{{Session: session, Objs: objs}},
		Store:     st,
		API:       server.Options{Listen: addr},
		Metrics:   metrics.New(),
		Logger:    slog.New(slog.DiscardHandler),
		FirstSync: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	base := "http://" + addr
	readyz := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := map[int]bool{}
	for code := readyz(); code != http.StatusOK; code = readyz() {
		codes[code] = true
		if time.Since(started) > 30*time.Second {
			t.Fatalf("not ready after 30s (FirstSync %s)", grace)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(started); took < grace || !codes[http.StatusServiceUnavailable] {
		t.Errorf("ready after %s, answers before %v; want 503 for the first %s", took, codes, grace)
	}
	resp, err := http.Get(base + "/api/v1/clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Items []event.Status }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].State != event.StateSyncing || list.Items[0].Ready {
		t.Errorf("clusters = %+v, want silent, syncing, not ready", list.Items)
	}
	mf, err := s.opts.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	gauges := map[string]float64{}
	for _, f := range mf {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetName() + "=" + l.GetValue()
			}
			gauges[name] = m.GetGauge().GetValue()
		}
	}
	for name, want := range map[string]float64{
		"plumb_cluster_ready,cluster=silent":                     0,
		"plumb_cluster_status,cluster=silent,status=syncing":     1,
		"plumb_cluster_status,cluster=silent,status=unreachable": 0,
	} {
		if got, ok := gauges[name]; !ok || got != want {
			t.Errorf("%s = %v (reported %t), want %v", name, got, ok, want)
		}
	}
}
