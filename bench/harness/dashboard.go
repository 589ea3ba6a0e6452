package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/chromedp/chromedp"

	pdrift "plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/server"
	"plumb.dev/plumb/internal/store"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// runDashboard measures the dashboard of a fleet of clusters × objects:
// serve's real server and SQLite store hold one finding for every tenth
// object (half drifted Deployments with a resource delta, the rest missing
// or unmanaged), and headless Chromium opens each page; it reports the
// time to the first drawn page, the page's JavaScript heap and the
// server's Go heap. The clusters' statuses are made up (no control plane
// holds 200,000 objects here); what is measured is the page and the API
// answering it.
func runDashboard(clusters, objects int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "plumb-dashboard")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "plumb.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	perCluster := objects / 10
	start := time.Now()
	for c := range clusters {
		name := fmt.Sprintf("cluster-%02d", c)
		for i := range perCluster {
			k := pdrift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: fmt.Sprintf("team-%d", i%50), Name: fmt.Sprintf("app-%d", i)}
			f := &pdrift.Finding{Cluster: name, APIVersion: "apps/v1", Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
			switch i % 4 {
			case 0, 1:
				f.State = pdrift.StateDrifted
				at := time.Now().Add(-time.Duration(i) * time.Minute)
				f.Changes = []pdrift.Change{{Path: ".spec.replicas", Type: pdrift.ChangeModified, Desired: int64(3), Live: int64(5), Manager: "kubectl-scale", Operation: "Update", Time: &at},
					{Path: `.spec.template.spec.containers[name="app"].image`, Type: pdrift.ChangeModified, Desired: "app:1.4", Live: fmt.Sprintf("app:1.%d", c%9), Manager: "kubectl-set", Operation: "Update", Time: &at}}
				f.ResourceDelta = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m"), corev1.ResourceMemory: resource.MustParse("2Gi")}
			case 2:
				f.State = pdrift.StateMissing
			default:
				f.State = pdrift.StateUnmanaged
			}
			if _, err := st.Observe(ctx, name, k, f, "", time.Now()); err != nil {
				return err
			}
		}
	}
	fmt.Printf("store: %d clusters × %d findings written in %s\n", clusters, perCluster, time.Since(start).Round(time.Millisecond))
	now := time.Now()
	statuses := make([]event.Status, clusters)
	for c := range statuses {
		cov := 0.97
		statuses[c] = event.Status{Name: fmt.Sprintf("cluster-%02d", c), State: event.StateOK, Ready: true, Objects: objects,
			Findings: perCluster, Drifted: perCluster / 2, Missing: perCluster / 4, Unmanaged: perCluster / 4, Coverage: &cov, LastScan: &now}
	}
	labels := map[string]map[string]string{}
	for c := range statuses {
		labels[statuses[c].Name] = map[string]string{"env": []string{"prod", "staging"}[c%2], "region": []string{"eu", "us", "ap"}[c%3]}
	}
	hub := server.NewHub()
	srv, err := server.New(server.Backend{Store: st, Clusters: func() []event.Status { return statuses }, Ready: func() bool { return true },
		Hub: hub, Metrics: metrics.New(), Runs: st, Remediations: queue.New(nil, st, queue.DefaultOptions()), Labels: labels},
		server.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = srv.Serve(sctx, ln) }()
	base := "http://" + ln.Addr().String()

	path, err := exec.LookPath("chromium")
	if err != nil {
		return fmt.Errorf("chromium: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800), chromedp.Flag("enable-precise-memory-info", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		return err
	}
	fmt.Printf("| page | first render | of which API | rows drawn | JS heap used |\n|---|---:|---:|---:|---:|\n")
	for _, p := range []struct{ name, hash, rows string }{
		{"Fleet", "#/", "tr[data-cluster]"},
		{"Cluster", "#/cluster/cluster-07", "tr[data-id]"},
		{"Object", "#/object/cluster-07/apps/Deployment/team-4/app-4", "tr.change"},
		{"Skew", "#/skew", "tr[data-path]"},
		{"Remediations", "#/remediations", "tr"},
		{"Cost of drift", "#/cost", "tr[data-id]"},
	} {
		// A new document each time: the time from navigation to the page
		// drawn with its data, as a person opening the link sees it.
		tctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
		err := chromedp.Do(tctx, chromedp.Navigate("about:blank"))
		t0 := time.Now()
		if err == nil {
			err = chromedp.Do(tctx, chromedp.Navigate(base+"/"+p.hash), chromedp.WaitReady(chromedp.CSS(`#page[data-rendered]`)))
		}
		tcancel()
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		took := time.Since(t0)
		rows, _ := chromedp.Run(bctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", p.rows)))
		heap, _ := chromedp.Run(bctx, chromedp.Evaluate[float64]("performance.memory.usedJSHeapSize"))
		// The API's share: the longest request the page waited for.
		api, _ := chromedp.Run(bctx, chromedp.Evaluate[float64](`Math.max(0, ...performance.getEntriesByType('resource')
			.filter((e) => e.name.includes('/api/v1/') && !e.name.includes('/stream')).map((e) => e.duration))`))
		fmt.Printf("| %s | %s | %s | %d | %.1f MB |\n", p.name, took.Round(time.Millisecond), (time.Duration(api) * time.Millisecond).Round(time.Millisecond), rows, heap/1e6)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("\nserver and store (this process) after the pages: Go heap in use %.1f MB\n", float64(ms.HeapInuse)/1e6)
	return nil
}
