package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"plumb.dev/plumb/internal/testcluster"
)

// unmanagedCost measures plumb serve --unmanaged on ns, which holds the
// generated objects, after adding objects of kinds no source declares:
// owned ReplicaSets (the cluster's, never reported: what most undeclared
// objects of a real cluster are) and stray Roles (reported). It checks
// that exactly the Roles are reported, then times the detection of new
// Roles and counts requests in idle time. plumb serve without --unmanaged
// is measured on the same objects first.
func unmanagedCost(env *testcluster.Env, plumb, work, ns string, objects int, idle time.Duration) error {
	ctx := context.Background()
	owned, stray, changes := objects, 100, 50
	rs := env.Clientset.AppsV1().ReplicaSets(ns)
	yes := true
	for i := range owned {
		labels := map[string]string{"app": fmt.Sprintf("app-%d", i)}
		_, err := rs.Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("app-%d-5d8f", i), Labels: labels, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: fmt.Sprintf("app-%d", i), UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i)), Controller: &yes,
			}}},
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1"}}},
			}},
		}, metav1.CreateOptions{FieldManager: "kube-controller-manager"})
		if err != nil {
			return err
		}
	}
	roles := env.Clientset.RbacV1().Roles(ns)
	role := func(ctx context.Context, name string) error {
		_, err := roles.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"},
		}}}, metav1.CreateOptions{FieldManager: "kubectl-create"})
		return err
	}
	for i := range stray {
		if err := role(ctx, fmt.Sprintf("stray-%d", i)); err != nil {
			return err
		}
	}

	file := filepath.Join(work, ns+".yaml")
	plain, err := serveRSS(plumb, env.Kubeconfig, ns, file, work)
	if err != nil {
		return err
	}
	serve, err := startServe(plumb, env.Kubeconfig, ns, file, filepath.Join(work, ns+"-unmanaged.db"), "--unmanaged")
	if err != nil {
		return err
	}
	defer serve.stop()
	base := serve.base
	mem := rss(serve.pid())
	found, err := unmanagedFindings(base)
	if err != nil {
		return err
	}
	if found != stray {
		return fmt.Errorf("plumb serve --unmanaged reports %d unmanaged objects, want the %d stray Roles", found, stray)
	}
	lat, err := timeOpened(base, changes, func(ctx context.Context, k int) (string, error) {
		name := fmt.Sprintf("new-%d", k)
		return `/Role/` + ns + `/` + name + `"`, role(ctx, name)
	})
	if err != nil {
		return err
	}
	watches, err := metricSum(base, "plumb_watch_starts_total")
	if err != nil {
		return err
	}
	idleRequests, err := requestsWhileIdle(base, idle)
	if err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("| tracked objects | owned ReplicaSets (never reported) | stray Roles (reported) | watches | plumb serve RSS, same objects | plumb serve --unmanaged RSS | unmanaged findings | new Role detected p50 | p99 | API requests in idle time (beyond watches) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	fmt.Printf("| %d | %d | %d | %.0f | %d MiB | %d MiB | %d | %s | %s | %.0f in %s |\n", objects, owned, stray, watches,
		plain.total/1024, mem.total/1024, found, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), idleRequests, idle)
	return nil
}

// unmanagedFindings counts the unmanaged findings the API lists.
func unmanagedFindings(base string) (int, error) {
	resp, err := http.Get(base + "/api/v1/findings?state=unmanaged")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct{ Items []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return len(body.Items), nil
}

// metricSum sums a counter's samples from /metrics.
func metricSum(base, name string) (float64, error) {
	fams, err := metricFamilies(base)
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, m := range fams[name].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	return total, nil
}
