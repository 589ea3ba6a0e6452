package fleet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/source"
)

// TestSourceLimits: the command's limits reach every way a session loads
// its sources (Load for scan, diff and fix; LoadEncoded for serve and the
// agent; fleet.Scan for -c), and a source's own maxFileSize replaces them
// for that source only.
func TestSourceLimits(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"capped", "raised"} {
		p := filepath.Join(dir, name, "big.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		content := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big-" + name + "}\ndata: {big: " + strings.Repeat("x", 20<<10) + "}\n"
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "plumb.yaml")
	content := fmt.Sprintf(`apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: prod-eu, kubeconfig: %[1]s}
sources:
  - {name: capped, path: capped, namespace: limits-test}
  - {name: raised, path: raised, namespace: limits-test, maxFileSize: 64Ki}
bindings:
  - {source: capped, clusters: {}}
  - {source: raised, clusters: {}}
`, kubeconf)
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	capped := filepath.Join(dir, "capped", "big.yaml")
	refused := func(errs []source.Error) bool {
		return len(errs) == 1 && errs[0].Path == capped && strings.Contains(errs[0].Message, "--max-source-file-size")
	}

	f, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	members, err := fleet.Members(f, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fleet.Open(members[0], fleet.SessionOptions{Limits: source.Limits{File: 16 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	objs, errs := s.Load(context.Background())
	if len(objs) != 1 || objs[0].Object.GetName() != "big-raised" || !refused(errs) {
		t.Errorf("Load: %d objects, errors %v; want big-raised, and capped's file refused", len(objs), errs)
	}
	enc, errs := s.LoadEncoded(context.Background())
	if len(enc) != 1 || enc[0].Origin.Path != filepath.Join(dir, "raised", "big.yaml") || !refused(errs) {
		t.Errorf("LoadEncoded: %d objects, errors %v; want big-raised, and capped's file refused", len(enc), errs)
	}

	kubectl(t, "prod-eu", "create", "namespace", "limits-test")
	code, out, stderr := run(t, "scan", "-c", cfg, "-o", "json", "--max-source-file-size=16Ki")
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("scan: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	var findings []string
	for _, f := range r.Findings {
		findings = append(findings, string(f.State)+" "+f.Name)
	}
	if diff := cmp.Diff([]string{"missing big-raised"}, findings); code != 2 || diff != "" || !refused(r.Errors) {
		t.Errorf("scan -c: exit %d, want 2; findings (-want +got):\n%s\nerrors: %v", code, diff, r.Errors)
	}
}
