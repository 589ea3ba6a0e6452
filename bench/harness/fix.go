package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// runFix times putting 1 % drift back on N objects: plumb fix against
// kubectl apply --server-side --force-conflicts on the same file. Before
// each timed command the objects are drifted again (untimed). After each
// plumb run, plumb scan must find the namespace in sync.
func runFix(plumb, sizes string, runs int) error {
	b, err := start(plumb, "fix", sizes)
	if err != nil {
		return err
	}
	defer b.stop()
	plumb, env, work, kubectl, counts := b.plumb, b.env, b.work, b.kubectl, b.sizes

	fmt.Println("| objects | drifted | plumb fix --yes (median) | kubectl apply --server-side (median) | speed-up | plumb CPU | kubectl CPU | plumb peak RSS | kubectl peak RSS |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range counts {
		ns := fmt.Sprintf("bench-fix-%d", n)
		file, err := seed(env, work, ns, n)
		if err != nil {
			return err
		}
		store := filepath.Join(work, ns+".db")
		plumbCmd := []string{plumb, "fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", file, "--yes", "--remove-added",
			"--max-objects", strconv.Itoa(n), "--store", store, "-o", "json"}
		scanCmd := []string{plumb, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", file, "-o", "json"}
		kubectlCmd := []string{kubectl, "apply", "--kubeconfig", env.Kubeconfig, "-n", ns, "--server-side", "--force-conflicts", "-f", file}
		var drifted int
		// The first round of each is untimed: it warms the discovery caches
		// both keep on disk.
		var ps, ks []sample
		for i := range runs + 1 {
			if drifted, err = drift(env, ns, n); err != nil {
				return err
			}
			p, err := timedExit(plumbCmd, nil, 0)
			if err != nil {
				return err
			}
			if _, err := timedExit(scanCmd, nil, 0); err != nil {
				return fmt.Errorf("after plumb fix: %w", err)
			}
			if _, err := drift(env, ns, n); err != nil {
				return err
			}
			k, err := timedExit(kubectlCmd, nil, 0)
			if err != nil {
				return err
			}
			if i > 0 {
				ps, ks = append(ps, p), append(ks, k)
			}
		}
		p, k := median(ps), median(ks)
		fmt.Printf("| %d | %d | %s | %s | %.1f× | %s | %s | %d MiB | %d MiB |\n", n, drifted,
			p.wall.Round(time.Millisecond), k.wall.Round(time.Millisecond), float64(k.wall)/float64(p.wall),
			p.cpu.Round(time.Millisecond), k.cpu.Round(time.Millisecond), p.maxRSSKB/1024, k.maxRSSKB/1024)
	}
	return nil
}
