package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/realworld"
)

func deployment(ns, name string) *object {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name}}}
	return &object{u: u, apiVersion: "apps/v1", key: objectKey{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name}}
}

func TestClassifyPlumb(t *testing.T) {
	web := deployment("shop", "web")
	scale := plan{target: web, fields: []string{".spec.replicas"}}
	const scaled = `{"findings":[{"apiVersion":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","state":"drifted",
		"changes":[{"path":".spec.replicas","type":"modified","desired":1,"live":2,"manager":"kubectl"}]}]}`
	tests := []struct {
		name   string
		code   int
		report string
		p      plan
		want   verdict
	}{{
		name: "drift found on its field", code: 1, report: scaled, p: scale,
		want: verdict{code: 1, reported: true, targetReported: true, onTarget: true},
	}, {
		name: "drift found with another field and another object", code: 1, p: scale,
		report: `{"findings":[
			{"apiVersion":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","state":"drifted","changes":[
				{"path":".spec.replicas","type":"modified"},
				{"path":".spec.template.spec.containers[name=\"web\"].terminationMessagePath","type":"removed"}]},
			{"apiVersion":"v1","kind":"Service","namespace":"shop","name":"web","state":"drifted","changes":[{"path":".spec.ports","type":"modified"}]}]}`,
		want: verdict{code: 1, reported: true, targetReported: true, onTarget: true,
			extraObjects: []string{"Service shop/web (drifted, 1 changes)"},
			extraFields:  []string{`.spec.template.spec.containers[name="web"].terminationMessagePath (removed)`}},
	}, {
		name: "drift reported at the wrong field only", code: 1, p: scale,
		report: `{"findings":[{"apiVersion":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","state":"drifted",
			"changes":[{"path":".spec.replicasExtra","type":"added","manager":"kubectl-edit"}]}]}`,
		want: verdict{code: 1, reported: true, targetReported: true, extraFields: []string{".spec.replicasExtra (added, by kubectl-edit)"}},
	}, {
		name: "deletion found as missing", code: 1, p: plan{target: web, missing: true},
		report: `{"findings":[{"apiVersion":"apps/v1","kind":"Deployment","namespace":"shop","name":"web","state":"missing"}]}`,
		want:   verdict{code: 1, reported: true, targetReported: true, onTarget: true},
	}, {
		name: "no-op reported", code: 1, report: scaled, p: plan{target: web},
		want: verdict{code: 1, reported: true, targetReported: true, extraFields: []string{".spec.replicas (modified, by kubectl)"}},
	}, {
		name: "in sync", code: 0, report: `{"findings":[]}`, p: plan{},
		want: verdict{code: 0},
	}, {
		name: "error", code: 2, report: ``, p: scale,
		want: verdict{code: 2, failed: true, detail: "exit 2"},
	}, {
		name: "error in the report", code: 2, p: scale,
		report: `{"findings":[],"errors":[{"path":"a.yaml","object":"Service shop/web","message":"dry-run: invalid"}]}`,
		want:   verdict{code: 2, failed: true, detail: "exit 2; Service shop/web: dry-run: invalid"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifyPlumb(tt.code, []byte(tt.report), tt.p)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{})); diff != "" {
				t.Errorf("classifyPlumb (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassifyKubectl(t *testing.T) {
	web := deployment("shop", "web")
	names := map[string]objectKey{web.kubectlDiffName(): web.key, "v1.Service.shop.web": {Kind: "Service", Namespace: "shop", Name: "web"}}
	const out = `diff -u -N /tmp/LIVE-1/apps.v1.Deployment.shop.web /tmp/MERGED-2/apps.v1.Deployment.shop.web
--- /tmp/LIVE-1/apps.v1.Deployment.shop.web
+++ /tmp/MERGED-2/apps.v1.Deployment.shop.web
@@ -1 +1 @@
-  replicas: 2
+  replicas: 1
diff -u -N /tmp/LIVE-1/v1.Service.shop.web /tmp/MERGED-2/v1.Service.shop.web
diff -u -N /tmp/LIVE-1/v1.Secret.shop.x /tmp/MERGED-2/v1.Secret.shop.x
`
	got := classifyKubectl(1, []byte(out), plan{target: web}, names)
	want := verdict{code: 1, reported: true, targetReported: true, onTarget: true, extraObjects: []string{"Service shop/web", "v1.Secret.shop.x"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(verdict{})); diff != "" {
		t.Errorf("classifyKubectl (-want +got):\n%s", diff)
	}
	if got := scoreOf(kindNoop, got); got != scoreFalseAlarm {
		t.Errorf("a reported no-op scores %q, want %q", got, scoreFalseAlarm)
	}
	if got := falseObjects(kindNoop, got); got != 3 {
		t.Errorf("falseObjects of a no-op reporting 3 objects = %d", got)
	}
	if got := cell(kindDrift, got); got != "found (+2 other objects)" {
		t.Errorf("cell = %q", got)
	}
}

func TestScoreOf(t *testing.T) {
	tests := []struct {
		k    changeKind
		v    verdict
		want score
	}{
		{kindDrift, verdict{code: 1, reported: true, targetReported: true, onTarget: true}, scoreFound},
		{kindDrift, verdict{code: 1, reported: true, extraObjects: []string{"x"}}, scoreMissed},
		{kindDrift, verdict{code: 0}, scoreMissed},
		{kindDrift, verdict{code: 2, failed: true}, scoreError},
		{kindNoop, verdict{code: 0}, scoreClean},
		{kindNoop, verdict{code: 1, reported: true}, scoreFalseAlarm},
	}
	for _, tt := range tests {
		if got := scoreOf(tt.k, tt.v); got != tt.want {
			t.Errorf("scoreOf(%s, %+v) = %q, want %q", tt.k, tt.v, got, tt.want)
		}
	}
}

func TestRespell(t *testing.T) {
	for in, want := range map[string]string{
		"500m": "0.5", "100m": "0.1", "2000m": "2", "125m": "0.125",
		"1": "1000m", "0.5": "500m",
		"128Mi": "134217728", "64Mi": "67108864", "1Gi": "1073741824", "100M": "100000000",
	} {
		got, ok := respell(in)
		if !ok || got != want {
			t.Errorf("respell(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if got, ok := respell("not a quantity"); ok {
		t.Errorf("respell of garbage = %q", got)
	}
}

func TestUnderAny(t *testing.T) {
	c := containerPath("web")
	for path, want := range map[string]bool{
		c + ".image":                        true,
		c + ".env[name=\"X\"]":              true,
		c + ".imagePullPolicy":              false,
		".spec.replicas":                    false,
		".metadata.labels":                  false,
		".metadata.labels[\"a.b/c\"]":       false,
		".spec.template.spec.containers":    false,
		c + ".image" + "[0]":                true,
		".spec.template.spec.containers[0]": false,
	} {
		if got := underAny(path, []string{c + ".image", c + ".env"}); got != want {
			t.Errorf("underAny(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestOtherImage(t *testing.T) {
	for in, want := range map[string]string{
		"nginx": "nginx:plumb-bench-drift",
		"registry.k8s.io/ingress-nginx/controller:v1.15.1@sha256:abc": "registry.k8s.io/ingress-nginx/controller:plumb-bench-drift",
		"localhost:5000/app":                  "localhost:5000/app:plumb-bench-drift",
		"ghcr.io/stefanprodan/podinfo:6.14.1": "ghcr.io/stefanprodan/podinfo:plumb-bench-drift",
	} {
		if got := otherImage(in); got != want {
			t.Errorf("otherImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModes(t *testing.T) {
	for _, s := range realWorldSets {
		want := []applyMode{clientSide, serverSide}
		if s.form == formChart {
			want = append(want, helmTemplate)
		}
		if diff := cmp.Diff(want, s.modes()); diff != "" {
			t.Errorf("%s: modes (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestRenderChart: as installed, every object carries the release
// metadata; as templated, none does, and the managed-by label is there
// only because podinfo's templates render it.
func TestRenderChart(t *testing.T) {
	dir := filepath.Join(realworld.MustDir(), "podinfo/charts/podinfo")
	kv, err := common.ParseKubeVersion("v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		chart    chartOutput
		metadata bool
	}{{chartInstalled, true}, {chartTemplated, false}} {
		out, err := renderChart(context.Background(), dir, "shop", kv, tt.chart)
		if err != nil {
			t.Fatalf("%s: %v", tt.chart, err)
		}
		objs, err := decodeObjects(out)
		if err != nil || len(objs) == 0 {
			t.Fatalf("%s: %d objects, %v", tt.chart, len(objs), err)
		}
		for _, u := range objs {
			var helm []string
			for k := range u.GetAnnotations() {
				if strings.HasPrefix(k, "meta.helm.sh/") {
					helm = append(helm, k)
				}
			}
			if got := len(helm) == 2; got != tt.metadata {
				t.Errorf("%s: %s %s has release annotations %v, want them: %v", tt.chart, u.GetKind(), u.GetName(), helm, tt.metadata)
			}
			if got := u.GetLabels()["app.kubernetes.io/managed-by"]; got != "Helm" {
				t.Errorf("%s: %s %s managed-by label %q, want Helm (podinfo's templates render it)", tt.chart, u.GetKind(), u.GetName(), got)
			}
		}
	}
}
