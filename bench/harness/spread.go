package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"plumb.dev/plumb/internal/testcluster"
)

// spreadPerNamespace is how many declared ConfigMaps each namespace of the
// spread measurement holds; each also holds one stray Role.
const spreadPerNamespace = 20

// unmanagedSpread measures what --unmanaged costs as the sources spread
// over more namespaces. For each count it declares spreadPerNamespace
// ConfigMaps in each of that many namespaces, adds a Role nobody declared
// to each, and starts plumb serve on the same source three times: without
// --unmanaged, with it and metadata-only watches per namespace and kind
// (--unmanaged-cluster-wide-after=-1, the baseline), and with it as it
// runs by default (cluster-wide beyond 5 namespaces). It reports watches,
// time to ready and RSS, and checks that exactly the Roles are reported.
// Then it times plumb scan --unmanaged on the same source, per namespace
// and by default, alternating, the median of three each.
func unmanagedSpread(env *testcluster.Env, plumb, work string, counts []int) error {
	fmt.Println()
	fmt.Println("| namespaces | declared objects | without --unmanaged: watches | ready | RSS | --unmanaged per namespace: watches | ready | RSS | --unmanaged (default): watches | ready | RSS | ready, default / per namespace | unmanaged findings | scan --unmanaged per namespace | scan --unmanaged (default) | ratio |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range counts {
		file, err := seedSpread(env, work, n)
		if err != nil {
			return err
		}
		var row []string
		var ready []float64
		for i, extra := range [][]string{nil, {"--unmanaged", "--unmanaged-cluster-wide-after=-1"}, {"--unmanaged"}} {
			serve, err := startServe(plumb, env.Kubeconfig, "", file, filepath.Join(work, fmt.Sprintf("spread-%d-%d.db", n, i)), extra...)
			if err != nil {
				return err
			}
			mem := rss(serve.pid())
			watches, err := metricSum(serve.base, "plumb_watch_starts_total")
			if err == nil && len(extra) > 0 {
				var found int
				if found, err = unmanagedFindings(serve.base); err == nil && found != n {
					err = fmt.Errorf("plumb serve --unmanaged over %d namespaces reports %d unmanaged objects, want the %d stray Roles", n, found, n)
				}
			}
			serve.stop()
			if err != nil {
				return err
			}
			row = append(row, fmt.Sprintf("%.0f | %.1fs | %d MiB", watches, serve.ready.Seconds(), mem.total/1024))
			ready = append(ready, serve.ready.Seconds())
		}
		scan := []string{plumb, "scan", "--kubeconfig", env.Kubeconfig, "--source", file, "--unmanaged", "-o", "json"}
		var narrow, wide []sample
		for range 3 {
			for i, extra := range [][]string{{"--unmanaged-cluster-wide-after=-1"}, nil} {
				sm, err := timed(append(slices.Clone(scan), extra...))
				if err != nil {
					return err
				}
				if i == 0 {
					narrow = append(narrow, sm)
				} else {
					wide = append(wide, sm)
				}
			}
		}
		pn, dw := median(narrow).wall, median(wide).wall
		fmt.Printf("| %d | %d | %s | %.2f | %d | %.2fs | %.2fs | %.2f |\n", n, n*spreadPerNamespace, strings.Join(row, " | "), ready[2]/ready[1], n,
			pn.Seconds(), dw.Seconds(), dw.Seconds()/pn.Seconds())
	}
	return nil
}

// seedSpread creates n namespaces, each with spreadPerNamespace ConfigMaps
// applied from one source file (returned) and one Role that no source
// declares.
func seedSpread(env *testcluster.Env, work string, n int) (string, error) {
	ctx := context.Background()
	var src strings.Builder
	for i := range n {
		ns := fmt.Sprintf("spread-%d-%d", n, i)
		if _, err := env.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return "", err
		}
		for j := range spreadPerNamespace {
			fmt.Fprintf(&src, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\n  namespace: %s\ndata:\n  mode: fast\n", j, ns)
		}
		_, err := env.Clientset.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "stray"}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"},
		}}}, metav1.CreateOptions{FieldManager: "kubectl-create"})
		if err != nil {
			return "", err
		}
	}
	file := filepath.Join(work, fmt.Sprintf("spread-%d.yaml", n))
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		return "", err
	}
	return file, runKubectl(env, "apply", "--server-side", "-f", file)
}
