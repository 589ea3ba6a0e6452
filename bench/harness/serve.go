package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/testcluster"
)

// runServe measures plumb serve: detection latency, idle API requests and
// memory against a controller-runtime cache of the same objects.
func runServe(plumb, crcache, sizes string, changes int, idle time.Duration, spread string) error {
	var spreads []int
	if spread != "" {
		var err error
		if spreads, err = sizeList(spread); err != nil {
			return err
		}
	}
	b, err := start(plumb, "serve", sizes)
	if err != nil {
		return err
	}
	defer b.stop()
	plumb, env, work, counts := b.plumb, b.env, b.work, b.sizes

	// Floors: each process tracking (almost) nothing, so that memory per
	// tracked object can be compared apart from binary size.
	floorFile := filepath.Join(work, "floor.yaml")
	if err := os.WriteFile(floorFile, generate(1), 0o644); err != nil {
		return err
	}
	if err := runKubectl(env, "create", "namespace", "floor"); err != nil {
		return err
	}
	plumbFloor, err := serveRSS(plumb, env.Kubeconfig, "floor", floorFile, work)
	if err != nil {
		return err
	}
	crFloor, err := cacheRSS(crcache, env.Kubeconfig, "floor")
	if err != nil {
		return err
	}
	fmt.Printf("Floors: plumb serve tracking 1 object %d MiB (%d MiB anonymous), controller-runtime cache of an empty namespace %d MiB (%d MiB anonymous).\n\n",
		plumbFloor.total/1024, plumbFloor.anon/1024, crFloor.total/1024, crFloor.anon/1024)

	fmt.Println("| tracked objects | plumb serve RSS | controller-runtime cache RSS | ratio | plumb anonymous | cache anonymous | ratio | plumb above floor | cache above floor | ratio above floors | peak RSS, plumb / cache | plumb RSS after the changes and idle time | detection p50 | detection p99 | changes | API requests in idle time (beyond watches) | start to ready |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
	for i, n := range counts {
		ns := serveNamespace(n)
		file, err := seed(env, work, ns, n)
		if err != nil {
			return err
		}

		serve, err := startServe(plumb, env.Kubeconfig, ns, file, filepath.Join(work, ns+".db"))
		if err != nil {
			return err
		}
		base, ready := serve.base, serve.ready
		plumbRSS := rss(serve.pid())

		crRSS, err := cacheRSS(crcache, env.Kubeconfig, ns)
		if err != nil {
			return err
		}

		latency, later := "-", "-"
		p50, p99, requests := "-", "-", "-"
		if i == 0 {
			lat, err := detection(env, base, ns, n, changes)
			if err != nil {
				serve.stop()
				return err
			}
			p50, p99 = lat[len(lat)/2].Round(time.Millisecond).String(), lat[len(lat)*99/100].Round(time.Millisecond).String()
			latency = strconv.Itoa(len(lat))
			idleRequests, err := requestsWhileIdle(base, idle)
			if err != nil {
				serve.stop()
				return err
			}
			requests = fmt.Sprintf("%.0f in %s", idleRequests, idle)
			later = fmt.Sprintf("%d MiB", rss(serve.pid()).total/1024)
		}
		serve.stop()
		p, c := plumbRSS, crRSS
		fmt.Printf("| %d | %d MiB | %d MiB | %.2f | %d MiB | %d MiB | %.2f | %d MiB | %d MiB | %.2f | %d / %d MiB | %s | %s | %s | %s | %s | %s |\n", n,
			p.total/1024, c.total/1024, float64(p.total)/float64(c.total),
			p.anon/1024, c.anon/1024, float64(p.anon)/float64(c.anon),
			(p.total-plumbFloor.total)/1024, (c.total-crFloor.total)/1024, float64(p.total-plumbFloor.total)/float64(c.total-crFloor.total),
			p.peak/1024, c.peak/1024, later, p50, p99, latency, requests, ready.Round(100*time.Millisecond))
	}
	// The first size again, with --unmanaged.
	if err := unmanagedCost(env, plumb, work, serveNamespace(counts[0]), counts[0], idle); err != nil {
		return err
	}
	return unmanagedSpread(env, plumb, work, spreads)
}

// serveNamespace is where the serve mode puts n objects.
func serveNamespace(n int) string { return fmt.Sprintf("serve-%d", n) }

// serveRSS starts plumb serve on a source, waits until it is ready and
// settled, and returns its RSS in KiB.
func serveRSS(plumb, kubeconfig, ns, file, work string) (resident, error) {
	serve, err := startServe(plumb, kubeconfig, ns, file, filepath.Join(work, ns+"-rss.db"))
	if err != nil {
		return resident{}, err
	}
	defer serve.stop()
	return rss(serve.pid()), nil
}

// served is a running plumb serve.
type served struct {
	cmd *exec.Cmd
	// base is the API's base URL.
	base string
	// ready is how long it took from start to /readyz answering 200.
	ready time.Duration
}

func (s *served) pid() int { return s.cmd.Process.Pid }

// stop stops plumb serve the way a user would, and waits for it.
func (s *served) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
}

// startServe starts plumb serve on a source and a store, with any extra
// flags, on a free loopback port (in namespace ns unless it is ""); it
// returns once plumb is ready and has settled for 5 s.
func startServe(plumb, kubeconfig, ns, file, store string, extra ...string) (*served, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--kubeconfig", kubeconfig, "--source", file, "--store", store}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	return launchServe(plumb, addr, nil, append(args, extra...))
}

// launchServe starts plumb serve with args on addr (it adds --listen),
// its output to log (nil: discarded); it returns once plumb is ready and
// has settled for 5 s.
func launchServe(plumb, addr string, log io.Writer, args []string) (*served, error) {
	s := &served{cmd: exec.Command(plumb, append(args, "--listen", addr)...), base: "http://" + addr}
	s.cmd.Stdout, s.cmd.Stderr = log, log
	began := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitReady(s.base, 5*time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	s.ready = time.Since(began)
	time.Sleep(5 * time.Second) // let the store and caches settle
	return s, nil
}

// cacheRSS starts the controller-runtime cache baseline on a namespace,
// waits for its sync, and returns its RSS in KiB.
func cacheRSS(crcache, kubeconfig, ns string) (resident, error) {
	cr := exec.Command(crcache, "--kubeconfig", kubeconfig, "--namespace", ns)
	out, err := cr.StdoutPipe()
	if err != nil {
		return resident{}, err
	}
	if err := cr.Start(); err != nil {
		return resident{}, err
	}
	defer func() { cr.Process.Kill(); _ = cr.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || strings.TrimSpace(line) != "synced" {
		return resident{}, fmt.Errorf("crcache: %q %v", line, err)
	}
	time.Sleep(5 * time.Second)
	return rss(cr.Process.Pid), nil
}

// detection makes changes to distinct ConfigMaps, one at a time, and
// measures from the patch's response to the finding's arrival on the API's
// event stream.
func detection(env *testcluster.Env, base, ns string, n, changes int) ([]time.Duration, error) {
	cms := env.Clientset.CoreV1().ConfigMaps(ns)
	patch := []byte(`{"data":{"mode":"slow"}}`)
	return timeOpened(base, min(changes, (n+1)/2), func(ctx context.Context, k int) (string, error) {
		name := fmt.Sprintf("cm-%d", 2*k) // even indexes are ConfigMaps
		_, err := cms.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-patch"})
		return `/ConfigMap/` + ns + `/` + name + `"`, err
	})
}

// timeOpened makes n changes, one at a time, and measures each from
// change's return to the arrival on the API's event stream of an opened
// finding whose data contains the string change returned.
func timeOpened(base string, n int, change func(ctx context.Context, k int) (string, error)) ([]time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	opened := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "event: ") {
				event = strings.TrimPrefix(line, "event: ")
			}
			if strings.HasPrefix(line, "data: ") && event == "opened" {
				opened <- line
			}
		}
	}()
	var lat []time.Duration
	for k := range n {
		match, err := change(ctx, k)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case line := <-opened:
				if strings.Contains(line, match) {
					lat = append(lat, time.Since(start))
					break wait
				}
			case <-deadline:
				return nil, fmt.Errorf("no finding matching %s within 30s", match)
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, nil
}

// nonWatchRequests sums plumb_api_requests_total for every verb but WATCH.
func nonWatchRequests(base string) (float64, error) {
	fams, err := metricFamilies(base)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, m := range fams["plumb_api_requests_total"].GetMetric() {
		verb := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == "verb" {
				verb = l.GetValue()
			}
		}
		if verb != "WATCH" {
			total += m.GetCounter().GetValue()
		}
	}
	return total, nil
}

// requestsWhileIdle counts the requests beyond watches plumb makes in d.
func requestsWhileIdle(base string, d time.Duration) (float64, error) {
	before, err := nonWatchRequests(base)
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	after, err := nonWatchRequests(base)
	return after - before, err
}

// metricFamilies reads plumb's /metrics.
func metricFamilies(base string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	return parser.TextToMetricFamilies(resp.Body)
}

// resident is a process's resident memory in KiB: all of it (VmRSS), and
// its anonymous part (RssAnon: heap, stacks, runtime), without the pages
// of the binary and libraries mapped from files, and the peak (VmHWM).
type resident struct{ total, anon, peak int64 }

// rss reads a process's resident memory.
func rss(pid int) resident {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return resident{}
	}
	var r resident
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			r.total = n
		case "RssAnon:":
			r.anon = n
		case "VmHWM:":
			r.peak = n
		}
	}
	return r
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(base string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("plumb serve not ready within %s", d)
}
