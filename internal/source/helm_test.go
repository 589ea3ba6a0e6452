package source

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// field is one field of a loaded object that a test checks.
type field struct {
	object string   // objectRef of the object
	path   []string // field path; a number indexes a list
	want   any      // nil: the field is absent
}

func TestLoadChartPodinfo(t *testing.T) {
	dir := filepath.Join(realWorld, "podinfo", "charts", "podinfo")
	prod := filepath.Join(dir, "values-prod.yaml")
	tmpl := func(name string, line int) Origin {
		return Origin{Path: filepath.Join(dir, "templates", filepath.FromSlash(name)), Line: line, Chart: "podinfo-6.14.1"}
	}
	tests := []struct {
		name   string
		opts   Options
		want   []loaded
		fields []field
	}{
		{
			name: "default values",
			// Hooks and tests (templates/tests/service.yaml renders a test
			// Pod with these values) are left out.
			want: []loaded{
				{Object: "Deployment default/podinfo", Origin: tmpl("deployment.yaml", 1)},
				{Object: "Service default/podinfo", Origin: tmpl("service.yaml", 1)},
			},
			fields: []field{
				{"Deployment default/podinfo", []string{"spec", "replicas"}, int64(1)},
				{"Deployment default/podinfo", []string{"metadata", "labels", "helm.sh/chart"}, "podinfo-6.14.1"},
				{"Deployment default/podinfo", []string{"metadata", "labels", "app.kubernetes.io/managed-by"}, "Helm"},
				{"Deployment default/podinfo", []string{"spec", "template", "spec", "containers", "0", "image"}, "ghcr.io/stefanprodan/podinfo:6.14.1"},
				{"Deployment default/podinfo", []string{"spec", "template", "spec", "containers", "0", "resources", "requests", "cpu"}, "1m"},
				{"Service default/podinfo", []string{"spec", "type"}, "ClusterIP"},
			},
		},
		{
			name: "values-prod.yaml",
			opts: Options{Values: []string{prod}},
			want: []loaded{
				{Object: "Deployment default/podinfo", Origin: tmpl("deployment.yaml", 1)},
				{Object: "HorizontalPodAutoscaler default/podinfo", Origin: tmpl("hpa.yaml", 1)},
				{Object: "ConfigMap podinfo-redis", Origin: tmpl("redis/config.yaml", 1)},
				{Object: "Deployment podinfo-redis", Origin: tmpl("redis/deployment.yaml", 1)},
				{Object: "Service podinfo-redis", Origin: tmpl("redis/service.yaml", 1)},
				{Object: "Service default/podinfo", Origin: tmpl("service.yaml", 1)},
			},
			fields: []field{
				{"Deployment default/podinfo", []string{"spec", "replicas"}, nil}, // the HPA scales it
				{"HorizontalPodAutoscaler default/podinfo", []string{"spec", "maxReplicas"}, int64(5)},
				{"Deployment podinfo-redis", []string{"metadata", "name"}, "podinfo-redis"},
			},
		},
		{
			name: "values file then --set, release name and namespace",
			opts: Options{
				Values:      []string{prod},
				Set:         []string{"hpa.enabled=false", "redis.enabled=false", "replicaCount=3", "image.tag=6.15.0"},
				ReleaseName: "web",
				Namespace:   "prod",
			},
			want: []loaded{
				{Object: "Deployment prod/web-podinfo", Origin: tmpl("deployment.yaml", 1)},
				{Object: "Service prod/web-podinfo", Origin: tmpl("service.yaml", 1)},
			},
			fields: []field{
				{"Deployment prod/web-podinfo", []string{"spec", "replicas"}, int64(3)},
				{"Deployment prod/web-podinfo", []string{"metadata", "labels", "app.kubernetes.io/name"}, "web-podinfo"},
				{"Deployment prod/web-podinfo", []string{"spec", "template", "spec", "containers", "0", "image"}, "ghcr.io/stefanprodan/podinfo:6.15.0"},
				{"Deployment prod/web-podinfo", []string{"spec", "template", "spec", "containers", "0", "resources", "requests", "cpu"}, "100m"},
			},
		},
		{
			name: "hooks enabled are left out",
			opts: Options{Set: []string{
				"hooks.preInstall.job.enabled=true",
				"hooks.postUpgrade.job.enabled=true",
				"cache=tcp://redis:6379", // renders templates/tests/cache.yaml
			}},
			want: []loaded{
				{Object: "Deployment default/podinfo", Origin: tmpl("deployment.yaml", 1)},
				{Object: "Service default/podinfo", Origin: tmpl("service.yaml", 1)},
			},
		},
		{
			name: "release name containing the chart name",
			opts: Options{ReleaseName: "podinfo-canary"},
			want: []loaded{
				{Object: "Deployment default/podinfo-canary", Origin: tmpl("deployment.yaml", 1)},
				{Object: "Service default/podinfo-canary", Origin: tmpl("service.yaml", 1)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Load(context.Background(), []string{dir}, tt.opts)
			if len(got.Errors) != 0 {
				t.Fatalf("errors: %v", got.Errors)
			}
			if diff := cmp.Diff(tt.want, summarizeSet(got)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			checkFields(t, got, tt.fields)
		})
	}
}

// checkFields checks fields of the objects in s.
func checkFields(t *testing.T, s Set, fields []field) {
	t.Helper()
	byRef := map[string]*unstructured.Unstructured{}
	for _, o := range s.Objects {
		byRef[objectRef(o.Object)] = o.Object
	}
	for _, f := range fields {
		u, ok := byRef[f.object]
		if !ok {
			t.Errorf("no object %s", f.object)
			continue
		}
		got := lookup(u.Object, f.path)
		if diff := cmp.Diff(f.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", f.object, strings.Join(f.path, "."), diff)
		}
	}
}

// lookup returns the value at path in v, or nil.
func lookup(v any, path []string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestLoadChartErrors(t *testing.T) {
	const chartYAML = "apiVersion: v2\nname: mini\nversion: 0.1.0\n"
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		// Paths are relative to the temporary directory holding the chart
		// in chart/.
		want     []loaded
		wantErrs []Error
		// wantMessages are substrings of the errors' messages, in order.
		wantMessages []string
	}{
		{
			name: "fail in a template",
			files: map[string]string{
				"chart/Chart.yaml":        chartYAML,
				"chart/templates/ok.yaml": configMap("ok"),
				"chart/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\n" +
					"{{ fail \"boom\" }}\n",
			},
			wantErrs:     []Error{{Path: "chart/templates/bad.yaml", Line: 3}},
			wantMessages: []string{"render chart mini-0.1.0: execution error at (mini/templates/bad.yaml:3:3): boom"},
		},
		{
			name: "template parse error",
			files: map[string]string{
				"chart/Chart.yaml":         chartYAML,
				"chart/templates/bad.yaml": "\n\n{{ if }}\n",
			},
			wantErrs:     []Error{{Path: "chart/templates/bad.yaml", Line: 3}},
			wantMessages: []string{"parse error at (mini/templates/bad.yaml:3): missing value for if"},
		},
		{
			name: "nil pointer in a subchart template",
			files: map[string]string{
				"chart/Chart.yaml":                     chartYAML,
				"chart/charts/sub/Chart.yaml":          "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
				"chart/charts/sub/templates/deep.yaml": "a: {{ .Values.a.b.c }}\n",
			},
			wantErrs:     []Error{{Path: "chart/charts/sub/templates/deep.yaml", Line: 1}},
			wantMessages: []string{"nil pointer evaluating"},
		},
		{
			name: "bad YAML in one rendered template",
			files: map[string]string{
				"chart/Chart.yaml":         chartYAML,
				"chart/templates/bad.yaml": "{{/* a comment */}}\n" + configMap("a") + "---\nkind: [\n---\n" + configMap("b"),
			},
			want: []loaded{
				{Object: "ConfigMap a", Origin: Origin{Path: "chart/templates/bad.yaml", Line: 2, Chart: "mini-0.1.0"}},
				{Object: "ConfigMap b", Origin: Origin{Path: "chart/templates/bad.yaml", Line: 9, Chart: "mini-0.1.0"}},
			},
			wantErrs:     []Error{{Path: "chart/templates/bad.yaml", Line: 7}},
			wantMessages: []string{"invalid YAML"},
		},
		{
			name: "dependency not in charts/",
			files: map[string]string{
				"chart/Chart.yaml": chartYAML + "dependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://example.com/charts\n",
			},
			wantErrs:     []Error{{Path: "chart"}},
			wantMessages: []string{"chart mini-0.1.0: dependencies in Chart.yaml but not in charts/ (run helm dependency build): redis"},
		},
		{
			name: "disabled dependency is not rendered",
			files: map[string]string{
				"chart/Chart.yaml":                   chartYAML + "dependencies:\n- name: sub\n  version: 1.0.0\n  condition: sub.enabled\n",
				"chart/values.yaml":                  "sub:\n  enabled: false\n",
				"chart/templates/cm.yaml":            configMap("top"),
				"chart/charts/sub/Chart.yaml":        "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
				"chart/charts/sub/templates/cm.yaml": configMap("sub"),
			},
			want: []loaded{{Object: "ConfigMap top", Origin: Origin{Path: "chart/templates/cm.yaml", Line: 1, Chart: "mini-0.1.0"}}},
		},
		{
			name: "library chart",
			files: map[string]string{
				"chart/Chart.yaml": chartYAML + "type: library\n",
			},
			wantErrs:     []Error{{Path: "chart"}},
			wantMessages: []string{"chart mini-0.1.0: a library chart cannot be rendered"},
		},
		{
			name: "incompatible kubeVersion",
			files: map[string]string{
				"chart/Chart.yaml": chartYAML + "kubeVersion: <1.20.0\n",
			},
			wantErrs:     []Error{{Path: "chart"}},
			wantMessages: []string{"chart mini-0.1.0: chart requires kubeVersion <1.20.0, which is incompatible with Kubernetes v1."},
		},
		{
			name: "invalid Chart.yaml",
			files: map[string]string{
				"chart/Chart.yaml": "apiVersion: v2\nname: mini\n",
			},
			wantErrs:     []Error{{Path: "chart"}},
			wantMessages: []string{"load chart: "},
		},
		{
			name: "invalid release name",
			files: map[string]string{
				"chart/Chart.yaml": chartYAML,
			},
			opts:         Options{ReleaseName: "Not_Valid"},
			wantErrs:     []Error{{Path: "chart"}},
			wantMessages: []string{`release name "Not_Valid"`},
		},
		{
			name: "bad values: reported once, every chart skipped",
			files: map[string]string{
				"chart/Chart.yaml":          chartYAML,
				"chart/templates/cm.yaml":   configMap("a"),
				"other/Chart.yaml":          "apiVersion: v2\nname: other\nversion: 1.0.0\n",
				"other/templates/cm.yaml":   configMap("b"),
				"values/invalid.yaml":       "a: [\n",
				"values/fine.yaml":          "a: b\n",
				"values/not-a-values.yaml~": "",
			},
			opts: Options{
				Values: []string{"values/missing.yaml", "values/invalid.yaml", "values/fine.yaml"},
				Set:    []string{"a=b,c"},
			},
			wantErrs: []Error{
				{Path: "values/missing.yaml"},
				{Path: "values/invalid.yaml"},
				{},
				{Path: "chart"},
				{Path: "other"},
			},
			wantMessages: []string{
				"read Helm values: no such file or directory",
				"invalid Helm values: ",
				`invalid Helm --set "a=b,c"`,
				"chart mini-0.1.0: not rendered: invalid Helm values",
				"chart other-1.0.0: not rendered: invalid Helm values",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			abs := func(p string) string {
				if p == "" {
					return ""
				}
				return filepath.Join(root, filepath.FromSlash(p))
			}
			for i := range tt.want {
				tt.want[i].Origin.Path = abs(tt.want[i].Origin.Path)
			}
			for i := range tt.wantErrs {
				tt.wantErrs[i].Path = abs(tt.wantErrs[i].Path)
			}
			for i := range tt.opts.Values {
				tt.opts.Values[i] = abs(tt.opts.Values[i])
			}
			paths := []string{abs("chart")}
			if _, err := os.Stat(abs("other")); err == nil {
				paths = append(paths, abs("other"))
			}

			got := Load(context.Background(), paths, tt.opts)

			if diff := cmp.Diff(tt.want, summarizeSet(got)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, got.Errors, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Error{}, "Message")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			for i, e := range got.Errors {
				if i < len(tt.wantMessages) && !strings.Contains(e.Message, tt.wantMessages[i]) {
					t.Errorf("error %d: %q does not contain %q", i, e.Message, tt.wantMessages[i])
				}
			}
		})
	}
}

func TestKubeVersionFor(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"v0.37.2", "v1.37.0", true},
		{"v0.38.0-alpha.1", "v1.38.0", true},
		{"v1.2.3", "", false},
		{"devel", "", false},
	}
	for _, tt := range tests {
		got, ok := kubeVersionFor(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("kubeVersionFor(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestFallbackKubeVersion keeps fallbackKubeVersion, which test binaries
// render charts with, in step with the k8s.io/client-go in go.mod, which
// the plumb binary renders charts with.
func TestFallbackKubeVersion(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatalf("read go.mod: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "k8s.io/client-go" {
			continue
		}
		want, ok := kubeVersionFor(fields[1])
		if !ok {
			t.Fatalf("k8s.io/client-go %s: unexpected version", fields[1])
		}
		if fallbackKubeVersion != want {
			t.Errorf("fallbackKubeVersion = %s, want %s for k8s.io/client-go %s", fallbackKubeVersion, want, fields[1])
		}
		if got := renderCapabilities().KubeVersion.Version; got != want {
			t.Errorf("render capabilities KubeVersion = %s, want %s", got, want)
		}
		return
	}
	t.Fatal("go.mod does not require k8s.io/client-go")
}

func TestIsHook(t *testing.T) {
	meta := func(annotations any) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": "a", "annotations": annotations}}
	}
	tests := []struct {
		name string
		obj  map[string]any
		want bool
	}{
		{"hook", meta(map[string]any{"helm.sh/hook": "pre-install"}), true},
		{"test", meta(map[string]any{"helm.sh/hook": "test"}), true},
		{"empty value", meta(map[string]any{"helm.sh/hook": ""}), true},
		{"value not a string", meta(map[string]any{"helm.sh/hook": int64(1)}), true},
		{"other annotations", meta(map[string]any{"helm.sh/hook-weight": "1"}), false},
		{"no annotations", map[string]any{"metadata": map[string]any{"name": "a"}}, false},
		{"no metadata", map[string]any{}, false},
	}
	for _, tt := range tests {
		if got := isHook(&unstructured.Unstructured{Object: tt.obj}); got != tt.want {
			t.Errorf("%s: isHook = %v, want %v", tt.name, got, tt.want)
		}
	}
}
