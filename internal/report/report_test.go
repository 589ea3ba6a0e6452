package report

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/table"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func sample() Report {
	at := now.Add(-90 * time.Minute)
	res := drift.Result{
		Cluster: "prod-eu", Objects: 3, InSync: 1, Managed: 3, Unmanaged: 1, UnmanagedChecked: true,
		Findings: []drift.Finding{
			{Cluster: "prod-eu", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", State: drift.StateDrifted,
				Source: &source.Origin{Path: "deploy/web.yaml", Line: 1},
				Changes: []drift.Change{
					{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: int64(2), Live: int64(5), Manager: "kubectl", Operation: "Update", Subresource: "scale"},
					{Path: ".metadata.labels.team", Type: drift.ChangeAdded, Live: "a|b", Manager: "kubectl-label", Operation: "Update", Time: &at},
				}},
			{Cluster: "prod-eu", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "flags", State: drift.StateMissing},
			{Cluster: "prod-eu", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "stray", State: drift.StateUnmanaged},
		},
	}
	return New([]drift.Result{res}, []ClusterStatus{{Name: "prod-eu", Status: StatusOK}},
		[]source.Error{{Path: "deploy/bad.yaml", Line: 4, Message: "missing kind"}})
}

func TestSummaryAndHealth(t *testing.T) {
	r := sample()
	cov := 0.75
	want := Summary{Objects: 3, InSync: 1, Drifted: 1, Missing: 1, Unmanaged: 1, Coverage: &cov}
	if diff := cmp.Diff(want, r.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if r.Healthy() {
		t.Error("a report with errors is not healthy")
	}
	if New(nil, nil, nil).Healthy() != true {
		t.Error("an empty report is healthy")
	}
}

// TestJSONContract pins the field names docs/report.md documents.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(), WriteOptions{Format: "json", Now: now}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m any) []string { return slices.Sorted(maps.Keys(m.(map[string]any))) }
	if diff := cmp.Diff([]string{"apiVersion", "clusters", "errors", "findings", "kind", "summary"}, keys(doc)); diff != "" {
		t.Errorf("top level (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"coverage", "drifted", "inSync", "missing", "objects", "unmanaged"}, keys(doc["summary"])); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	f := doc["findings"].([]any)[0]
	if diff := cmp.Diff([]string{"apiVersion", "changes", "cluster", "kind", "name", "namespace", "source", "state"}, keys(f)); diff != "" {
		t.Errorf("finding (-want +got):\n%s", diff)
	}
	c := f.(map[string]any)["changes"].([]any)[0]
	if diff := cmp.Diff([]string{"desired", "live", "manager", "operation", "path", "subresource", "type"}, keys(c)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	if doc["apiVersion"] != "plumb.dev/v1alpha1" || doc["kind"] != "Report" {
		t.Errorf("apiVersion/kind = %v/%v", doc["apiVersion"], doc["kind"])
	}
	// Empty lists are [] for machines, never null.
	buf.Reset()
	_ = Write(&buf, New(nil, nil, nil), WriteOptions{Format: "json", Now: now})
	for _, want := range []string{`"findings": []`, `"errors": []`, `"clusters": []`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty report lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(), WriteOptions{Format: "", Now: now}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.HasPrefix(lines[0], "CLUSTER") || !strings.Contains(lines[0], "WHO") {
		t.Errorf("header = %q", lines[0])
	}
	web := strings.Fields(lines[1])
	want := []string{"prod-eu", "shop", "Deployment.apps", "web", "drifted", ".spec.replicas", ".metadata.labels.team", "kubectl,kubectl-label", "90m", "ago"}
	if diff := cmp.Diff(want, web); diff != "" {
		t.Errorf("web row (-want +got):\n%s", diff)
	}
	if last := lines[len(lines)-1]; last != "3 objects: 1 in sync, 1 drifted, 1 missing, 1 unmanaged (coverage 75%); 1 error." {
		t.Errorf("summary line = %q", last)
	}
}

func TestMarkdownEscapesCells(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample(), WriteOptions{Format: "markdown", Now: now}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"| prod-eu | Deployment.apps | `shop/web` | drifted |", `"a\|b"`, "<details>", "- deploy/bad.yaml:4: missing kind"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, sample(), WriteOptions{Format: "html", Now: now}); err == nil {
		t.Error("want an error for -o html")
	}
	if err := ValidFormat("html"); err == nil || !strings.Contains(err.Error(), "jsonpath=TEMPLATE") {
		t.Errorf("ValidFormat(html) = %v, want an error listing the formats", err)
	}
	if err := ValidFormat("jsonpath={.findings[}"); err == nil {
		t.Error("ValidFormat accepts a template that does not parse")
	}
}

func TestDiffDirectionAndColour(t *testing.T) {
	obj := func(replicas int64) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"replicas": replicas}}}
	}
	f := drift.Finding{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Live: obj(5), Desired: obj(2)}
	var plain, colour bytes.Buffer
	if err := WriteDiff(&plain, []drift.Finding{f}, DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- live/apps.v1.Deployment.shop.web", "+++ desired/apps.v1.Deployment.shop.web", "-  replicas: 5", "+  replicas: 2"} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, plain.String())
		}
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("colour without Color")
	}
	_ = WriteDiff(&colour, []drift.Finding{f}, DiffOptions{Color: true})
	if !strings.Contains(colour.String(), "\x1b[31m-  replicas: 5\x1b[0m") {
		t.Errorf("removed line not red:\n%q", colour.String())
	}
}

// TestDiffOfMissingObject: a missing object's diff is its declaration,
// every line added, as kubectl diff shows an object it would create, with
// its namespace as compared and a Secret's values masked.
func TestDiffOfMissingObject(t *testing.T) {
	secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "creds"}, "stringData": map[string]any{"token": "not-a-real-token"}}}
	res := drift.Result{Cluster: "prod-eu", Objects: 1,
		Findings: []drift.Finding{{Cluster: "prod-eu", APIVersion: "v1", Kind: "Secret", Namespace: "shop", Name: "creds", State: drift.StateMissing,
			Source: &source.Origin{Path: "deploy/creds.yaml", Line: 1}}},
		Declared: map[drift.ObjectKey]drift.Declaration{{Kind: "Secret", Namespace: "shop", Name: "creds"}: drift.DeclarationOf(source.Object{Object: secret}, "shop")},
	}
	r := New([]drift.Result{res}, []ClusterStatus{{Name: "prod-eu", Status: StatusOK}}, nil)
	var buf bytes.Buffer
	if err := WriteDiff(&buf, r.Findings, DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `--- live/v1.Secret.shop.creds
+++ desired/v1.Secret.shop.creds	deploy/creds.yaml:1
@@ -0,0 +1,7 @@
+apiVersion: v1
+kind: Secret
+metadata:
+  name: creds
+  namespace: shop
+stringData:
+  token: (redacted)
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if secret.GetNamespace() != "" || secret.Object["stringData"].(map[string]any)["token"] != "not-a-real-token" {
		t.Error("the declaration itself was changed")
	}
}

// TestDiffNamesClustersAndNotesLeftFields: in a fleet's diff the headers
// name the cluster; fields plumb fix leaves are listed above the header.
func TestDiffNamesClustersAndNotesLeftFields(t *testing.T) {
	obj := func(team string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": "settings", "namespace": "shop"}}}
		if team != "" {
			u.SetLabels(map[string]string{"team": team})
		}
		return u
	}
	added := drift.Change{Path: ".metadata.labels.team", Type: drift.ChangeAdded, Live: "a", Manager: "kubectl-label"}
	var findings []drift.Finding
	for _, c := range []string{"prod-eu", "prod-us"} {
		findings = append(findings, drift.Finding{Cluster: c, APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "settings",
			State: drift.StateDrifted, Changes: []drift.Change{added}, Live: obj("a"), Desired: obj("")})
	}
	left := func(f drift.Finding) []drift.Change { return f.Changes }
	var buf bytes.Buffer
	if err := WriteDiff(&buf, findings, DiffOptions{Clusters: true, LeftInPlace: left}); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	note := "# plumb fix: 1 added field left in place (--remove-added removes it):\n#   .metadata.labels.team  [added by kubectl-label]\n"
	for _, c := range []string{"prod-eu", "prod-us"} {
		want := note + "--- live/" + c + "/v1.ConfigMap.shop.settings\n+++ desired/" + c + "/v1.ConfigMap.shop.settings\n"
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
	buf.Reset()
	_ = WriteDiff(&buf, findings[:1], DiffOptions{})
	if strings.Contains(buf.String(), "prod-eu") || strings.Contains(buf.String(), "#") {
		t.Errorf("without Clusters and LeftInPlace, the diff names the cluster or notes fields:\n%s", buf.String())
	}
}

// TestWriteTableIncomplete: a report with an error and no findings never
// says "No drift".
func TestWriteTableIncomplete(t *testing.T) {
	r := New(nil, nil, []source.Error{{Path: "deploy/", Message: source.NoObjectsMessage}})
	var b strings.Builder
	if err := Write(&b, r, WriteOptions{Format: "table", Now: time.Now()}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if strings.Contains(b.String(), "No drift") {
		t.Errorf("table of an incomplete report says No drift:\n%s", b.String())
	}
}

// TestHumanFormats: -o wide adds where each object is declared and every
// changed path; -o name is kubectl's kind.group/name; a JSONPath template
// reads the JSON report; colours mark states; an unconfirmed verdict is
// marked; Markdown times are absolute, in UTC.
func TestHumanFormats(t *testing.T) {
	r := sample()
	r.Findings[0].Unconfirmed = true
	write := func(opts WriteOptions) string {
		t.Helper()
		opts.Now = now
		var b strings.Builder
		if err := Write(&b, r, opts); err != nil {
			t.Fatalf("-o %s: %v", opts.Format, err)
		}
		return b.String()
	}
	tests := []struct {
		name string
		opts WriteOptions
		want []string
		not  []string
	}{
		{"wide", WriteOptions{Format: "wide"}, []string{"SOURCE", "deploy/web.yaml:1", "drifted (unconfirmed)", "2026-11-25 10:30:00 UTC"}, []string{"\x1b[", " ago"}},
		{"table", WriteOptions{}, []string{"drifted (unconfirmed)", "90m ago"}, []string{"SOURCE", "\x1b["}},
		{"no headers", WriteOptions{Table: table.Options{NoHeaders: true}}, []string{"prod-eu"}, []string{"CLUSTER"}},
		{"colour", WriteOptions{Table: table.Options{Color: true}}, []string{"\x1b[33mdrifted (unconfirmed)\x1b[0m", "\x1b[31mmissing\x1b[0m", "\x1b[35munmanaged\x1b[0m"}, nil},
		{"name", WriteOptions{Format: "name"}, []string{"deployment.apps/web\nconfigmap/flags\nconfigmap/stray\n"}, []string{"CLUSTER"}},
		{"jsonpath", WriteOptions{Format: `jsonpath={range .findings[*]}{.kind}/{.name}={.state}{"\n"}{end}`}, []string{"Deployment/web=drifted\nConfigMap/flags=missing\n"}, nil},
		{"jsonpath without braces", WriteOptions{Format: `jsonpath=.summary.objects`}, []string{"3"}, nil},
		{"markdown", WriteOptions{Format: "markdown"}, []string{"| kubectl,kubectl-label | 2026-11-25 10:30:00 UTC |", "drifted (unconfirmed)"}, []string{" ago"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := write(tt.opts)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("has %q:\n%s", n, got)
				}
			}
		})
	}
	if got := write(WriteOptions{Format: "name"}); got != "deployment.apps/web\nconfigmap/flags\nconfigmap/stray\n" {
		t.Errorf("-o name = %q", got)
	}
}

// TestPlurals: one object is "1 object".
func TestPlurals(t *testing.T) {
	r := New([]drift.Result{{Cluster: "c", Objects: 1, InSync: 1}}, []ClusterStatus{{Name: "c", Status: StatusOK}}, nil)
	var b strings.Builder
	if err := Write(&b, r, WriteOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "No drift: 1 object in sync.\n" {
		t.Errorf("got %q", b.String())
	}
}
