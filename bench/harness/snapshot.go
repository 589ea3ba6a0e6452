package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// runSnapshot times plumb snapshot of a namespace of N generated objects
// against kubectl get of the same kinds -n NS -o yaml into a file, and
// compares what each writes. After every plumb run, plumb scan --source
// DIR must exit 0: the snapshot is in sync with what it was taken of.
func runSnapshot(plumb, sizes string, runs int) error {
	b, err := start(plumb, "snapshot", sizes)
	if err != nil {
		return err
	}
	defer b.stop()
	plumb, env, work, kubectl, counts := b.plumb, b.env, b.work, b.kubectl, b.sizes

	fmt.Println("| objects | plumb snapshot (median) | kubectl get -o yaml (median) | time ratio | plumb writes | kubectl writes | bytes ratio | plumb CPU | kubectl CPU | plumb peak RSS | kubectl peak RSS |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range counts {
		ns := fmt.Sprintf("bench-snapshot-%d", n)
		if _, err := seed(env, work, ns, n); err != nil {
			return err
		}
		var ps, ks []sample
		var plumbBytes, kubectlBytes int64
		// The first round of each is untimed: it warms the discovery caches
		// both keep on disk.
		for i := range runs + 1 {
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", ns, i))
			p, err := timedExit([]string{plumb, "snapshot", "--kubeconfig", env.Kubeconfig, "-n", ns, "--out", dir}, nil, 0)
			if err != nil {
				return err
			}
			if _, err := timedExit([]string{plumb, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir, "-o", "json"}, nil, 0); err != nil {
				return fmt.Errorf("scan against the snapshot: %w", err)
			}
			if plumbBytes, err = treeSize(dir); err != nil {
				return err
			}
			file := filepath.Join(work, fmt.Sprintf("%s-%d.yaml", ns, i))
			k, err := kubectlGet(kubectl, env.Kubeconfig, ns, file)
			if err != nil {
				return err
			}
			fi, err := os.Stat(file)
			if err != nil {
				return err
			}
			kubectlBytes = fi.Size()
			if i > 0 {
				ps, ks = append(ps, p), append(ks, k)
			}
		}
		p, k := median(ps), median(ks)
		fmt.Printf("| %d | %s | %s | %.2f× | %s | %s | %.2f× | %s | %s | %d MiB | %d MiB |\n", n,
			p.wall.Round(time.Millisecond), k.wall.Round(time.Millisecond), float64(p.wall)/float64(k.wall),
			mib(plumbBytes), mib(kubectlBytes), float64(plumbBytes)/float64(kubectlBytes),
			p.cpu.Round(time.Millisecond), k.cpu.Round(time.Millisecond), p.maxRSSKB/1024, k.maxRSSKB/1024)
	}
	return nil
}

// kubectlGet runs kubectl get of the generated kinds in ns as YAML into
// file, as `kubectl get … -o yaml > file` does.
func kubectlGet(kubectl, kubeconfig, ns, file string) (sample, error) {
	f, err := os.Create(file)
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	cmd := exec.Command(kubectl, "get", "--kubeconfig", kubeconfig, "-n", ns, "configmaps,deployments,services", "-o", "yaml")
	cmd.Stdout = f
	return measure(cmd, 0)
}

// treeSize is the size of every file below dir.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	return n, err
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
