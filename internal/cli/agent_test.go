package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testwait"
)

// startAgent runs plumb agent until the test ends, or stop.
func startAgent(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Execute(ctx, append([]string{"agent", "--kubeconfig", env.Kubeconfig}, args...),
			Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("plumb agent exited %d", code)
				}
			case <-time.After(30 * time.Second):
				t.Error("plumb agent did not stop within 30s")
			}
			if t.Failed() {
				t.Logf("plumb agent's log:\n%s", errOut.String())
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// hubGet GETs an API path with the bearer token and decodes the answer.
func hubGet(t *testing.T, base, token, path string, v any) {
	t.Helper()
	if code := call(t, http.MethodGet, base+path, token, v); code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, code)
	}
}

func hubEvents(t *testing.T, base, token, cluster string) []store.Event {
	t.Helper()
	var evs struct{ Items []store.Event }
	hubGet(t, base, token, "/api/v1/events?cluster="+cluster, &evs)
	return evs.Items
}

func hubCluster(t *testing.T, base, token, name string) (event.Status, bool) {
	t.Helper()
	var cl struct{ Items []event.Status }
	hubGet(t, base, token, "/api/v1/clusters", &cl)
	for _, c := range cl.Items {
		if c.Name == name {
			return c, true
		}
	}
	return event.Status{}, false
}

// TestAgent runs a hub that cannot reach the cluster (its kubeconfig names
// nothing) and an agent in the cluster that reaches the hub over HTTPS: a
// change reaches the hub; changes made while the hub is down reach it once
// it is back, each event once, though the agent restarted meanwhile; a fix asked for on the hub is applied by the
// agent.
func TestAgent(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, addr := filepath.Join(dir, "hub.db"), freeAddr(t)
	hubArgs := []string{"--kubeconfig", filepath.Join(dir, "no-such-kubeconfig"), "--agents", "--token-file", token, "--store", db}
	agentToken := agentTokenFile(t, db, "edge")
	base, stop := startServeAt(t, addr, hubArgs...)
	// The agent reaches the hub over HTTPS, through a proxy (an ingress)
	// that stays up while the hub restarts.
	hubURL, _ := url.Parse(base)
	ingress := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(hubURL))
	t.Cleanup(ingress.Close)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ingress.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "agent")
	agentArgs := []string{"-n", ns, "--source", shop, "--hub", ingress.URL, "--hub-ca-file", ca, "--token-file", agentToken, "--state-dir", state,
		"--cluster-name", "edge", "--heartbeat", "200ms"}
	stopAgent := startAgent(t, agentArgs...)

	testwait.For(t, 30*time.Second, "the agent's cluster listed, ready", func() bool {
		c, ok := hubCluster(t, base, "s3cret", "edge")
		return ok && c.Agent && c.Ready && c.State == event.StateOK && c.Objects == 9 && c.LastSeen != nil
	})
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	testwait.For(t, 10*time.Second, "the change on the hub", func() bool {
		evs := hubEvents(t, base, "s3cret", "edge")
		return len(evs) == 1 && evs[0].Name == "api" && evs[0].ResolvedAt == nil && slices.Contains(evs[0].Managers, "kubectl-set")
	})

	// The hub goes down; the cluster changes three times meanwhile.
	if code := stop(); code != 0 {
		t.Fatalf("hub exited %d", code)
	}
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.4.2")
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/worker", "worker=ghcr.io/example/shop-worker:1.5.0")
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/web", "web=nginx:1.28")
	testwait.For(t, 10*time.Second, "three observations in the agent's outbox", func() bool {
		b, _ := os.ReadFile(filepath.Join(state, "outbox", "outbox.jsonl"))
		return bytes.Count(b, []byte("\n")) >= 3
	})
	// The agent restarts too, while the hub is still down: what it holds
	// is on disk.
	stopAgent()
	startAgent(t, agentArgs...)
	time.Sleep(time.Second)

	base, _ = startServeAt(t, addr, hubArgs...)
	testwait.For(t, 30*time.Second, "the buffered observations on the hub", func() bool {
		return len(hubEvents(t, base, "s3cret", "edge")) == 3
	})
	time.Sleep(time.Second) // five heartbeats: nothing more arrives
	evs := hubEvents(t, base, "s3cret", "edge")
	got := map[string]bool{}
	for _, e := range evs {
		got[e.Name+map[bool]string{true: " resolved", false: " open"}[e.ResolvedAt != nil]] = true
	}
	if len(evs) != 3 || !got["api resolved"] || !got["worker open"] || !got["web open"] {
		t.Fatalf("events after the restart = %+v, want api resolved, worker and web open", evs)
	}
	if c, _ := hubCluster(t, base, "s3cret", "edge"); !c.Agent || c.State != event.StateOK || c.Drifted != 2 {
		t.Errorf("cluster after the restart = %+v, want an agent's, ok, two drifted", c)
	}
	if b, _ := os.ReadFile(filepath.Join(state, "outbox", "outbox.jsonl")); len(b) != 0 {
		t.Errorf("the outbox keeps %d bytes once the hub acknowledged everything", len(b))
	}

	// A fix asked for on the hub is applied by the agent, in its cluster.
	var worker string
	for _, e := range evs {
		if e.Name == "worker" {
			worker = e.FindingID
		}
	}
	var fix agent.Fix
	if code := hubPost(t, base+"/api/v1/agents/edge/fixes", "s3cret", `{"findings": ["`+worker+`"]}`, &fix); code != http.StatusCreated || fix.State != agent.FixPending {
		t.Fatalf("POST fixes: %d %+v", code, fix)
	}
	testwait.For(t, 40*time.Second, "the fix reported", func() bool {
		var fixes struct{ Items []agent.Fix }
		hubGet(t, base, "s3cret", "/api/v1/agents/edge/fixes", &fixes)
		fix = fixes.Items[0]
		return fix.State != agent.FixPending
	})
	if fix.State != agent.FixApplied || fix.Run == 0 || len(fix.Results) != 1 || fix.Results[0].Outcome != "applied" {
		t.Fatalf("fix = %+v, want applied, one object, a run", fix)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment/worker", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "ghcr.io/example/shop-worker:1.4.2" {
		t.Errorf("worker's image = %s after the fix", got)
	}
	testwait.For(t, 10*time.Second, "the worker's finding resolved on the hub", func() bool {
		for _, e := range hubEvents(t, base, "s3cret", "edge") {
			if e.Name == "worker" {
				return e.ResolvedAt != nil
			}
		}
		return false
	})
	if code := hubPost(t, base+"/api/v1/agents/edge/fixes", "s3cret", `{"findings": ["envtest/apps/Deployment/`+ns+`/web"]}`, &fix); code != http.StatusNotFound {
		t.Errorf("a fix of another cluster's finding: %d, want 404", code)
	}
}

// agentTokenFile makes the token of cluster's agent in the hub's store db,
// as plumb agent token does, and returns the file it is written to.
func agentTokenFile(t *testing.T, db, cluster string) string {
	t.Helper()
	code, out, stderr := run(t, "agent", "token", cluster, "--store", db)
	if code != 0 || len(strings.TrimSpace(out)) != 64 {
		t.Fatalf("plumb agent token %s: exit %d, %q\n%s", cluster, code, out, stderr)
	}
	path := filepath.Join(t.TempDir(), cluster+".token")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAgentCredentials: each agent's token speaks for its own cluster
// only. The hub refuses, with real requests: no token or the API's token
// (401), another cluster's agent posting observations, or reporting on
// another cluster's fix (403), an entry of an unknown kind, a malformed
// key and a finding past the size limit (400, nothing applied); a replaced
// token stops working at once; and the agent refuses a plain-HTTP hub
// beyond loopback.
func TestAgentCredentials(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hub.db")
	apiToken := filepath.Join(dir, "api-token")
	if err := os.WriteFile(apiToken, []byte("api-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	edge, other := read(agentTokenFile(t, db, "edge")), read(agentTokenFile(t, db, "other"))
	base, _ := startServe(t, "--kubeconfig", filepath.Join(dir, "no-such-kubeconfig"), "--agents", "--store", db, "--token-file", apiToken)
	post := func(path, token, body string) int {
		t.Helper()
		var out map[string]any
		return hubPost(t, base+path, token, body, &out)
	}
	key := `{"kind":"ConfigMap","namespace":"shop","name":"settings"}`
	finding := func(user string, pad int) string {
		return `{"cluster":"x","apiVersion":"v1","kind":"ConfigMap","namespace":"shop","name":"settings","state":"drifted",` +
			`"changes":[{"path":".data.mode","type":"modified","desired":"fast","live":"` + strings.Repeat("x", pad) + `","manager":"kubectl","user":{"name":"` + user + `"}}]}`
	}
	batch := func(kind, key, finding string) string {
		f := ""
		if finding != "" {
			f = `,"finding":` + finding
		}
		return `{"stream":"s1","status":{},"entries":[{"seq":1,"kind":"` + kind + `","key":` + key + f + `,"at":"2026-12-05T10:00:00Z"}]}`
	}
	for _, tc := range []struct {
		name, path, token, body string
		want                    int
	}{
		{"no token", "/api/v1/agents/edge/observations", "", batch("observe", key, ""), http.StatusUnauthorized},
		{"the API's token", "/api/v1/agents/edge/observations", "api-s3cret", batch("observe", key, ""), http.StatusUnauthorized},
		{"another cluster's agent", "/api/v1/agents/edge/observations", other, batch("observe", key, finding("ceo@example.com", 1)), http.StatusForbidden},
		{"a report on another cluster's fix", "/api/v1/agents/other/fixes/1/report", edge, `{"results":[]}`, http.StatusForbidden},
		{"an unknown kind of entry", "/api/v1/agents/edge/observations", edge, batch("obliterate", key, ""), http.StatusBadRequest},
		{"a malformed key", "/api/v1/agents/edge/observations", edge, batch("observe", `{"kind":"ConfigMap","namespace":"Shop/..","name":"a\u001b[2J"}`, ""), http.StatusBadRequest},
		{"a finding past the limit", "/api/v1/agents/edge/observations", edge, batch("observe", key, finding("jane", agent.MaxFinding)), http.StatusBadRequest},
		{"its own cluster", "/api/v1/agents/edge/observations", edge, batch("observe", key, finding("jane", 1)), http.StatusOK},
	} {
		if code := post(tc.path, tc.token, tc.body); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
	var evs struct{ Items []store.Event }
	hubGet(t, base, "api-s3cret", "/api/v1/events", &evs)
	if len(evs.Items) != 1 || evs.Items[0].Cluster != "edge" {
		t.Errorf("events on the hub: %+v, want edge's one", evs.Items)
	}
	// A new token for edge: the old one no longer speaks for it.
	fresh := read(agentTokenFile(t, db, "edge"))
	if code := post("/api/v1/agents/edge/observations", edge, `{"stream":"s1","status":{},"entries":[]}`); code != http.StatusUnauthorized {
		t.Errorf("the replaced token: %d, want 401", code)
	}
	if code := post("/api/v1/agents/edge/observations", fresh, `{"stream":"s1","status":{},"entries":[]}`); code != http.StatusOK {
		t.Errorf("the new token: %d, want 200", code)
	}
	tokenFile := filepath.Join(dir, "edge.token")
	if err := os.WriteFile(tokenFile, []byte(fresh), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "agent", "--hub", "http://hub.example.com", "--token-file", tokenFile, "--source", shop); code != ExitError || !strings.Contains(stderr, "in clear") {
		t.Errorf("an http:// hub beyond loopback: exit %d, %q; want a refusal", code, stderr)
	}
}

// hubPost POSTs body with the bearer token and decodes the answer.
func hubPost(t *testing.T, url, token, body string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("POST %s: %d: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// TestAgentLatency measures (with PLUMB_BENCH_AGENT=ROUNDS) how long a
// change takes to reach the hub's stream from an agent, against the same
// change in the same cluster watched by the hub directly, in one run.
func TestAgentLatency(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("PLUMB_BENCH_AGENT"))
	if rounds <= 0 {
		t.Skip("set PLUMB_BENCH_AGENT=ROUNDS to measure")
	}
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	dir := t.TempDir()
	token := agentTokenFile(t, filepath.Join(dir, "hub.db"), "edge")
	base, _ := startServe(t, "-n", ns, "--source", shop, "--agents", "--store", filepath.Join(dir, "hub.db"))
	startAgent(t, "-n", ns, "--source", shop, "--hub", base, "--token-file", token, "--state-dir", filepath.Join(dir, "agent"), "--cluster-name", "edge")
	testwait.For(t, 30*time.Second, "the agent's cluster ready", func() bool {
		c, ok := hubCluster(t, base, "", "edge")
		return ok && c.Ready
	})
	events := sse(t, base+"/api/v1/stream")
	time.Sleep(100 * time.Millisecond)
	var direct, viaAgent []time.Duration
	for i := range rounds {
		image := []string{"1.5.0", "1.4.2"}[i%2]
		start := time.Now()
		env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:"+image)
		for seen := 0; seen < 2; {
			select {
			case e := <-events:
				var ev event.Event
				if json.Unmarshal([]byte(e[1]), &ev) != nil || ev.Cluster == "" {
					continue
				}
				seen++
				if ev.Cluster == "edge" {
					viaAgent = append(viaAgent, time.Since(start))
				} else {
					direct = append(direct, time.Since(start))
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("round %d: %d of 2 events within 30s", i, seen)
			}
		}
	}
	extra := make([]time.Duration, rounds)
	for i := range extra {
		extra[i] = viaAgent[i] - direct[i]
	}
	median := func(ds []time.Duration) time.Duration { ds = slices.Clone(ds); slices.Sort(ds); return ds[len(ds)/2] }
	t.Logf("%d changes (from kubectl's start): directly watched median %v max %v; through the agent median %v max %v; the agent's extra per change median %v max %v",
		rounds, median(direct), slices.Max(direct), median(viaAgent), slices.Max(viaAgent), median(extra), slices.Max(extra))
}

// TestAgentBacklog measures (with PLUMB_BENCH_AGENT_BACKLOG=OBJECTS) how
// fast a hub back from a restart takes the observations an agent buffered
// while it was down: every declared ConfigMap changed at once.
func TestAgentBacklog(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PLUMB_BENCH_AGENT_BACKLOG"))
	if n <= 0 {
		t.Skip("set PLUMB_BENCH_AGENT_BACKLOG=OBJECTS to measure")
	}
	ns := env.Namespace(t)
	dir := t.TempDir()
	manifests := func(value string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: %s\ndata:\n  key: %s\n", i, ns, value)
		}
		return b.String()
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "cms.yaml"), []byte(manifests("declared")), 0o600); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "apply", "--server-side", "-f", filepath.Join(src, "cms.yaml"))
	db, addr := filepath.Join(dir, "hub.db"), freeAddr(t)
	token := agentTokenFile(t, db, "edge")
	hubArgs := []string{"--kubeconfig", filepath.Join(dir, "no-such-kubeconfig"), "--agents", "--store", db}
	base, stop := startServeAt(t, addr, hubArgs...)
	state := filepath.Join(dir, "agent")
	startAgent(t, "-n", ns, "--source", src, "--hub", base, "--token-file", token, "--state-dir", state, "--cluster-name", "edge")
	testwait.For(t, 5*time.Minute, "the agent's cluster ready", func() bool {
		c, ok := hubCluster(t, base, "", "edge")
		return ok && c.Ready
	})
	stop()
	env.Kubectl(t, manifests("by-hand"), "apply", "--server-side", "--force-conflicts", "--field-manager", "by-hand", "-f", "-")
	testwait.For(t, 5*time.Minute, "every change in the outbox", func() bool {
		b, _ := os.ReadFile(filepath.Join(state, "outbox", "outbox.jsonl"))
		return bytes.Count(b, []byte("\n")) >= n
	})
	base, _ = startServeAt(t, addr, hubArgs...)
	// From the first observation applied to the last: the agent's wait
	// before it tries again (it backs off while the hub is down) is not
	// counted.
	var first time.Time
	var firstCount int
	testwait.For(t, 5*time.Minute, "every change on the hub", func() bool {
		var evs struct{ Items []store.Event }
		getJSON(t, base+"/api/v1/events?cluster=edge&limit=1000", &evs)
		if first.IsZero() && len(evs.Items) > 0 {
			first, firstCount = time.Now(), len(evs.Items)
		}
		return len(evs.Items) >= n
	})
	d := time.Since(first)
	c, _ := hubCluster(t, base, "", "edge")
	time.Sleep(2 * time.Second)
	var evs struct{ Items []store.Event }
	getJSON(t, base+"/api/v1/events?cluster=edge&limit=1000", &evs)
	if len(evs.Items) != n {
		t.Errorf("%d events, want %d", len(evs.Items), n)
	}
	t.Logf("%d buffered observations: %d more applied in %v after the first seen: %.0f/s; the agent's status: %d drifted", n, n-firstCount, d.Round(time.Millisecond), float64(n-firstCount)/d.Seconds(), c.Drifted)
}
