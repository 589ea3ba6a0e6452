package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"plumb.dev/plumb/internal/testcluster"
)

// runFleet measures one fleet scan against scanning the clusters one by
// one. The clusters are contexts onto servers API servers (each its own
// when servers is 0 or at least clusters), cluster i onto server i %
// servers: plumb scans each context as a cluster of its own.
func runFleet(plumb, sizes string, clusters, servers, runs int) error {
	if servers <= 0 || servers > clusters {
		servers = clusters
	}
	n, err := strconv.Atoi(strings.Split(sizes, ",")[0])
	if err != nil {
		return err
	}
	plumb, err = filepath.Abs(plumb)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "plumb-bench-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	envs, stop, err := startControlPlanes(servers, testcluster.Options{})
	defer stop()
	if err != nil {
		return err
	}

	// One kubeconfig with a context per cluster, and the fleet's config.
	merged := clientcmdapi.NewConfig()
	var cfg strings.Builder
	manifest := filepath.Join(work, "objects.yaml")
	fmt.Fprintf(&cfg, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n")
	for i := range clusters {
		e := envs[i%servers]
		name := fmt.Sprintf("cluster-%d", i+1)
		kc, err := clientcmd.LoadFromFile(e.Kubeconfig)
		if err != nil {
			return err
		}
		ctx := kc.Contexts[kc.CurrentContext]
		merged.Clusters[name], merged.AuthInfos[name] = kc.Clusters[ctx.Cluster], kc.AuthInfos[ctx.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "bench"}
		fmt.Fprintf(&cfg, "  - {name: %s, labels: {env: bench}}\n", name)
	}
	kubeconfig := filepath.Join(work, "kubeconfig")
	if err := clientcmd.WriteToFile(*merged, kubeconfig); err != nil {
		return err
	}
	fmt.Fprintf(&cfg, "sources:\n  - {name: bench, path: %s, namespace: bench}\nbindings:\n  - {source: bench, clusters: {}}\n", manifest)
	config := filepath.Join(work, "plumb.yaml")
	if err := os.WriteFile(config, []byte(cfg.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(manifest, generate(n), 0o644); err != nil {
		return err
	}

	// Deploy and drift every cluster, in parallel.
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kc := func(args ...string) error { return runKubectl(e, args...) }
			if errs[i] = kc("create", "namespace", "bench"); errs[i] != nil {
				return
			}
			if errs[i] = kc("apply", "--server-side", "-n", "bench", "-f", manifest); errs[i] != nil {
				return
			}
			for k := 0; k*100 < n; k++ {
				if errs[i] = kc(append([]string{"-n", "bench"}, driftCommand(k*100+k%4)...)...); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	fleetCmd := []string{plumb, "scan", "-c", config, "-o", "json", "--parallel-clusters", strconv.Itoa(clusters)}
	env := []string{"KUBECONFIG=" + kubeconfig}
	one := func(i int) []string {
		return []string{plumb, "scan", "--context", fmt.Sprintf("cluster-%d", i+1), "--source", manifest, "-o", "json"}
	}
	sequential := func() (sample, error) {
		var total sample
		for i := range clusters {
			s, err := timedEnv(one(i), env)
			if err != nil {
				return sample{}, err
			}
			total.wall += s.wall
			total.cpu += s.cpu
			total.maxRSSKB = max(total.maxRSSKB, s.maxRSSKB)
		}
		return total, nil
	}
	// Warm the discovery caches once.
	if _, err := timedEnv(fleetCmd, env); err != nil {
		return err
	}
	if _, err := sequential(); err != nil {
		return err
	}
	var fs, ss []sample
	for range runs {
		f, err := timedEnv(fleetCmd, env)
		if err != nil {
			return err
		}
		s, err := sequential()
		if err != nil {
			return err
		}
		fs, ss = append(fs, f), append(ss, s)
	}
	f, s := median(fs), median(ss)
	fmt.Printf("%d clusters as contexts onto %d API servers\n\n", clusters, servers)
	fmt.Println("| clusters × objects | fleet scan (median) | one after another (median) | speed-up | plumb CPU, fleet | plumb CPU, one by one | plumb CPU share of fleet wall time | peak RSS, fleet | peak RSS, one scan |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	fmt.Printf("| %d × %d | %s | %s | %.1f× | %s | %s | %.0f%% of %d cores | %d MiB | %d MiB |\n", clusters, n,
		f.wall.Round(time.Millisecond), s.wall.Round(time.Millisecond), float64(s.wall)/float64(f.wall),
		f.cpu.Round(time.Millisecond), s.cpu.Round(time.Millisecond),
		100*float64(f.cpu)/float64(f.wall)/float64(runtime.NumCPU()), runtime.NumCPU(), f.maxRSSKB/1024, s.maxRSSKB/1024)
	return nil
}

// startControlPlanes starts n control planes shaped by opts at once; stop
// stops those that started, whether or not all did.
func startControlPlanes(n int, opts testcluster.Options) (envs []*testcluster.Env, stop func(), err error) {
	envs = make([]*testcluster.Env, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range envs {
		wg.Add(1)
		go func() { defer wg.Done(); envs[i], errs[i] = testcluster.StartWith(opts) }()
	}
	wg.Wait()
	stop = func() {
		for _, e := range envs {
			if e != nil {
				_ = e.Stop()
			}
		}
	}
	return envs, stop, errors.Join(errs...)
}
