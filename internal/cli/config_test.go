package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigInitWritesAValidStarter checks that config init turns the
// kubeconfig's contexts into clusters, and that the starter passes
// config validate once its placeholders are filled in.
func TestConfigInitWritesAValidStarter(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plumb.yaml")
	code, _, stderr := run(t, "config", "init", "--kubeconfig", env.Kubeconfig, "--file", file)
	if code != 0 {
		t.Fatalf("config init: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "  - name: envtest\n    context: envtest\n") {
		t.Errorf("starter lacks the envtest context:\n%s", b)
	}
	// It never overwrites.
	if code, _, _ := run(t, "config", "init", "--kubeconfig", env.Kubeconfig, "--file", file); code != ExitError {
		t.Errorf("second init over an existing file: exit %d, want %d", code, ExitError)
	}

	filled := strings.Replace(string(b), "./deploy             # CHANGE-ME", mustAbs(t, shop), 1)
	filled = strings.ReplaceAll(filled, "CHANGE-ME", "prod")
	if err := os.WriteFile(file, []byte(filled), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "config", "validate", "-c", file)
	if code != 0 || !strings.Contains(out, "is valid: 1 cluster, 1 source, 1 binding") {
		t.Errorf("validate the filled starter: exit %d\n%s%s\n%s", code, out, stderr, filled)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
