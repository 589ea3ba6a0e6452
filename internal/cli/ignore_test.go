package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIgnoreRules drifts the shop and then ignores each change the way
// users write it: a --ignore-path flag in kubectl's notation, a config file
// with a JSON Pointer (Flux, Argo CD) and a field manager (Argo CD's
// managedFieldsManagers), and the built-in rule for a Deployment that a
// HorizontalPodAutoscaler scales.
func TestIgnoreRules(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/web", "--replicas=5")
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("label", "service/web", "team=checkout")

	all := []seen{
		{"ConfigMap/settings", ".data.mode", "modified", "kubectl-patch"},
		{"Deployment/api", `.spec.template.spec.containers[name="api"].image`, "modified", "kubectl-set"},
		{"Deployment/web", ".spec.replicas", "modified", "kubectl"},
		{"Service/web", ".metadata.labels.team", "added", "kubectl-label"},
	}
	_, r, _ := scanJSON(t, ns, "--source", shop)
	if diff := cmp.Diff(all, changesOf(r)); diff != "" {
		t.Fatalf("before ignoring (-want +got):\n%s", diff)
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
	_, r, _ = scanJSON(t, ns, "--source", shop, "-c", cfg,
		"--ignore-path", `apps/Deployment:.spec.template.spec.containers[name="api"].image`)
	if diff := cmp.Diff(all[2:3], changesOf(r)); diff != "" {
		t.Errorf("with ignore rules (-want +got):\n%s", diff)
	}

	// An HPA owns the replicas of its target: that change is expected.
	k("autoscale", "deployment/web", "--min=2", "--max=6", "--cpu=80")
	_, r, _ = scanJSON(t, ns, "--source", shop, "-c", cfg,
		"--ignore-path", `Deployment:/spec/template/spec/containers/0/image`)
	if got := changesOf(r); len(got) != 0 {
		t.Errorf("with an HPA on web and every other change ignored: %+v", got)
	}
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
