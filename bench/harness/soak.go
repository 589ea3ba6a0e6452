package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/testcluster"
)

// soakOptions shape the soak.
type soakOptions struct {
	// clusters is how many API servers plumb watches. Default 3.
	clusters int
	// objects is how many generated objects each cluster holds.
	objects int
	// duration is how long changes are made. Default 30m.
	duration time.Duration
	// open is how many objects of a cluster the driver keeps drifted at
	// once; each is put back about 2×open changes of its cluster later.
	// Default 10.
	open int
	// reports, if set, is a folder to keep plumb's logs, the changes, the
	// events and the memory samples in.
	reports string
}

// soakNamespace is where each cluster's objects live.
const soakNamespace = "soak"

// soakChange is one out-of-band change the driver made.
type soakChange struct {
	cluster string
	// id is the finding the change should open or resolve.
	id   string
	kind string // ConfigMap or Deployment
	name string
	// drift is true for a change away from the source (the finding should
	// open), false for one putting it back (it should resolve).
	drift bool
	// sent and done bound the request.
	sent, done time.Time
	err        error
}

// soakEvent is an event seen on plumb's stream.
type soakEvent struct {
	id, transition string
	at             time.Time
}

// soakSample is plumb's memory at one time.
type soakSample struct {
	at      time.Duration // since the soak began
	process int           // 1 for the first plumb serve, 2 after the kill, …
	rss     resident
}

// window is a span of time in which plumb could not see changes.
type window struct{ from, to time.Time }

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

// runSoak runs plumb serve on a fleet for opts.duration while a driver
// makes one out-of-band change a second, round-robin across the clusters,
// drifting objects and putting them back. At a third of the time one
// API server is restarted (stop, start on the same port and etcd); at two
// thirds plumb serve is killed with SIGKILL and started again on the
// same store. At the end it compares plumb's open findings with the
// clusters' live objects, and plumb's events with the changes made, and
// reports plumb's memory over the run.
func runSoak(plumb string, opts soakOptions) error {
	plumb, err := filepath.Abs(plumb)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plumb-bench-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logs := work
	if opts.reports != "" {
		if err := os.MkdirAll(opts.reports, 0o755); err != nil {
			return err
		}
		logs = opts.reports
	}

	// The restart is graceful, as in a rolling upgrade: the watches are
	// ended within 10 s of SIGTERM rather than waited for until
	// kube-apiserver's 60 s shutdown timeout.
	envs, stop, err := startControlPlanes(opts.clusters, testcluster.Options{APIServerFlags: map[string]string{
		"shutdown-watch-termination-grace-period": "10s",
	}})
	defer stop()
	if err != nil {
		return err
	}
	names := make([]string, opts.clusters)
	var cfg strings.Builder
	cfg.WriteString("apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n")
	var file string
	for i, e := range envs {
		names[i] = fmt.Sprintf("c%d", i+1)
		if file, err = seed(e, work, soakNamespace, opts.objects); err != nil {
			return err
		}
		fmt.Fprintf(&cfg, "  - {name: %s, kubeconfig: %s, context: %s}\n", names[i], e.Kubeconfig, e.Context)
	}
	fmt.Fprintf(&cfg, "sources:\n  - {name: soak, path: %s, namespace: %s}\nbindings:\n  - {source: soak, clusters: {}}\n", file, soakNamespace)
	cfgFile := filepath.Join(work, "plumb.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o644); err != nil {
		return err
	}

	// plumb serve, on one address and one store for its whole life.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	base := "http://" + addr
	store := filepath.Join(work, "plumb.db")
	var (
		mu      sync.Mutex
		current *served // guarded by mu
		process int     // guarded by mu; how many plumb serve were started
	)
	launch := func() (*served, time.Time, error) {
		mu.Lock()
		process++
		n := process
		mu.Unlock()
		log, err := os.Create(filepath.Join(logs, fmt.Sprintf("serve-%d.log", n)))
		if err != nil {
			return nil, time.Time{}, err
		}
		began := time.Now()
		s, err := launchServe(plumb, addr, log, []string{"serve", "-c", cfgFile, "--store", store, "-v", "1"})
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("plumb serve #%d: %w (log %s)", n, err, log.Name())
		}
		mu.Lock()
		current = s
		mu.Unlock()
		return s, began.Add(s.ready), nil
	}
	first, _, err := launch()
	if err != nil {
		return err
	}
	defer func() {
		mu.Lock()
		s := current
		mu.Unlock()
		s.stop()
	}()
	fmt.Fprintf(os.Stderr, "soak: plumb serve ready after %s watching %d clusters × %d objects; changes for %s\n",
		first.ready.Round(100*time.Millisecond), opts.clusters, opts.objects, opts.duration)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	began := time.Now()

	// The stream, reconnected whenever plumb goes away.
	var (
		streamMu sync.Mutex
		stream   []soakEvent // guarded by streamMu
	)
	go func() {
		for ctx.Err() == nil {
			readStream(ctx, base, func(e soakEvent) {
				streamMu.Lock()
				stream = append(stream, e)
				streamMu.Unlock()
			})
			time.Sleep(200 * time.Millisecond)
		}
	}()

	// Memory every 10 s.
	var (
		samplesMu sync.Mutex
		samples   []soakSample // guarded by samplesMu
	)
	sampleNow := func() {
		mu.Lock()
		s, n := current, process
		mu.Unlock()
		if r := rss(s.pid()); r.total > 0 {
			samplesMu.Lock()
			samples = append(samples, soakSample{at: time.Since(began), process: n, rss: r})
			samplesMu.Unlock()
		}
	}
	sampleNow()
	// Sampling ends with the changes: the reads of the final check are
	// not the soak's.
	sampling, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go func() {
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-sampling.Done():
				return
			case <-tick.C:
				sampleNow()
			}
		}
	}()

	// The driver: one change a second until the end.
	d := newSoakDriver(envs, names, opts.objects, opts.open)
	driven := make(chan struct{})
	go func() {
		defer close(driven)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for k := 0; time.Since(began) < opts.duration; k++ {
			<-tick.C
			d.step(ctx)
			if k%60 == 59 {
				made, failed, open := d.counts()
				samplesMu.Lock()
				last := samples[len(samples)-1] // one is taken before the driver starts
				samplesMu.Unlock()
				fmt.Fprintf(os.Stderr, "soak: %s: %d changes (%d failed), %d objects drifted, plumb #%d RSS %d MiB\n",
					time.Since(began).Round(time.Second), made, failed, open, last.process, last.rss.total/1024)
			}
		}
	}()

	// At a third: restart one API server, not plumb's fault to see.
	sleepUntil(began.Add(opts.duration / 3))
	victim := 1 % opts.clusters
	d.down[victim].Store(true)
	stopped := time.Now()
	watching, stopWatching := context.WithCancel(ctx)
	statuses := make(chan string)
	go func() { statuses <- clusterStatuses(watching, base, names[victim], stopped) }()
	restartErr := envs[victim].RestartAPIServer()
	d.down[victim].Store(false)
	if restartErr != nil {
		stopWatching()
		return restartErr
	}
	restarted := time.Now()
	back := waitClusterOK(base, names[victim], 3*time.Minute)
	time.Sleep(30 * time.Second)
	stopWatching()
	fmt.Fprintf(os.Stderr, "soak: %s: %s's API server down for %s; plumb reports it ok %s after it was back; its status in plumb's API from the stop on: %s\n",
		stopped.Sub(began).Round(time.Second), names[victim], restarted.Sub(stopped).Round(100*time.Millisecond), back.Round(100*time.Millisecond), <-statuses)

	// At two thirds: kill plumb serve and start it again on the same store.
	sleepUntil(began.Add(2 * opts.duration / 3))
	mu.Lock()
	victimServe := current
	mu.Unlock()
	if err := victimServe.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = victimServe.cmd.Wait()
	killed := time.Now()
	_, ready, err := launch()
	if err != nil {
		return err
	}
	// Changes answered from just before the kill (plumb may not have
	// stored them) until the new plumb is ready could not be seen live.
	blind := window{from: killed.Add(-2 * time.Second), to: ready}
	fmt.Fprintf(os.Stderr, "soak: %s: plumb serve killed (SIGKILL), ready again after %s\n",
		killed.Sub(began).Round(time.Second), ready.Sub(killed).Round(100*time.Millisecond))

	<-driven
	stopSampling()
	end := time.Since(began)
	sampleNow()
	changes := d.changes
	live, err := liveDrift(envs, names)
	if err != nil {
		return err
	}
	// Quiescence: wait until plumb's open findings agree with the
	// clusters, 2 minutes at most, then a little longer for anything late.
	quiet := time.Now()
	var findings map[string]bool
	for time.Since(quiet) < 2*time.Minute {
		if findings, err = openFindings(base); err == nil && sameSet(findings, live) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(10 * time.Second)
	if findings, err = openFindings(base); err != nil {
		return err
	}
	events, err := allEvents(base)
	if err != nil {
		return err
	}
	streamMu.Lock()
	seen := append([]soakEvent(nil), stream...)
	streamMu.Unlock()
	samplesMu.Lock()
	mem := append([]soakSample(nil), samples...)
	samplesMu.Unlock()
	cancel()

	v := judgeSoak(changes, live, findings, events, seen, blind)
	if err := keepSoak(logs, changes, events, mem, v); err != nil {
		return err
	}
	made, failed, _ := d.counts()
	fmt.Printf("| clusters × objects | duration | changes made | while plumb was down | failed (API server down) | API server restarts | plumb restarts (SIGKILL) | findings lost | events lost | events doubled | detection p50 | p99 | max | not seen on the stream | seen twice on the stream |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Printf("| %d × %d | %s | %d | %d | %d | 1 | 1 | %d | %d | %d | %s | %s | %s | %d | %d |\n",
		opts.clusters, opts.objects, end.Round(time.Second), made-failed, v.blind, failed,
		len(v.lostFindings), v.lostEvents, v.doubled, quantile(v.latency, 0.5), quantile(v.latency, 0.99), quantile(v.latency, 1), v.unseen, v.streamTwice)
	fmt.Println()
	at := func(f float64) string {
		s := nearest(mem, time.Duration(f*float64(end)))
		return fmt.Sprintf("%d MiB (#%d)", s.rss.total/1024, s.process)
	}
	slope, perProcess := growth(mem, end/2, time.Minute)
	fmt.Printf("| RSS at start (after ready) | 25 %% | 50 %% | 75 %% | end | peak | growth trend, second half (MiB / 10 min) | per process |\n")
	fmt.Printf("|---:|---:|---:|---:|---:|---:|---:|---|\n")
	peak := int64(0)
	for _, s := range mem {
		peak = max(peak, s.rss.peak)
	}
	trend := "-" // too short: no process has a sample in the second half after its first minute
	if perProcess != "-" {
		trend = fmt.Sprintf("%+.2f", slope)
	}
	fmt.Printf("| %s | %s | %s | %s | %s | %d MiB | %s | %s |\n", at(0), at(0.25), at(0.5), at(0.75), at(1), peak/1024, trend, perProcess)
	for _, l := range v.notes {
		fmt.Fprintln(os.Stderr, "soak:", l)
	}
	slowest := make([]int, len(changes))
	for i := range slowest {
		slowest[i] = i
	}
	sort.SliceStable(slowest, func(a, b int) bool { return v.perChange[slowest[a]] > v.perChange[slowest[b]] })
	for _, i := range slowest[:min(5, len(slowest))] {
		c := changes[i]
		fmt.Fprintf(os.Stderr, "soak: slow: %s at %s (%s into the soak) on the stream after %s\n",
			c.id, c.done.Format(time.TimeOnly), c.done.Sub(began).Round(time.Second), v.perChange[i].Round(time.Millisecond))
	}
	if opts.reports == "" && (len(v.lostFindings) > 0 || v.lostEvents > 0 || v.doubled > 0) {
		// Keep the evidence: the folder is not removed.
		keep, err := os.MkdirTemp("", "plumb-soak-evidence-")
		if err == nil {
			for _, name := range []string{"serve-1.log", "serve-2.log", "changes.tsv", "events.json", "memory.tsv", "verdict.txt"} {
				if b, rerr := os.ReadFile(filepath.Join(logs, name)); rerr == nil {
					_ = os.WriteFile(filepath.Join(keep, name), b, 0o644)
				}
			}
			fmt.Fprintln(os.Stderr, "soak: evidence kept in", keep)
		}
	}
	return nil
}

// quantile is the p-quantile of sorted durations, rounded.
func quantile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Millisecond)
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// soakObject is one object the driver changes.
type soakObject struct {
	kind, name string
}

func (o soakObject) id(cluster string) string {
	if o.kind == "Deployment" {
		return cluster + "/apps/Deployment/" + soakNamespace + "/" + o.name
	}
	return cluster + "//ConfigMap/" + soakNamespace + "/" + o.name
}

// soakDriver makes the changes: each step, the next cluster whose API
// server is up in turn either drifts its next object or, once open
// objects are drifted, alternately puts the oldest back.
type soakDriver struct {
	envs  []*testcluster.Env
	names []string
	// pool is the objects a cluster's changes go through, in turn:
	// ConfigMaps and Deployments (Services are declared, never changed).
	pool []soakObject
	open int
	// down marks a cluster whose API server is restarting: it is skipped.
	down []atomic.Bool

	// Only the driver's goroutine touches the rest until it is done.
	next         int
	cursor       []int          // per cluster, the next object of pool to drift
	drifted      [][]soakObject // per cluster, the drifted objects, oldest first
	steps        []int          // per cluster, steps taken
	changes      []soakChange
	made, failed int
}

func newSoakDriver(envs []*testcluster.Env, names []string, objects, open int) *soakDriver {
	d := &soakDriver{envs: envs, names: names, open: open, down: make([]atomic.Bool, len(envs)),
		cursor: make([]int, len(envs)), drifted: make([][]soakObject, len(envs)), steps: make([]int, len(envs))}
	for i := range objects {
		switch i % 4 {
		case 0, 2:
			d.pool = append(d.pool, soakObject{"ConfigMap", fmt.Sprintf("cm-%d", i)})
		case 1:
			d.pool = append(d.pool, soakObject{"Deployment", fmt.Sprintf("app-%d", i)})
		}
	}
	return d
}

// step makes one change.
func (d *soakDriver) step(ctx context.Context) {
	c := -1
	for range d.envs {
		i := d.next % len(d.envs)
		d.next++
		if !d.down[i].Load() {
			c = i
			break
		}
	}
	if c < 0 {
		return
	}
	s := d.steps[c]
	d.steps[c]++
	var o soakObject
	drift := len(d.drifted[c]) < d.open || s%2 == 0
	if drift {
		// The next object in turn that is not drifted already.
		for {
			o = d.pool[d.cursor[c]%len(d.pool)]
			d.cursor[c]++
			if !containsObject(d.drifted[c], o) {
				break
			}
		}
	} else {
		o = d.drifted[c][0]
	}
	ch := soakChange{cluster: d.names[c], id: o.id(d.names[c]), kind: o.kind, name: o.name, drift: drift, sent: time.Now()}
	ch.err = patchSoakObject(ctx, d.envs[c], o, drift)
	ch.done = time.Now()
	d.changes = append(d.changes, ch)
	d.made++
	if ch.err != nil {
		d.failed++
		return
	}
	if drift {
		d.drifted[c] = append(d.drifted[c], o)
	} else {
		d.drifted[c] = d.drifted[c][1:]
	}
}

// counts says how many changes were made, how many failed, and how many
// objects are drifted now. Only the driver's goroutine calls it while the
// driver runs.
func (d *soakDriver) counts() (made, failed, open int) {
	for _, c := range d.drifted {
		open += len(c)
	}
	return d.made, d.failed, open
}

func containsObject(objs []soakObject, o soakObject) bool {
	for _, x := range objs {
		if x == o {
			return true
		}
	}
	return false
}

// patchSoakObject drifts an object the way an engineer would, or puts it
// back as the source declares it (mode fast, 2 replicas).
func patchSoakObject(ctx context.Context, e *testcluster.Env, o soakObject, drift bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if o.kind == "Deployment" {
		replicas := 2
		if drift {
			replicas = 3
		}
		_, err := e.Clientset.AppsV1().Deployments(soakNamespace).Patch(ctx, o.name, types.MergePatchType,
			fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas), metav1.PatchOptions{FieldManager: "kubectl-scale"})
		return err
	}
	mode := "fast"
	if drift {
		mode = "slow"
	}
	_, err := e.Clientset.CoreV1().ConfigMaps(soakNamespace).Patch(ctx, o.name, types.MergePatchType,
		[]byte(`{"data":{"mode":"`+mode+`"}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"})
	return err
}

// liveDrift reads every cluster's objects and returns the findings that
// should be open: the objects that differ from the source.
func liveDrift(envs []*testcluster.Env, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	ctx := context.Background()
	for i, e := range envs {
		cms, err := e.Clientset.CoreV1().ConfigMaps(soakNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, cm := range cms.Items {
			if cm.Name != "kube-root-ca.crt" && cm.Data["mode"] != "fast" {
				out[soakObject{"ConfigMap", cm.Name}.id(names[i])] = true
			}
		}
		deps, err := e.Clientset.AppsV1().Deployments(soakNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, dep := range deps.Items {
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
				out[soakObject{"Deployment", dep.Name}.id(names[i])] = true
			}
		}
	}
	return out, nil
}

// openFindings lists plumb's open findings by id.
func openFindings(base string) (map[string]bool, error) {
	var l struct {
		Items []struct{ ID string }
	}
	if err := getJSONInto(base+"/api/v1/findings", &l); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range l.Items {
		out[f.ID] = true
	}
	return out, nil
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// soakLife is one event of the API: a finding's life from opened to
// resolved.
type soakLife struct {
	ID         int64      `json:"id"`
	FindingID  string     `json:"findingId"`
	OpenedAt   time.Time  `json:"openedAt"`
	ResolvedAt *time.Time `json:"resolvedAt,omitempty"`
	ResolvedBy string     `json:"resolvedBy,omitempty"`
	Updates    int        `json:"updates"`
}

// allEvents pages through GET /api/v1/events, newest first.
func allEvents(base string) ([]soakLife, error) {
	var out []soakLife
	next := ""
	for {
		var page struct {
			Items []soakLife
			Next  string
		}
		url := base + "/api/v1/events?limit=1000"
		if next != "" {
			url += "&" + next
		}
		if err := getJSONInto(url, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" || len(page.Items) == 0 {
			return out, nil
		}
		next = page.Next
	}
}

// readStream reads plumb's event stream until it ends or ctx does.
func readStream(ctx context.Context, base string, seen func(soakEvent)) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e struct{ FindingID, Transition string }
		if json.Unmarshal([]byte(line), &e) == nil {
			seen(soakEvent{id: e.FindingID, transition: e.Transition, at: time.Now()})
		}
	}
}

// waitClusterOK waits until plumb reports cluster ok and ready, and says
// how long that took.
func waitClusterOK(base, cluster string, limit time.Duration) time.Duration {
	began := time.Now()
	for time.Since(began) < limit {
		var l struct {
			Items []struct {
				Name, Status string
				Ready        bool
			}
		}
		if getJSONInto(base+"/api/v1/clusters", &l) == nil {
			for _, c := range l.Items {
				if c.Name == cluster && c.Status == "ok" && c.Ready {
					return time.Since(began)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return limit
}

// clusterStatuses polls plumb's status of cluster until ctx ends and
// says how it changed, with times since since.
func clusterStatuses(ctx context.Context, base, cluster string, since time.Time) string {
	var seen []string
	last := ""
	for ctx.Err() == nil {
		var l struct {
			Items []struct {
				Name, Status, Error string
				Ready               bool
			}
		}
		if err := getJSONInto(base+"/api/v1/clusters", &l); err == nil {
			for _, c := range l.Items {
				if c.Name != cluster {
					continue
				}
				now := fmt.Sprintf("%s ready=%t %s", c.Status, c.Ready, c.Error)
				if now != last {
					seen = append(seen, fmt.Sprintf("%s: %s", time.Since(since).Round(100*time.Millisecond), strings.TrimSpace(now)))
					last = now
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return strings.Join(seen, "; ")
}

// soakVerdict is what the soak found.
type soakVerdict struct {
	// lostFindings are findings open that should not be, or not open that
	// should be.
	lostFindings []string
	// lostEvents counts drift episodes plumb could see that have no event;
	// doubled counts events beyond one per episode.
	lostEvents, doubled int
	// blind counts changes made while plumb was down; unseen, changes made
	// while it was up whose transition never came on the stream.
	blind, unseen int
	// latency is each seen change's time from its response to its event
	// on the stream, sorted; perChange is the same by change (-1: made
	// while plumb was down, failed, or not seen).
	latency, perChange []time.Duration
	// streamTwice counts changes whose transition came more than once on
	// the stream.
	streamTwice int
	notes       []string
}

// judgeSoak compares what plumb recorded with what was done.
//
// Findings: the open findings must be exactly the objects that differ
// from the source at the end (read from the API servers).
//
// Events: an object's episode is a drift change and everything until the
// object's next drift change. Each event (a finding's life, opened to
// resolved) belongs to the episode in which it opened. An episode plumb
// could see (one not begun and put back inside the time plumb was down)
// must have exactly one event: none is an event lost, each beyond the
// first is an event doubled, as is an event opened outside any episode.
func judgeSoak(changes []soakChange, live, findings map[string]bool, events []soakLife, stream []soakEvent, blind window) soakVerdict {
	var v soakVerdict
	for id := range live {
		if !findings[id] {
			v.lostFindings = append(v.lostFindings, id+": drifted, no open finding")
		}
	}
	for id := range findings {
		if !live[id] {
			v.lostFindings = append(v.lostFindings, id+": in sync, finding open")
		}
	}
	sort.Strings(v.lostFindings)
	for _, l := range v.lostFindings {
		v.notes = append(v.notes, "finding lost: "+l)
	}

	byID := map[string][]soakChange{}
	for _, c := range changes {
		if c.err == nil {
			byID[c.id] = append(byID[c.id], c)
		}
	}
	lives := map[string][]soakLife{}
	for _, e := range events {
		lives[e.FindingID] = append(lives[e.FindingID], e)
	}
	for _, ls := range lives {
		sort.Slice(ls, func(i, j int) bool { return ls[i].OpenedAt.Before(ls[j].OpenedAt) })
	}
	for id, cs := range byID {
		ls := lives[id]
		used := make([]bool, len(ls))
		for i, c := range cs {
			if !c.drift {
				continue
			}
			until := time.Time{}
			for _, n := range cs[i+1:] {
				if n.drift {
					until = n.sent
					break
				}
			}
			var putBack *soakChange
			if i+1 < len(cs) && !cs[i+1].drift {
				putBack = &cs[i+1]
			}
			n := 0
			for j, l := range ls {
				if !l.OpenedAt.Before(c.sent) && (until.IsZero() || l.OpenedAt.Before(until)) {
					used[j] = true
					n++
				}
			}
			invisible := blind.holds(c.done) && putBack != nil && blind.holds(putBack.done)
			switch {
			case n == 0 && !invisible:
				v.lostEvents++
				v.notes = append(v.notes, fmt.Sprintf("event lost: %s drifted at %s", id, c.done.Format(time.TimeOnly)))
			case n > 1:
				v.doubled += n - 1
				v.notes = append(v.notes, fmt.Sprintf("event doubled: %s drifted at %s has %d events", id, c.done.Format(time.TimeOnly), n))
			}
		}
		for j, l := range ls {
			if !used[j] {
				v.doubled++
				v.notes = append(v.notes, fmt.Sprintf("event doubled: %s event %d opened at %s outside any drift", id, l.ID, l.OpenedAt.Format(time.TimeOnly)))
			}
		}
	}
	for id, ls := range lives {
		if _, ok := byID[id]; !ok {
			v.doubled += len(ls)
			v.notes = append(v.notes, fmt.Sprintf("event doubled: %s has %d events and was never changed", id, len(ls)))
		}
	}

	// Latency: from a change's response to the first event on the stream
	// of the transition it should make, before the object's next change.
	onStream := map[string][]soakEvent{}
	for _, e := range stream {
		onStream[e.id] = append(onStream[e.id], e)
	}
	next := map[int]time.Time{}
	lastOf := map[string]int{}
	for i, c := range changes {
		if j, ok := lastOf[c.id]; ok {
			next[j] = c.sent
		}
		lastOf[c.id] = i
	}
	v.perChange = make([]time.Duration, len(changes))
	for i, c := range changes {
		v.perChange[i] = -1
		if c.err != nil {
			continue
		}
		if blind.holds(c.done) {
			v.blind++
			continue
		}
		want := "resolved"
		if c.drift {
			want = "opened"
		}
		n := 0
		for _, e := range onStream[c.id] {
			if e.transition == want && !e.at.Before(c.sent) && (next[i].IsZero() || e.at.Before(next[i])) {
				if n == 0 {
					v.perChange[i] = max(0, e.at.Sub(c.done))
					v.latency = append(v.latency, v.perChange[i])
				}
				n++
			}
		}
		if n > 1 {
			v.streamTwice++
			v.notes = append(v.notes, fmt.Sprintf("%s %d times on the stream: %s at %s", want, n, c.id, c.done.Format(time.TimeOnly)))
		}
		if n == 0 {
			v.unseen++
			v.notes = append(v.notes, fmt.Sprintf("not on the stream: %s %s at %s", want, c.id, c.done.Format(time.TimeOnly)))
		}
	}
	sort.Slice(v.latency, func(i, j int) bool { return v.latency[i] < v.latency[j] })
	return v
}

// keepSoak writes the changes, events, memory samples and verdict into dir.
func keepSoak(dir string, changes []soakChange, events []soakLife, mem []soakSample, v soakVerdict) error {
	var b strings.Builder
	b.WriteString("sent\tdone\tcluster\tfinding\tchange\ton the stream after\terror\n")
	for i, c := range changes {
		what := "put back"
		if c.drift {
			what = "drift"
		}
		errText := ""
		if c.err != nil {
			errText = c.err.Error()
		}
		after := "-"
		if v.perChange[i] >= 0 {
			after = v.perChange[i].String()
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.sent.Format(time.RFC3339Nano), c.done.Format(time.RFC3339Nano), c.cluster, c.id, what, after, errText)
	}
	if err := os.WriteFile(filepath.Join(dir, "changes.tsv"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	ej, err := json.MarshalIndent(events, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "events.json"), ej, 0o644); err != nil {
		return err
	}
	b.Reset()
	b.WriteString("seconds\tprocess\trss_kib\tanon_kib\tpeak_kib\n")
	for _, s := range mem {
		fmt.Fprintf(&b, "%.0f\t%d\t%d\t%d\t%d\n", s.at.Seconds(), s.process, s.rss.total, s.rss.anon, s.rss.peak)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.tsv"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "verdict.txt"), []byte(strings.Join(v.notes, "\n")+"\n"), 0o644)
}

// nearest is the sample taken closest to at.
func nearest(mem []soakSample, at time.Duration) soakSample {
	best := mem[0]
	for _, s := range mem {
		if (s.at - at).Abs() < (best.at - at).Abs() {
			best = s
		}
	}
	return best
}

// growth fits RSS against time by least squares over the samples from
// from on, with one intercept per plumb process (a restart starts from a
// new level) and one slope, leaving out each process's first settle
// after its first sample. It returns the slope in MiB per 10 minutes, and
// each process's own slope.
func growth(mem []soakSample, from, settle time.Duration) (float64, string) {
	first := map[int]time.Duration{}
	for _, s := range mem {
		if _, ok := first[s.process]; !ok {
			first[s.process] = s.at
		}
	}
	groups := map[int][]soakSample{}
	for _, s := range mem {
		if s.at >= from && s.at-first[s.process] >= settle {
			groups[s.process] = append(groups[s.process], s)
		}
	}
	var num, den float64
	var per []string
	var procs []int
	for p := range groups {
		procs = append(procs, p)
	}
	sort.Ints(procs)
	for _, p := range procs {
		g := groups[p]
		var mt, my float64
		for _, s := range g {
			mt += s.at.Minutes()
			my += float64(s.rss.total) / 1024
		}
		mt /= float64(len(g))
		my /= float64(len(g))
		var n, dd float64
		for _, s := range g {
			n += (s.at.Minutes() - mt) * (float64(s.rss.total)/1024 - my)
			dd += (s.at.Minutes() - mt) * (s.at.Minutes() - mt)
		}
		num, den = num+n, den+dd
		if dd > 0 {
			per = append(per, fmt.Sprintf("#%d: %+.2f over %d samples", p, 10*n/dd, len(g)))
		}
	}
	if den == 0 {
		return 0, "-"
	}
	return 10 * num / den, strings.Join(per, "; ")
}
