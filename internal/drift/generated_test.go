package drift_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	writeChart(t, a.chart, files)
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

// TestChartLookupInHelper installs a chart whose Secret keeps its password
// with lookup, called from a helper in _helpers.tpl rather than from the
// Secret's own template, and whose offline fallback is a fixed value. The
// password is then rotated in the cluster, as helm upgrade would keep it.
// Rendered offline the chart declares its fallback, so a plan built from
// it would overwrite the rotated password: the Secret's values must be
// compared by presence only, and fix must leave the live one.
func TestChartLookupInHelper(t *testing.T) {
	t.Parallel()
	a := layout(t)
	a.chart = filepath.Join(t.TempDir(), "keep")
	files := map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: keep\nversion: 0.1.0\n",
		"templates/_helpers.tpl": `{{- define "keep.password" -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace "db" -}}
{{- if $s }}{{ index $s.data "password" }}{{ else }}{{ "initial" | b64enc }}{{ end -}}
{{- end -}}
`,
		"templates/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  password: {{ include "keep.password" . | quote }}
`,
	}
	writeChart(t, a.chart, files)
	a.source, a.opts.ReleaseName = a.chart, "keep"
	helmInstall(t, a, true, false)
	k := kubectlIn(t, a.ns)
	k("", "patch", "secret/db", "--type=merge", "-p", `{"stringData":{"password":"rotated"}}`)
	rotated := drift.SharedEnv().Kubectl(t, "", "-n", a.ns, "get", "secret/db", "-o", "jsonpath={.data.password}")

	for _, o := range load(t, a) {
		if o.Object.GetKind() == "Secret" && !slices.Contains(o.Origin.Generated, ".data.password") {
			t.Errorf("Secret from a chart that calls lookup: generated fields %v, want .data.password among them", o.Origin.Generated)
		}
	}
	if r := scan(t, a); len(r.Findings) != 0 {
		t.Errorf("a password the chart keeps with lookup, rotated in the cluster: %v", changesOf(r))
	}
	k("", "patch", "secret/db", "--type=merge", "-p", `{"metadata":{"labels":{"extra":"x"}}}`)
	plan, _ := fixAll(t, a)
	for _, s := range plan.Steps {
		for _, c := range s.Changes {
			if strings.HasPrefix(c.Path, ".data") {
				t.Errorf("plan writes %s on %s", c.Path, s.Object())
			}
		}
	}
	if got := drift.SharedEnv().Kubectl(t, "", "-n", a.ns, "get", "secret/db", "-o", "jsonpath={.data.password}"); got != rotated {
		t.Errorf("after fix the password is %q, want the rotated %q kept", got, rotated)
	}
}

// writeChart writes files, by path inside dir, into dir.
func writeChart(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
