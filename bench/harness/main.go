// Command harness times plumb scan against kubectl diff --server-side on the
// same objects in the same run, on a real kube-apiserver and etcd.
//
// For each size N it applies N generated objects (half ConfigMaps, a
// quarter Deployments, a quarter Services) with kubectl apply
// --server-side, drifts 1 % of them with kubectl (patch, scale, label),
// then runs each command several times, alternating, and reports the median
// wall time, CPU time and peak RSS of each, and their ratio, as a Markdown
// table. Both tools must find the drift (exit code 1) or the run fails.
//
//	go run ./bench/harness -plumb bin/plumb -sizes 500,2000 -runs 3
//
// Each timed command's API requests are counted too, by the API server's
// own apiserver_request_total. -kubectl-max N runs kubectl diff only at
// sizes up to N and extrapolates it linearly beyond (it makes two
// requests per object), for sizes where it would take too long.
//
//	go run ./bench/harness -plumb bin/plumb -sizes 1000,10000,20000,100000 -runs 1 -kubectl-max 20000
//
// With -clusters N it measures a fleet instead: N API servers with -sizes
// objects each (one size), 1 % drifted on each, scanned by one
// `plumb scan -c plumb.yaml` against the same clusters scanned one after
// another with `plumb scan --context`, in the same run.
//
//	go run ./bench/harness -plumb bin/plumb -clusters 5 -sizes 1000 -runs 3
//
// -servers M points the -clusters contexts at M API servers instead of
// one each (a fleet larger than the machine can run), as the shard and
// dashboard modes do.
//
//	go run ./bench/harness -plumb bin/plumb -clusters 40 -servers 4 -sizes 5000 -runs 1
//
// With -serve it measures plumb serve: RSS at each size against a plain
// controller-runtime cache of the same objects (bench/crcache), and at the
// first size the detection latency of -changes out-of-band changes (from
// the patch's response to the finding on the API's event stream) and the
// API requests plumb makes, beyond its watches, in -idle time. It then
// measures --unmanaged at the first size, and over sources spread across
// each of -spread namespace counts (serve's watches, time to ready and
// RSS; scan's time), per namespace against cluster-wide.
//
//	CGO_ENABLED=0 go build -o bin/crcache ./bench/crcache   # static, as make build makes plumb
//	go run ./bench/harness -plumb bin/plumb -serve -sizes 5000,20000
//
// With -fix it measures putting drift back: plumb fix --yes --remove-added
// against kubectl apply --server-side --force-conflicts of the same file,
// each run on freshly drifted objects, and checks after every plumb run
// that plumb scan finds nothing left.
//
//	go run ./bench/harness -plumb bin/plumb -fix -sizes 500,2000 -runs 3
//
// With -admission it measures serve's admission webhook with the first
// size of declared objects: RSS without and with --admission enforce, the
// webhook's latency for reviews sent straight to it at -rate per second,
// and PATCH latency through the API server at that rate with and without
// the webhook, each for -duration.
//
//	go run ./bench/harness -plumb bin/plumb -admission -sizes 5000 -rate 100 -duration 60s
//
// With -snapshot it measures plumb snapshot -n NS --out DIR against
// kubectl get of the same kinds -n NS -o yaml into a file: time, and bytes
// written. After each plumb run, plumb scan --source DIR must find the
// namespace in sync.
//
//	go run ./bench/harness -plumb bin/plumb -snapshot -sizes 2000 -runs 5
//
// With -shard it measures replicas of plumb serve sharing a fleet through
// Leases: -replicas replicas, one PostgreSQL store, -clusters clusters
// (contexts onto two API servers); -kills times a replica is killed with
// SIGKILL and a change made at once in a cluster it watched is timed until
// another replica's API has it, against the same change where the watcher
// is alive; changes lost and events recorded twice are counted.
//
//	go run ./bench/harness -plumb bin/plumb -shard -clusters 30 -replicas 3 -kills 10
//
// With -soak it runs plumb serve for -duration (default 30m) on a fleet
// of -clusters API servers (default 3) with -sizes objects each (one
// size, default 300) and a SQLite store, while one out-of-band change a
// second, round-robin across the clusters, drifts objects and puts them
// back. At a third of the time one kube-apiserver is restarted, at two
// thirds plumb serve is killed with SIGKILL and started again on the same
// store. It reports findings and events lost or doubled, detection
// latency on the event stream, and plumb's RSS (sampled every 10 s) at
// the start, at 25, 50 and 75 % and at the end, with the least-squares
// growth over the second half. -reports keeps plumb's logs, the changes,
// the events and the memory samples.
//
//	go run ./bench/harness -plumb bin/plumb -soak -duration 30m
//
// With -accuracy it measures what each tool reports on real-world manifest
// sets (the shared real-world folder): each set deployed client-side and
// server-side (a chart also as `helm template | kubectl apply`), then each of a list of changes engineers make (real drifts
// and no-ops) made to a fresh deployment, and plumb scan and kubectl diff
// --server-side asked whether anything drifted. It prints per set what
// each tool made of each change, the drifts found, the false alarms and
// the median time of each tool. -sets and -changes select a subset;
// -reports keeps every plumb report and kubectl diff output.
//
//	go run ./bench/harness -plumb bin/plumb -accuracy
//
// It measures; it must not be imported by plumb or hold product logic.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"plumb.dev/plumb/internal/testcluster"
)

func main() {
	plumb := flag.String("plumb", "bin/plumb", "plumb binary")
	sizes := flag.String("sizes", "500,2000", "comma-separated object counts")
	runs := flag.Int("runs", 3, "timed runs of each command per size")
	kubectlMax := flag.Int("kubectl-max", 0, "scan mode: run kubectl diff only at sizes up to this many objects, and extrapolate it linearly beyond from the largest size it ran at (0: every size)")
	clusters := flag.Int("clusters", 0, "measure a fleet of this many API servers instead")
	fix := flag.Bool("fix", false, "measure plumb fix against kubectl apply --server-side instead")
	serve := flag.Bool("serve", false, "measure plumb serve instead: memory at each size, and at the first size detection latency and idle requests")
	crcache := flag.String("crcache", "bin/crcache", "serve mode: the controller-runtime cache baseline (CGO_ENABLED=0 go build -o bin/crcache ./bench/crcache)")
	changes := flag.String("changes", "", "serve mode: out-of-band changes to time (default 200); accuracy mode: comma-separated changes to make (default all)")
	idle := flag.Duration("idle", 5*time.Minute, "serve mode: idle time in which to count API requests")
	spread := flag.String("spread", "1,10,30", "serve mode: namespace counts over which to measure --unmanaged in serve and scan (empty: skip)")
	snapshot := flag.Bool("snapshot", false, "measure plumb snapshot against kubectl get -o yaml of the same objects instead")
	admission := flag.Bool("admission", false, "measure serve's admission webhook instead: latency at -rate reviews a second, and memory, with the first size of declared objects")
	rate := flag.Int("rate", 100, "admission mode: requests a second")
	duration := flag.Duration("duration", 60*time.Second, "admission mode: how long each measurement sends requests; soak mode: how long changes are made (default 30m)")
	dashboard := flag.Int("dashboard", 0, "measure the dashboard instead, for this many clusters of the first size of objects each")
	shard := flag.Bool("shard", false, "measure serve replicas sharing a fleet instead: failover after -kills replica kills, with -clusters clusters (default 30) and -replicas replicas")
	servers := flag.Int("servers", 0, "fleet mode: API servers the -clusters contexts point at, cluster i at server i % servers (default: one each)")
	replicas := flag.Int("replicas", 3, "shard mode: replicas of plumb serve")
	kills := flag.Int("kills", 10, "shard mode: replicas killed, one at a time")
	accuracyMode := flag.Bool("accuracy", false, "measure what plumb scan and kubectl diff --server-side report, and falsely report, for changes made to real-world manifest sets instead")
	sets := flag.String("sets", "", "accuracy mode: comma-separated sets to measure (default all)")
	parallel := flag.Int("parallel", 2, "accuracy mode: sets measured at once")
	reports := flag.String("reports", "", "accuracy mode: a folder to keep every scenario's plumb report and kubectl diff output in; soak mode: a folder to keep plumb's logs, the changes, the events and the memory samples in")
	soak := flag.Bool("soak", false, "run plumb serve on a fleet for -duration instead, with a change a second, an API server restart and a SIGKILL of plumb: findings and events lost or doubled, and memory over time")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	if *soak {
		opts := soakOptions{clusters: 3, objects: 300, duration: 30 * time.Minute, open: 10, reports: *reports}
		if *clusters > 0 {
			opts.clusters = *clusters
		}
		if set["duration"] {
			opts.duration = *duration
		}
		if set["sizes"] {
			opts.objects, err = strconv.Atoi(strings.Split(*sizes, ",")[0])
		}
		if err == nil {
			err = runSoak(*plumb, opts)
		}
	} else if *accuracyMode {
		err = runAccuracy(ctx, *plumb, accuracyOptions{sets: *sets, changes: *changes, parallel: *parallel, reports: *reports})
	} else if *shard {
		n := *clusters
		if n == 0 {
			n = 30
		}
		err = runShard(*plumb, n, *replicas, *kills)
	} else if *dashboard > 0 {
		n, perr := strconv.Atoi(strings.Split(*sizes, ",")[0])
		if perr != nil {
			err = fmt.Errorf("-sizes: %w", perr)
		} else {
			err = runDashboard(*dashboard, n)
		}
	} else if *admission {
		err = runAdmission(*plumb, *sizes, *rate, *duration)
	} else if *snapshot {
		err = runSnapshot(*plumb, *sizes, *runs)
	} else if *fix {
		err = runFix(*plumb, *sizes, *runs)
	} else if *serve {
		n := 200
		if *changes != "" {
			if n, err = strconv.Atoi(*changes); err != nil {
				err = fmt.Errorf("-changes: %w", err)
			}
		}
		if err == nil {
			err = runServe(*plumb, *crcache, *sizes, n, *idle, *spread)
		}
	} else if *clusters > 0 {
		err = runFleet(*plumb, *sizes, *clusters, *servers, *runs)
	} else {
		err = run(*plumb, *sizes, *runs, *kubectlMax)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		stop()
		os.Exit(2)
	}
}

// sample is one timed process.
type sample struct {
	wall, cpu time.Duration
	maxRSSKB  int64
	// requests the API server served while the command ran (see counted);
	// 0 when not counted.
	requests int64
}

// bench is what a mode runs on: plumb's absolute path, a control plane
// and a scratch folder.
type bench struct {
	plumb string
	env   *testcluster.Env
	work  string
	// kubectl is the pinned kubectl beside the control plane.
	kubectl string
	// sizes are the -sizes to measure.
	sizes []int
}

// start prepares a mode's bench for the object counts in sizes; stop
// undoes it.
func start(plumb, mode, sizes string) (*bench, error) {
	return startWith(plumb, mode, sizes, testcluster.Options{})
}

// startWith is start with the control plane shaped by opts.
func startWith(plumb, mode, sizes string, opts testcluster.Options) (*bench, error) {
	counts, err := sizeList(sizes)
	if err != nil {
		return nil, err
	}
	if plumb, err = filepath.Abs(plumb); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "plumb-bench-"+mode+"-")
	if err != nil {
		return nil, err
	}
	env, err := testcluster.StartWith(opts)
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	return &bench{plumb: plumb, env: env, work: work, kubectl: filepath.Join(env.AssetsDir, "kubectl"), sizes: counts}, nil
}

func (b *bench) stop() {
	b.env.Stop()
	os.RemoveAll(b.work)
}

// sizeList parses -sizes.
func sizeList(sizes string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("size %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(plumb, sizes string, runs, kubectlMax int) error {
	b, err := start(plumb, "scan", sizes)
	if err != nil {
		return err
	}
	defer b.stop()
	plumb, env, work, kubectl, counts := b.plumb, b.env, b.work, b.kubectl, b.sizes

	fmt.Println("| objects | drifted | plumb scan (median) | kubectl diff --server-side (median) | speed-up | plumb CPU | kubectl CPU | plumb peak RSS | kubectl peak RSS | plumb requests | kubectl requests |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var last sample // kubectl diff at the largest size it ran at
	lastN := 0
	for _, n := range counts {
		ns := fmt.Sprintf("bench-%d", n)
		seedStart := time.Now()
		file, err := seed(env, work, ns, n)
		if err != nil {
			return err
		}
		drifted, err := drift(env, ns, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "harness: %d objects applied and drifted in %s\n", n, time.Since(seedStart).Round(time.Second))

		withKubectl := kubectlMax <= 0 || n <= kubectlMax
		plumbCmd := []string{plumb, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", file, "-o", "json"}
		kubectlCmd := []string{kubectl, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--server-side", "--force-conflicts", "-f", file}
		cmds := [][]string{plumbCmd}
		if withKubectl {
			cmds = append(cmds, kubectlCmd)
		}
		// One untimed run of each warms the discovery caches both keep on disk.
		for _, c := range cmds {
			if _, err := timed(c); err != nil {
				return err
			}
		}
		var ps, ks []sample
		for range runs {
			p, err := counted(env, plumbCmd)
			if err != nil {
				return err
			}
			ps = append(ps, p)
			if !withKubectl {
				continue
			}
			k, err := counted(env, kubectlCmd)
			if err != nil {
				return err
			}
			ks = append(ks, k)
		}
		p := median(ps)
		if withKubectl {
			k := median(ks)
			last, lastN = k, n
			fmt.Printf("| %d | %d | %s | %s | %.1f× | %s | %s | %d MiB | %d MiB | %d | %d |\n", n, drifted,
				p.wall.Round(time.Millisecond), k.wall.Round(time.Millisecond), float64(k.wall)/float64(p.wall),
				p.cpu.Round(time.Millisecond), k.cpu.Round(time.Millisecond), p.maxRSSKB/1024, k.maxRSSKB/1024, p.requests, k.requests)
			continue
		}
		if lastN == 0 {
			return fmt.Errorf("-kubectl-max %d: kubectl diff ran at no size to extrapolate %d objects from", kubectlMax, n)
		}
		// kubectl diff makes one dry-run request per object: its time,
		// CPU and requests grow linearly. Its memory is not extrapolated.
		f := float64(n) / float64(lastN)
		k := time.Duration(float64(last.wall) * f)
		fmt.Printf("| %d | %d | %s | ~%s (extrapolated ×%.0f from %d) | ~%.1f× | %s | ~%s | %d MiB | not measured | %d | ~%d |\n", n, drifted,
			p.wall.Round(time.Millisecond), k.Round(time.Second), f, lastN, float64(k)/float64(p.wall),
			p.cpu.Round(time.Millisecond), time.Duration(float64(last.cpu)*f).Round(time.Second), p.maxRSSKB/1024, p.requests, int64(float64(last.requests)*f))
	}
	return nil
}

// runKubectl runs the pinned kubectl against env; an error carries the end
// of its output.
func runKubectl(env *testcluster.Env, args ...string) error {
	out, err := exec.Command(filepath.Join(env.AssetsDir, "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		if len(out) > 2000 {
			out = out[len(out)-2000:]
		}
		return fmt.Errorf("kubectl %s: %v: …%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// timed runs a command that must exit 1 (drift found) and measures it.
func timed(argv []string) (sample, error) {
	return timedEnv(argv, nil)
}

// timedEnv is timed with extra environment variables.
func timedEnv(argv []string, extraEnv []string) (sample, error) {
	return timedExit(argv, extraEnv, 1)
}

// timedExit runs a command that must exit with code want and measures it.
func timedExit(argv []string, extraEnv []string, want int) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), extraEnv...)
	return measure(cmd, want)
}

// measure runs cmd, which must exit with code want, and measures it.
func measure(cmd *exec.Cmd, want int) (sample, error) {
	argv := cmd.Args
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return sample{}, fmt.Errorf("%s: %w", filepath.Base(argv[0]), err)
	}
	if code != want {
		return sample{}, fmt.Errorf("%s %s: want exit %d, got %d: %s", filepath.Base(argv[0]), argv[1], want, code, stderr.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return sample{wall: wall, cpu: cpu, maxRSSKB: ru.Maxrss}, nil
}

func median(ss []sample) sample {
	sort.Slice(ss, func(i, j int) bool { return ss[i].wall < ss[j].wall })
	return ss[len(ss)/2]
}

// generate writes n objects: object i is a Deployment when i%4 == 1, a
// Service when i%4 == 3, else a ConfigMap. Services are headless: the test
// API server's service IP range (a /24) could not hold 500 of them.
func generate(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		if i > 0 {
			b.WriteString("---\n")
		}
		switch i % 4 {
		case 1:
			fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d
  labels: {app: app-%[1]d, tier: bench}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%[1]d}
  template:
    metadata:
      labels: {app: app-%[1]d}
    spec:
      containers:
        - name: app
          image: registry.example.com/app:1.%[1]d
          ports: [{containerPort: 8080}]
          env: [{name: INDEX, value: "%[1]d"}]
          resources:
            limits: {cpu: "1", memory: 128Mi}
`, i)
		case 3:
			fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata:
  name: svc-%[1]d
  labels: {tier: bench}
spec:
  clusterIP: None
  selector: {app: app-%[1]d}
  ports: [{port: 80, targetPort: 8080}]
`, i)
		default:
			fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-%[1]d
  labels: {tier: bench}
data:
  index: "%[1]d"
  mode: fast
`, i)
		}
	}
	return b.Bytes()
}

// seed writes n generated objects to work/NS.yaml, creates namespace ns
// and server-side applies them there; it returns the file.
func seed(env *testcluster.Env, work, ns string, n int) (string, error) {
	file := filepath.Join(work, ns+".yaml")
	if err := os.WriteFile(file, generate(n), 0o644); err != nil {
		return "", err
	}
	if err := runKubectl(env, "create", "namespace", ns); err != nil {
		return "", err
	}
	return file, runKubectl(env, "apply", "--server-side", "-n", ns, "-f", file)
}

// drift changes 1 % of the n objects in ns, every 100th object shifted so
// that each kind drifts, and returns how many it changed.
func drift(env *testcluster.Env, ns string, n int) (int, error) {
	drifted := 0
	for k := 0; k*100 < n; k++ {
		if err := runKubectl(env, append([]string{"-n", ns}, driftCommand(k*100+k%4)...)...); err != nil {
			return drifted, err
		}
		drifted++
	}
	return drifted, nil
}

// driftCommand changes object i the way an engineer would.
func driftCommand(i int) []string {
	switch i % 4 {
	case 1:
		return []string{"scale", fmt.Sprintf("deployment/app-%d", i), "--replicas=3"}
	case 3:
		return []string{"label", "--overwrite", fmt.Sprintf("service/svc-%d", i), "hotfix=true"}
	}
	return []string{"patch", fmt.Sprintf("configmap/cm-%d", i), "--type=merge", "-p", `{"data":{"mode":"slow"}}`}
}
