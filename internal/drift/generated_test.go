package drift_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

// TestChartGeneratedValues installs a chart that generates a password
// (randAlphaNum) and an id (uuidv4) with Helm, then scans it from the same
// chart, whose every render generates new ones: in sync. A password taken
// out by hand is drift; putting it back keeps the live values the chart
// generated at install and never writes new ones.
func TestChartGeneratedValues(t *testing.T) {
	t.Parallel()
	a := layout(t)
	a.chart = filepath.Join(t.TempDir(), "gen")
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: gen\nversion: 0.1.0\n",
		"templates/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  password: {{ randAlphaNum 16 | b64enc | quote }}
  user: {{ "app" | b64enc | quote }}
`,
		"templates/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: ids
data:
  install-id: {{ uuidv4 | quote }}
  mode: fast
`,
	}
	for name, body := range files {
		p := filepath.Join(a.chart, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.source, a.opts.ReleaseName = a.chart, "gen"
	helmInstall(t, a, true, false)
	if r := scan(t, a); len(r.Findings) != 0 {
		t.Fatalf("a chart that generates values, right after install: %v", changesOf(r))
	}
	objs := load(t, a)
	for _, o := range objs {
		if len(o.Origin.Generated) == 0 {
			t.Errorf("%s: no generated fields found", o.Object.GetName())
		}
	}

	k := kubectlIn(t, a.ns)
	get := func() string {
		return drift.SharedEnv().Kubectl(t, "", "-n", a.ns, "get", "secret/db", "configmap/ids", "-o", "jsonpath={.items[*].data}")
	}
	installed := get()
	k("", "patch", "configmap/ids", "--type=json", "-p", `[{"op":"remove","path":"/data/install-id"},{"op":"replace","path":"/data/mode","value":"slow"}]`)
	r := scan(t, a)
	want := []seen{{"ConfigMap/ids", `.data.install-id`, "removed"}, {"ConfigMap/ids", ".data.mode", "modified"}}
	if d := cmp.Diff(want, changesOf(r)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	k("", "patch", "configmap/ids", "--type=merge", "-p", `{"data":{"mode":"fast","install-id":"kept"}}`)
	installed = get()
	k("", "patch", "configmap/ids", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	fixAll(t, a)
	if got := get(); got != installed {
		t.Errorf("after fix: %s, want the values as installed %s", got, installed)
	}
}
