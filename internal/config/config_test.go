package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"plumb.dev/plumb/internal/source"
)

// workspace writes a kubeconfig with contexts prod-eu and prod-us, a plain
// source directory and a chart, and returns the folder.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	kc := clientcmdapi.NewConfig()
	for _, name := range []string{"prod-eu", "prod-us"} {
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: "https://" + name + ".example.com"}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "t"}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	if err := clientcmd.WriteToFile(*kc, filepath.Join(dir, "kubeconfig")); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{
		"deploy/shop/app.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"charts/web/Chart.yaml":       "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"charts/web/values-prod.yaml": "replicas: 3\n",
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func write(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "plumb.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const example = `apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - name: prod-eu
    kubeconfig: kubeconfig
    labels: {env: prod, cloud: aws, region: eu}
  - name: us
    context: prod-us
    kubeconfig: kubeconfig
    labels: {env: prod, region: us}
sources:
  - name: shop
    path: ./deploy/shop
    namespace: shop
  - name: web
    path: charts/web
    values: [charts/web/values-prod.yaml]
bindings:
  - source: shop
    clusters: {matchLabels: {env: prod}}
  - source: web
    clusters:
      matchExpressions: [{key: region, operator: In, values: [eu]}]
    values: {region: "{{ .Cluster.Labels.region }}"}
    remediation: approve
ignore:
  - kinds: [Deployment]
    paths: [.spec.replicas]
    managers: []
guardrails: {maxObjectsPerRun: 10}
store: {driver: sqlite, path: plumb.db}
`

func TestLoadDefaultsAndResolves(t *testing.T) {
	dir := workspace(t)
	f, err := Load(write(t, dir, example))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Clusters[0].Context; got != "prod-eu" {
		t.Errorf("context defaults to the name: got %q", got)
	}
	if got, want := f.Sources[0].Path, filepath.Join(dir, "deploy/shop"); got != want {
		t.Errorf("source path = %s, want %s (relative to the file)", got, want)
	}
	if got, want := f.Store.Path, filepath.Join(dir, "plumb.db"); got != want {
		t.Errorf("store path = %s, want %s", got, want)
	}
	if diff := cmp.Diff([]string{"kube-system"}, f.Guardrails.ProtectedNamespaces); diff != "" {
		t.Errorf("protected namespaces default (-want +got):\n%s", diff)
	}
	if f.Guardrails.MaxObjectsPerRun != 10 || f.Bindings[0].Remediation != RemediationOff || f.Bindings[1].Remediation != RemediationApprove {
		t.Errorf("guardrails %+v, remediations %q %q", f.Guardrails, f.Bindings[0].Remediation, f.Bindings[1].Remediation)
	}
	eu := labels.Set(f.Clusters[0].Labels)
	us := labels.Set(f.Clusters[1].Labels)
	if !f.Bindings[1].Selector().Matches(eu) || f.Bindings[1].Selector().Matches(us) {
		t.Error("matchExpressions region In (eu) should select prod-eu only")
	}
	if f.Pricing.Set() {
		t.Errorf("pricing %+v, want none when the file gives none", f.Pricing)
	}
	if len(f.IgnoreRules()) != 1 {
		t.Errorf("ignore rules = %+v", f.IgnoreRules())
	}
}

func TestLoadReportsEveryProblemWithItsLine(t *testing.T) {
	dir := workspace(t)
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unknown field", func(s string) string {
			return strings.Replace(s, "    namespace: shop\n", "    namespace: shop\n    namespaces: [a]\n", 1)
		},
			[]string{"line 15", "namespaces", "not found"}},
		{"bad selector", func(s string) string { return strings.Replace(s, "operator: In", "operator: Near", 1) },
			[]string{"line 21", "bindings[1]", "Near"}},
		{"an unknown field and a bad selector: both named at once", func(s string) string {
			s = strings.Replace(s, "    namespace: shop\n", "    namespace: shop\n    namespaces: [a]\n", 1)
			return strings.Replace(s, "operator: In", "operator: Near", 1)
		},
			[]string{"line 15", "namespaces", "not found", "Near"}},
		{"missing source path", func(s string) string { return strings.Replace(s, "./deploy/shop", "./deploy/gone", 1) },
			[]string{"line 12", `source "shop"`, "no such file"}},
		{"unknown context", func(s string) string { return strings.Replace(s, "context: prod-us", "context: prod-ap", 1) },
			[]string{"line 7", `context "prod-ap" not found`}},
		{"binding to no source", func(s string) string { return strings.Replace(s, "source: shop", "source: shoe", 1) },
			[]string{"line 19", `no source named "shoe"`}},
		{"values on a plain source", func(s string) string {
			return strings.Replace(s, "    clusters: {matchLabels: {env: prod}}\n", "    clusters: {matchLabels: {env: prod}}\n    values: {a: b}\n", 1)
		}, []string{"line 19", "not a chart"}},
		{"a deployer that is everyone", func(s string) string {
			return strings.Replace(s, "    namespace: shop\n", "    namespace: shop\n    deployers: [ci-deployer, \"*\"]\n", 1)
		},
			[]string{"line 12", `source "shop"`, "deployers", "matches every user"}},
		{"a deployer pattern that is no pattern", func(s string) string {
			return strings.Replace(s, "    namespace: shop\n", "    namespace: shop\n    deployers: [\"team-[\"]\n", 1)
		},
			[]string{"line 12", "deployers", `"team-["`}},
		{"bad remediation", func(s string) string { return strings.Replace(s, "remediation: approve", "remediation: always", 1) },
			[]string{"line 21", `remediation "always"`}},
		{"bad ignore path", func(s string) string {
			return strings.Replace(s, "paths: [.spec.replicas]", "paths: [spec.replicas]", 1)
		},
			[]string{"line 27", "spec.replicas"}},
		{"bad automatic risk", func(s string) string {
			return strings.Replace(s, "guardrails: {maxObjectsPerRun: 10}", "guardrails: {maxObjectsPerRun: 10, autoMaxRisk: severe}", 1)
		},
			[]string{"guardrails.autoMaxRisk", `"severe"`}},
		{"negative price", func(s string) string {
			return strings.Replace(s, "guardrails: {maxObjectsPerRun: 10}", "guardrails: {maxObjectsPerRun: 10}\npricing: {cpuCoreHour: -1}", 1)
		},
			[]string{"pricing", "must not be negative"}},
		{"unknown price", func(s string) string {
			return strings.Replace(s, "guardrails: {maxObjectsPerRun: 10}", "guardrails: {maxObjectsPerRun: 10}\npricing: {gpuHour: 3}", 1)
		},
			[]string{"gpuHour", "not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, dir, tt.edit(example))
			_, err := Load(path)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			for _, w := range append(tt.want, path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestHelmReleaseSource: helmRelease: {namespace, name, driver} is the
// source helm:NAMESPACE/NAME, read when loaded; what is wrong with it is an
// error on its line.
func TestHelmReleaseSource(t *testing.T) {
	dir := workspace(t)
	live := strings.Replace(example, "    path: ./deploy/shop\n", "    helmRelease: {namespace: shop, name: web, driver: configmap}\n", 1)
	f, err := Load(write(t, dir, live))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Sources[0].Path; got != "helm:shop/web?driver=configmap" {
		t.Errorf("source path %q, want helm:shop/web?driver=configmap", got)
	}
	for name, tc := range map[string]struct{ edit, want string }{
		"no name":       {"    helmRelease: {namespace: shop}\n", "helmRelease.namespace and helmRelease.name are required"},
		"bad driver":    {"    helmRelease: {namespace: shop, name: web, driver: sql}\n", `unsupported Helm storage driver "sql"`},
		"path and both": {"    path: ./deploy/shop\n    helmRelease: {namespace: shop, name: web}\n", "give one of path, git and helmRelease"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(write(t, dir, strings.Replace(example, "    path: ./deploy/shop\n", tc.edit, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 12") {
				t.Errorf("error %v, want %q on line 12", err, tc.want)
			}
		})
	}
}

func TestPricing(t *testing.T) {
	dir := workspace(t)
	f, err := Load(write(t, dir, example+"pricing: {cpuCoreHour: 0.031, memoryGiBHour: 0.004}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Pricing.CPUCoreHour != 0.031 || f.Pricing.MemoryGiBHour != 0.004 {
		t.Errorf("pricing %+v, want cpuCoreHour 0.031 and memoryGiBHour 0.004", f.Pricing)
	}
}

// TestSourceLimits: a source's maxFileSize and maxObjectSize are sizes
// (bytes or quantities) that replace the command's limits for that source
// only; a size that is not one is an error on its line.
func TestSourceLimits(t *testing.T) {
	dir := workspace(t)
	sized := strings.Replace(example, "    namespace: shop\n", "    namespace: shop\n    maxFileSize: 64Mi\n    maxObjectSize: 4194304\n", 1)
	f, err := Load(write(t, dir, sized))
	if err != nil {
		t.Fatal(err)
	}
	base := source.Limits{File: 1, Object: 2}
	if diff := cmp.Diff(source.Limits{File: 64 << 20, Object: 4 << 20}, f.Sources[0].Limits(base)); diff != "" {
		t.Errorf("shop's limits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(base, f.Sources[1].Limits(base)); diff != "" {
		t.Errorf("web sets none: the command's limits (-want +got):\n%s", diff)
	}
	for name, tc := range map[string]struct{ edit, want string }{
		"not a size": {"    maxFileSize: lots\n", `"lots" is not a size`},
		"zero":       {"    maxObjectSize: 0\n", `"0" is not a size`},
		"a list":     {"    maxObjectSize: [1]\n", "want a size"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(write(t, dir, strings.Replace(example, "    namespace: shop\n", "    namespace: shop\n"+tc.edit, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 15") {
				t.Errorf("error %v, want %q on line 15", err, tc.want)
			}
		})
	}
}
