package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testpostgres"
)

// runShard measures serve replicas sharing a fleet: -replicas replicas of
// plumb serve with one PostgreSQL store and one Lease namespace watch
// -clusters clusters, contexts onto two real API servers. Each of -kills
// rounds kills a replica (SIGKILL: it gives nothing back), changes a
// ConfigMap in one of its clusters at once, and times until another
// replica's API has the finding; the replica is then started again. As a
// baseline in the same run, the same change is timed in a cluster whose
// replica is alive. At the end, every change must have been found (none
// lost) and have opened exactly one event (none recorded twice).
func runShard(plumb string, clusters, replicas, kills int) error {
	plumb, err := filepath.Abs(plumb)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plumb-bench-shard-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	var envs []*testcluster.Env
	for range 2 {
		e, err := testcluster.Start()
		if err != nil {
			return err
		}
		defer e.Stop()
		envs = append(envs, e)
	}
	pg, err := testpostgres.Start(context.Background())
	if err != nil {
		return err
	}
	defer pg.Stop()
	dsn, err := pg.CreateDatabase(context.Background())
	if err != nil {
		return err
	}

	// One ConfigMap per cluster, in a namespace of its own.
	settings := filepath.Join(work, "settings.yaml")
	if err := os.WriteFile(settings, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {mode: fast}\n"), 0o644); err != nil {
		return err
	}
	var cfg strings.Builder
	cfg.WriteString("apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n")
	var srcs, binds strings.Builder
	envOf := map[string]*testcluster.Env{}
	nsOf := map[string]string{}
	for i := range clusters {
		name, ns, e := fmt.Sprintf("c%02d", i), fmt.Sprintf("shard-%02d", i), envs[i%len(envs)]
		envOf[name], nsOf[name] = e, ns
		if _, err := e.KubectlErr("", "create", "namespace", ns); err != nil {
			return err
		}
		if _, err := e.KubectlErr("", "-n", ns, "apply", "--server-side", "-f", settings); err != nil {
			return err
		}
		fmt.Fprintf(&cfg, "  - {name: %s, kubeconfig: %s, context: %s, labels: {shard: %q}}\n", name, e.Kubeconfig, e.Context, name)
		fmt.Fprintf(&srcs, "  - {name: %s, path: %s, namespace: %s}\n", name, settings, ns)
		fmt.Fprintf(&binds, "  - {source: %s, clusters: {matchLabels: {shard: %q}}}\n", name, name)
	}
	cfg.WriteString("sources:\n" + srcs.String() + "bindings:\n" + binds.String())
	cfgFile := filepath.Join(work, "plumb.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o644); err != nil {
		return err
	}
	home := envs[0]
	if _, err := home.KubectlErr("", "create", "namespace", "plumb-shard"); err != nil {
		return err
	}

	type replica struct {
		id, base string
		cmd      *exec.Cmd
	}
	start := func(id string) (*replica, error) {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		log, err := os.Create(filepath.Join(work, id+".log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(plumb, "serve", "-c", cfgFile, "--kubeconfig", home.Kubeconfig, "--store", dsn, "--listen", addr,
			"--lease-namespace", "plumb-shard", "--identity", id)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return &replica{id: id, base: "http://" + addr, cmd: cmd}, nil
	}
	reps := make([]*replica, replicas)
	for i := range reps {
		if reps[i], err = start(fmt.Sprintf("r%d", i+1)); err != nil {
			return err
		}
	}
	defer func() {
		for _, r := range reps {
			if r != nil {
				r.cmd.Process.Signal(os.Interrupt)
				_ = r.cmd.Wait()
			}
		}
	}()
	// owners reads a live replica's view of who watches each cluster; all
	// must be watched and in sync, by want replicas.
	owners := func(base string, want int) (map[string]string, bool) {
		var l struct {
			Items []struct{ Name, Status, Replica string }
		}
		if err := getJSONInto(base+"/api/v1/clusters", &l); err != nil {
			return nil, false
		}
		out, per := map[string]string{}, map[string]bool{}
		for _, c := range l.Items {
			if c.Status != "ok" || c.Replica == "" {
				return nil, false
			}
			out[c.Name], per[c.Replica] = c.Replica, true
		}
		return out, len(out) == clusters && len(per) == want
	}
	settle := func(base string, want int) (map[string]string, time.Duration, error) {
		began := time.Now()
		for time.Since(began) < 3*time.Minute {
			if o, ok := owners(base, want); ok {
				return o, time.Since(began), nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil, 0, fmt.Errorf("the %d clusters were not all watched by %d replicas within 3m", clusters, want)
	}
	own, took, err := settle(reps[0].base, replicas)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d replicas share %d clusters after %s\n", replicas, clusters, took.Round(time.Second))

	changed := map[string]int{} // cluster → changes made in it
	change := func(cl, value string) error {
		cms := envOf[cl].Clientset.CoreV1().ConfigMaps(nsOf[cl])
		_, err := cms.Patch(context.Background(), "settings", types.MergePatchType, []byte(`{"data":{"mode":"`+value+`"}}`), metav1.PatchOptions{FieldManager: "kubectl-patch"})
		changed[cl]++
		return err
	}
	// found waits until base's API has cl's finding with live value.
	found := func(base, cl, value string, limit time.Duration) (time.Duration, bool) {
		began := time.Now()
		for time.Since(began) < limit {
			var f struct {
				Items []struct {
					Changes []struct{ Live any }
				}
			}
			if getJSONInto(base+"/api/v1/findings?cluster="+cl, &f) == nil {
				for _, it := range f.Items {
					for _, c := range it.Changes {
						if c.Live == value {
							return time.Since(began), true
						}
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		return 0, false
	}

	var failovers, baselines []time.Duration
	lost := 0
	for round := range kills {
		victim := reps[round%replicas]
		other := reps[(round+1)%replicas]
		var mine, theirs []string
		for cl, r := range own {
			if r == victim.id {
				mine = append(mine, cl)
			} else {
				theirs = append(theirs, cl)
			}
		}
		sort.Strings(mine)
		sort.Strings(theirs)
		if len(mine) == 0 || len(theirs) == 0 {
			return fmt.Errorf("round %d: %s watches %d clusters", round, victim.id, len(mine))
		}
		// Baseline: a change where the watching replica is alive.
		base := theirs[round%len(theirs)]
		value := fmt.Sprintf("baseline-%d", round)
		if err := change(base, value); err != nil {
			return err
		}
		if d, ok := found(other.base, base, value, 30*time.Second); ok {
			baselines = append(baselines, d)
		} else {
			lost++
		}
		// Kill the victim and change one of its clusters at once.
		cl := mine[round%len(mine)]
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			return err
		}
		_ = victim.cmd.Wait()
		value = fmt.Sprintf("failover-%d", round)
		killed := time.Now()
		if err := change(cl, value); err != nil {
			return err
		}
		if _, ok := found(other.base, cl, value, 90*time.Second); ok {
			failovers = append(failovers, time.Since(killed))
		} else {
			lost++
		}
		fmt.Fprintf(os.Stderr, "round %d: killed %s; %s's change found after %s\n", round+1, victim.id, cl, time.Since(killed).Round(100*time.Millisecond))
		// The victim comes back, as its pod would.
		if reps[round%replicas], err = start(victim.id); err != nil {
			return err
		}
		if own, _, err = settle(other.base, replicas); err != nil {
			return err
		}
	}

	// None recorded twice: one event per cluster changed, whatever the
	// number of changes and replicas.
	events, err := eventsPerCluster(reps[0].base)
	if err != nil {
		return err
	}
	twice := 0
	for cl := range changed {
		if events[cl] > 1 {
			twice += events[cl] - 1
		}
		if events[cl] == 0 {
			lost++
		}
	}
	sort.Slice(failovers, func(i, j int) bool { return failovers[i] < failovers[j] })
	sort.Slice(baselines, func(i, j int) bool { return baselines[i] < baselines[j] })
	q := func(ds []time.Duration, p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(100 * time.Millisecond)
	}
	fmt.Println("| replicas | clusters | kills | change after a kill: median | max | change, watcher alive: median | max | ratio (medians) | changes lost | events recorded twice |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	ratio := 0.0
	if m := q(baselines, 0.5); m > 0 {
		ratio = float64(q(failovers, 0.5)) / float64(m)
	}
	fmt.Printf("| %d | %d | %d | %s | %s | %s | %s | %.0f× | %d | %d |\n", replicas, clusters, kills,
		q(failovers, 0.5), q(failovers, 1), q(baselines, 0.5), q(baselines, 1), ratio, lost, twice)
	return nil
}

// eventsPerCluster counts the drift events the API lists, per cluster.
func eventsPerCluster(base string) (map[string]int, error) {
	var l struct {
		Items []struct{ Cluster string }
	}
	if err := getJSONInto(base+"/api/v1/events?limit=1000", &l); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, e := range l.Items {
		out[e.Cluster]++
	}
	return out, nil
}

// getJSONInto GETs url and decodes its JSON body into v.
func getJSONInto(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
