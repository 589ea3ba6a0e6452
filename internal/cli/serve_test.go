package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testwait"
)

// startServe runs plumb serve until the test ends and returns its base URL.
func startServe(t *testing.T, args ...string) (base string, stop func() int) {
	t.Helper()
	return startServeAt(t, freeAddr(t), args...)
}

// startServeAt runs plumb serve on addr until the test ends (or stop).
func startServeAt(t *testing.T, addr string, args ...string) (base string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Execute(ctx, append([]string{"serve", "--kubeconfig", env.Kubeconfig, "--listen", addr}, args...),
			Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	}()
	base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("plumb serve never became ready; stderr:\n%s", errOut.String())
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("plumb serve exited %d before it was ready; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("plumb serve did not stop within 30s")
			return -1
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("plumb serve's log:\n%s", errOut.String())
		}
	})
	return base, stop
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// sse reads Server-Sent Events into a channel of "event name" + data.
func sse(t *testing.T, url string) <-chan [2]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var name string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ch <- [2]string{name, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(ch)
	}()
	return ch
}

func waitEvent(t *testing.T, ch <-chan [2]string, want string) string {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("stream closed before %s", want)
		}
		if e[0] != want {
			t.Fatalf("stream event %q, want %q: %s", e[0], want, e[1])
		}
		return e[1]
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s event within 10s", want)
	}
	return ""
}

func TestServe(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	db := filepath.Join(t.TempDir(), "plumb.db")
	hook, hooks := webhookReceiver(t)
	base, stop := startServe(t, "-n", ns, "--source", shop, "--store", db, "--notify-webhook", hook)

	var clusters struct {
		Items []struct {
			Name, Status      string
			Ready             bool
			Objects, Findings int
		}
	}
	getJSON(t, base+"/api/v1/clusters", &clusters)
	if len(clusters.Items) != 1 || !clusters.Items[0].Ready || clusters.Items[0].Objects != 9 || clusters.Items[0].Findings != 0 {
		t.Fatalf("clusters = %+v, want one ready cluster with 9 objects and no findings", clusters.Items)
	}

	// Go's profiles are served only with --profiling.
	if resp, err := http.Get(base + "/debug/pprof/"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without --profiling: %v %v, want 404", resp, err)
	} else {
		resp.Body.Close()
	}

	events := sse(t, base+"/api/v1/stream")
	time.Sleep(100 * time.Millisecond) // let the subscription register
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	opened := waitEvent(t, events, "opened")
	if !strings.Contains(opened, `"kubectl-set"`) || !strings.Contains(opened, `containers[name=\"api\"].image`) {
		t.Errorf("opened event lacks the change: %s", opened)
	}
	var findings struct{ Items []store.Finding }
	getJSON(t, base+"/api/v1/findings?manager=kubectl-set", &findings)
	if len(findings.Items) != 1 || findings.Items[0].Name != "api" {
		t.Fatalf("findings by manager = %+v", findings.Items)
	}
	var one store.Finding
	if code := getJSON(t, base+"/api/v1/findings/"+findings.Items[0].ID, &one); code != 200 || len(one.Changes) != 1 {
		t.Errorf("one finding: %d %+v", code, one)
	}

	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.4.2")
	waitEvent(t, events, "resolved")
	var history struct{ Items []store.Event }
	getJSON(t, base+"/api/v1/events?cluster="+testclusterContext(), &history)
	if len(history.Items) != 1 || history.Items[0].ResolvedAt == nil || history.Items[0].ResolvedBy != "kubectl-set" {
		t.Errorf("history = %+v, want one resolved event, resolved by kubectl-set", history.Items)
	}

	// The webhook heard of both.
	var bodies []notify.Payload
	testwait.For(t, 10*time.Second, "two webhook notifications", func() bool { bodies = hooks(); return len(bodies) == 2 })
	if bodies[0].Event == nil || bodies[0].Event.Transition != store.Opened || bodies[1].Event == nil || bodies[1].Event.Transition != store.Resolved {
		t.Errorf("webhook bodies = %+v", bodies)
	}

	// Errors are JSON with a code.
	var apiErr struct {
		Code    int
		Reason  string
		Message string
	}
	if code := getJSON(t, base+"/api/v1/findings/nope", &apiErr); code != 404 || apiErr.Code != 404 || apiErr.Reason != "NotFound" {
		t.Errorf("unknown finding: %d %+v", code, apiErr)
	}
	if code := getJSON(t, base+"/api/v1/events?since=yesterday", &apiErr); code != 400 || !strings.Contains(apiErr.Message, "RFC 3339") {
		t.Errorf("bad since: %d %+v", code, apiErr)
	}
	var doc map[string]any
	if getJSON(t, base+"/api/v1/openapi.json", &doc); doc["openapi"] != "3.0.3" {
		t.Errorf("openapi document: %v", doc["openapi"])
	}

	// Metrics parse and hold what the issue asks for.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	for _, name := range []string{"plumb_findings", "plumb_detection_latency_seconds", "plumb_watch_starts_total", "plumb_api_requests_total",
		"plumb_dry_runs", "plumb_comparison_cache_hits", "plumb_store_write_seconds"} {
		if families[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if h := families["plumb_detection_latency_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() < 2 {
		t.Errorf("detection latency observed %d times, want at least the two changes", h.GetSampleCount())
	}

	// A clean stop, and the history is still there.
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d on stop", code)
	}
	st, err := store.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if evs, _ := st.Events(context.Background(), store.EventFilter{}); len(evs) != 1 {
		t.Errorf("history after stop: %d events, want 1", len(evs))
	}
}

func testclusterContext() string { return "envtest" }

// webhookReceiver is a real HTTP endpoint for --notify-webhook; hooks
// returns the payloads it received so far, in order.
func webhookReceiver(t *testing.T) (url string, hooks func() []notify.Payload) {
	t.Helper()
	var mu sync.Mutex
	var got []notify.Payload
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []notify.Payload {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}
