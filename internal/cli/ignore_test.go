package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIgnoreRulesFromConfigAndFlags checks that the ignore rules of a
// config file (-c: a kind with a JSON Pointer, a field manager) and of
// --ignore-path (a group/Kind with a path in kubectl's notation) reach the
// scan: the changes they name are not reported and the scan exits 0.
// Which changes each kind of rule covers is package drift's
// TestIgnoreRules.
func TestIgnoreRulesFromConfigAndFlags(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("label", "service/web", "team=checkout")
	if code, r, _ := scanJSON(t, ns, "--source", shop); code != ExitDrift || len(changesOf(r)) != 3 {
		t.Fatalf("without rules: exit %d, changes %+v; want 1 and three changes", code, changesOf(r))
	}

	cfg := filepath.Join(t.TempDir(), "plumb.yaml")
	if err := os.WriteFile(cfg, []byte(`apiVersion: plumb.dev/v1alpha1
kind: Config
ignore:
  - kinds: [ConfigMap]
    paths: [/data/mode]
    reason: tuned at runtime
  - managers: [kubectl-label]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	requireInSync(t, ns, "--source", shop, "-c", cfg,
		"--ignore-path", `apps/Deployment:.spec.template.spec.containers[name="api"].image`)
}

// TestBadIgnoreRulesNameTheirSource checks that a bad rule is an error that
// says where it is, before anything is scanned.
func TestBadIgnoreRulesNameTheirSource(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "plumb.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: plumb.dev/v1alpha1\nkind: Config\nignore:\n  - kinds: [ConfigMap]\n    paths: [spec.replicas]\n  - kinds: [Secret]\n    pathz: [/data]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-c", cfg}, []string{cfg, "line 7", "pathz"}},
		{[]string{"--ignore-path", ".spec.replicas"}, []string{"KIND:PATH"}},
		{[]string{"--ignore-path", "Deployment:.spec.containers[name=web"}, []string{"unclosed"}},
	}
	for _, tt := range tests {
		args := append([]string{"scan", "--kubeconfig", env.Kubeconfig, "--source", shop}, tt.args...)
		code, _, stderr := run(t, args...)
		if code != ExitError {
			t.Errorf("%v: exit %d, want %d", tt.args, code, ExitError)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tt.args, stderr, w)
			}
		}
	}
	// Once the unknown field is fixed, the bad path is reported with its line.
	if err := os.WriteFile(cfg, []byte("apiVersion: plumb.dev/v1alpha1\nkind: Config\nignore:\n  - kinds: [ConfigMap]\n    paths: [spec.replicas]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "--source", shop, "-c", cfg)
	if !strings.Contains(stderr, "line 4") || !strings.Contains(stderr, "spec.replicas") {
		t.Errorf("stderr %q: want the rule's line and path", stderr)
	}
}
