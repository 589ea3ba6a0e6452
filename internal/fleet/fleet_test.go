package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"plumb.dev/plumb/internal/cli"
	"plumb.dev/plumb/internal/realworld"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/skew"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
)

// Three real API servers: two prod clusters in two regions and staging.
var (
	names    = []string{"prod-eu", "prod-us", "staging"}
	envs     = map[string]*testcluster.Env{}
	kubeconf string
)

func TestMain(m *testing.M) {
	code := func() int {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var startErr error
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e, err := testcluster.Start()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					startErr = err
					return
				}
				envs[n] = e
			}()
		}
		wg.Wait()
		defer func() {
			for _, e := range envs {
				_ = e.Stop()
			}
		}()
		if startErr != nil {
			fmt.Fprintln(os.Stderr, "start control planes:", startErr)
			return 2
		}
		dir, err := os.MkdirTemp("", "plumb-fleet-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		if kubeconf, err = mergeKubeconfigs(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return m.Run()
	}()
	os.Exit(code)
}

// mergeKubeconfigs writes one kubeconfig with a context per cluster name.
func mergeKubeconfigs(dir string) (string, error) {
	merged := clientcmdapi.NewConfig()
	for _, n := range names {
		kc, err := clientcmd.LoadFromFile(envs[n].Kubeconfig)
		if err != nil {
			return "", err
		}
		ctx := kc.Contexts[kc.CurrentContext]
		merged.Clusters[n] = kc.Clusters[ctx.Cluster]
		merged.AuthInfos[n] = kc.AuthInfos[ctx.AuthInfo]
		merged.Contexts[n] = &clientcmdapi.Context{Cluster: n, AuthInfo: n, Namespace: "default"}
	}
	merged.CurrentContext = names[0]
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*merged, path)
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func kubectl(t *testing.T, cluster string, args ...string) {
	t.Helper()
	envs[cluster].Kubectl(t, "", args...)
}

// installChart renders podinfo's chart as Helm would for a cluster and
// applies it server-side as the "helm" field manager, as Helm 4 installs.
func installChart(t *testing.T, cluster, chart, ns, region string) {
	t.Helper()
	set := source.Load(context.Background(), []string{chart}, source.Options{
		ReleaseName: "podinfo", Namespace: ns, ValueMap: map[string]any{"ui": map[string]any{"message": "hello from " + region}},
	})
	if len(set.Errors) > 0 {
		t.Fatalf("render: %v", set.Errors)
	}
	dyn, err := dynamic.NewForConfig(envs[cluster].Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range set.Objects {
		u := o.Object.DeepCopy()
		m, err := envs[cluster].Clientset.Discovery().ServerResourcesForGroupVersion(u.GetAPIVersion())
		if err != nil {
			t.Fatal(err)
		}
		var resource string
		for _, r := range m.APIResources {
			if r.Kind == u.GetKind() && !strings.Contains(r.Name, "/") {
				resource = r.Name
			}
		}
		gvr := u.GroupVersionKind().GroupVersion().WithResource(resource)
		if _, err := dyn.Resource(gvr).Namespace(ns).Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: "helm", Force: true}); err != nil {
			t.Fatalf("apply %s %s on %s: %v", u.GetKind(), u.GetName(), cluster, err)
		}
	}
}

func TestFleet(t *testing.T) {
	rw := realworld.MustDir()
	shop, err := filepath.Abs("../../examples/shop")
	if err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(rw, "podinfo/charts/podinfo")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "plumb.yaml")
	content := fmt.Sprintf(`apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: prod-eu, kubeconfig: %[1]s, labels: {env: prod, region: eu}}
  - {name: prod-us, kubeconfig: %[1]s, labels: {env: prod, region: us}}
  - {name: staging, kubeconfig: %[1]s, labels: {env: staging, region: eu}}
sources:
  - {name: shop, path: %[2]s, namespace: shop}
  - {name: web, path: %[3]s, namespace: web, releaseName: podinfo}
bindings:
  - source: shop
    clusters: {matchLabels: {env: prod}}
  - source: web
    clusters: {}
    values: {ui: {message: "hello from {{ .Cluster.Labels.region }}"}}
`, kubeconf, shop, chart)
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "config", "validate", "-c", cfg); code != 0 || !strings.Contains(out, "3 clusters, 2 sources, 2 bindings") {
		t.Fatalf("config validate: exit %d, %s %s", code, out, stderr)
	}

	for _, c := range names {
		kubectl(t, c, "create", "namespace", "web")
		installChart(t, c, chart, "web", map[string]string{"prod-eu": "eu", "prod-us": "us", "staging": "eu"}[c])
	}
	for _, c := range []string{"prod-eu", "prod-us"} {
		kubectl(t, c, "create", "namespace", "shop")
		kubectl(t, c, "-n", "shop", "apply", "--server-side", "-f", shop)
	}

	scan := func(args ...string) (int, report.Report) {
		t.Helper()
		code, out, stderr := run(t, append([]string{"scan", "-c", cfg, "-o", "json"}, args...)...)
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("scan: exit %d: %v\n%s\n%s", code, err, out, stderr)
		}
		return code, r
	}
	counts := func(r report.Report) map[string]string {
		out := map[string]string{}
		for _, c := range r.Clusters {
			s := "-"
			if c.Summary != nil {
				s = fmt.Sprintf("%d objects, %d in sync", c.Summary.Objects, c.Summary.InSync)
			}
			out[c.Name] = string(c.Status) + ": " + s
		}
		return out
	}

	// Bindings put the shop on prod only, the chart everywhere, each
	// rendered with its cluster's region; everything is in sync.
	code, r := scan()
	chartObjects := r.Clusters[2].Summary.Objects
	if chartObjects < 2 {
		t.Fatalf("staging compared %d chart objects; podinfo renders at least a Deployment and a Service", chartObjects)
	}
	want := map[string]string{
		"prod-eu": fmt.Sprintf("ok: %d objects, %d in sync", 9+chartObjects, 9+chartObjects),
		"prod-us": fmt.Sprintf("ok: %d objects, %d in sync", 9+chartObjects, 9+chartObjects),
		"staging": fmt.Sprintf("ok: %d objects, %d in sync", chartObjects, chartObjects),
	}
	if diff := cmp.Diff(want, counts(r)); code != 0 || diff != "" {
		t.Fatalf("in-sync fleet: exit %d, per cluster (-want +got):\n%s\nfindings: %+v", code, diff, r.Findings)
	}
	// Per-cluster values differ between regions, and that is not skew.
	if code, out, stderr := run(t, "skew", "-c", cfg); code != 0 || !strings.Contains(out, "No skew") {
		t.Fatalf("skew of an in-sync fleet: exit %d\n%s\n%s", code, out, stderr)
	}

	// A hotfix by hand on prod-us, a ConfigMap lost on prod-eu.
	kubectl(t, "prod-us", "-n", "shop", "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.4.3-hotfix")
	kubectl(t, "prod-eu", "-n", "shop", "delete", "configmap", "flags")
	code, r = scan()
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Cluster+" "+f.Kind+"/"+f.Name+" "+string(f.State))
	}
	if diff := cmp.Diff([]string{"prod-eu ConfigMap/flags missing", "prod-us Deployment/api drifted"}, got); code != 1 || diff != "" {
		t.Errorf("after the changes: exit %d, findings (-want +got):\n%s", code, diff)
	}
	code, out, _ := run(t, "skew", "-c", cfg, "--group-by", "env", "-o", "json")
	var sr skew.Report
	if err := json.Unmarshal([]byte(out), &sr); err != nil {
		t.Fatal(err)
	}
	if code != 1 || len(sr.Groups) != 2 || sr.Groups[0].Name != "env=prod" || len(sr.Groups[1].Objects) != 0 {
		t.Fatalf("skew: exit %d, groups %+v", code, sr.Groups)
	}
	prod := sr.Groups[0].Objects
	if len(prod) != 2 || prod[0].Name != "flags" || fmt.Sprint(prod[0].MissingOn) != "[prod-eu]" ||
		prod[1].Name != "api" || len(prod[1].Differences) != 1 {
		t.Fatalf("prod skew = %+v", prod)
	}
	d := prod[1].Differences[0]
	wantValues := map[string]any{"prod-eu": "ghcr.io/example/shop-api:1.4.2", "prod-us": "ghcr.io/example/shop-api:1.4.3-hotfix"}
	if d.Path != `.spec.template.spec.containers[name="api"].image` || !cmp.Equal(wantValues, d.Values) || fmt.Sprint(d.Drifted) != "[prod-us]" {
		t.Errorf("image skew = %+v", d)
	}
	if code, out, _ := run(t, "skew", "-c", cfg, "--group-by", "env"); code != 1 || !strings.Contains(out, "prod-eu=ghcr.io/example/shop-api:1.4.2 prod-us=ghcr.io/example/shop-api:1.4.3-hotfix*") {
		t.Errorf("skew table: exit %d\n%s", code, out)
	}

	// Selecting clusters.
	if _, r := scan("--fleet-cluster", "prod-eu"); len(r.Clusters) != 1 || r.Clusters[0].Name != "prod-eu" {
		t.Errorf("--fleet-cluster prod-eu scanned %+v", r.Clusters)
	}
	if _, r := scan("--cluster-selector", "region=eu"); len(r.Clusters) != 2 || r.Clusters[0].Name != "prod-eu" || r.Clusters[1].Name != "staging" {
		t.Errorf("--cluster-selector region=eu scanned %+v", r.Clusters)
	}

	// Staging goes away: it is reported unreachable, the others in full;
	// the result is incomplete (exit 2) unless partial results are
	// accepted.
	if err := envs["staging"].Stop(); err != nil {
		t.Fatal(err)
	}
	delete(envs, "staging")
	code, r = scan("--cluster-timeout", "20s")
	if code != 2 {
		t.Errorf("with staging down: exit %d, want 2 (incomplete)", code)
	}
	if st := r.Clusters[2]; st.Status != report.StatusUnreachable || st.Error == "" || st.Summary != nil {
		t.Errorf("staging = %+v, want unreachable with its error", st)
	}
	if len(r.Findings) != 2 || r.Clusters[0].Summary == nil || r.Clusters[1].Summary == nil {
		t.Errorf("the reachable clusters were not scanned in full: %+v", r.Clusters)
	}
	if code, _ = scan("--cluster-timeout", "20s", "--allow-partial"); code != 1 {
		t.Errorf("with --allow-partial: exit %d, want 1 (the drift exit code of the clusters reached)", code)
	}
}

// TestFleetUnboundCluster lists a cluster that no binding selects, behind
// an address where nothing listens: scan and skew leave it alone
// (contacting it would make it unreachable) and report it unbound, never
// as a clean cluster.
func TestFleetUnboundCluster(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {mode: fast}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lab := clientcmdapi.NewConfig()
	lab.Clusters["lab"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	lab.AuthInfos["lab"] = &clientcmdapi.AuthInfo{Token: "unused"}
	lab.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "lab"}
	lab.CurrentContext = "lab"
	labConf := filepath.Join(dir, "lab.kubeconfig")
	if err := clientcmd.WriteToFile(*lab, labConf); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "plumb.yaml")
	content := fmt.Sprintf(`apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: prod-eu, kubeconfig: %[1]s, labels: {env: prod}}
  - {name: prod-us, kubeconfig: %[1]s, labels: {env: prod}}
  - {name: lab, kubeconfig: %[2]s, context: lab, labels: {env: dev}}
sources:
  - {name: app, path: %[3]s, namespace: unbound-test}
bindings:
  - source: app
    clusters: {matchLabels: {env: prod}}
`, kubeconf, labConf, src)
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"prod-eu", "prod-us"} {
		kubectl(t, c, "create", "namespace", "unbound-test")
		kubectl(t, c, "apply", "--server-side", "-f", src, "-n", "unbound-test")
	}

	code, out, stderr := run(t, "scan", "-c", cfg, "-o", "json")
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("scan: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	var got []string
	for _, c := range r.Clusters {
		got = append(got, fmt.Sprintf("%s %s summary=%v", c.Name, c.Status, c.Summary != nil))
	}
	want := []string{"prod-eu ok summary=true", "prod-us ok summary=true", "lab unbound summary=false"}
	if diff := cmp.Diff(want, got); code != 0 || diff != "" || strings.Contains(stderr, "lab") {
		t.Errorf("scan: exit %d, clusters (-want +got):\n%s\nstderr: %s", code, diff, stderr)
	}
	if r.Summary.Objects != 2 {
		t.Errorf("scan compared %d objects, want the ConfigMap on each prod cluster", r.Summary.Objects)
	}
	code, out, _ = run(t, "scan", "-c", cfg)
	if code != 0 || !strings.Contains(out, "lab") || !strings.Contains(out, "unbound") || !strings.Contains(out, "no binding selects it; not scanned") {
		t.Errorf("scan table: exit %d\n%s", code, out)
	}

	// skew takes the same path and leaves lab alone.
	kubectl(t, "prod-us", "-n", "unbound-test", "patch", "configmap", "app", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	if code, out, stderr := run(t, "skew", "-c", cfg); code != 1 || !strings.Contains(out, "prod-us=slow*") || strings.Contains(out+stderr, "lab") {
		t.Errorf("skew: exit %d\n%s\n%s", code, out, stderr)
	}

	// Choosing only the unbound cluster is an error, not a clean result.
	code, _, stderr = run(t, "scan", "-c", cfg, "--cluster-selector", "env=dev")
	if code != 2 || !strings.Contains(stderr, "no binding of "+cfg+" selects any of the clusters chosen (lab)") {
		t.Errorf("scan --cluster-selector env=dev: exit %d, stderr %s", code, stderr)
	}
}
