package main

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build compiles plumb the way `go install` does and returns the binary.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plumb")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBuiltBinary checks what only a real build shows: `plumb version` names
// the client-go module it was built with, and main passes exit codes on.
func TestBuiltBinary(t *testing.T) {
	bin := build(t)

	want, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/client-go").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("plumb version: %v", err)
	}
	var got struct {
		ClientGoVersion string `json:"clientGoVersion"`
		Version         string `json:"version"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("plumb version -o json: %v\n%s", err, out)
	}
	if got.ClientGoVersion != strings.TrimSpace(string(want)) {
		t.Errorf("clientGoVersion = %q, want %q", got.ClientGoVersion, strings.TrimSpace(string(want)))
	}
	if got.Version == "" {
		t.Error("version is empty")
	}

	err = exec.Command(bin, "--no-such-flag").Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
		t.Errorf("plumb --no-such-flag: %v, want exit status 2", err)
	}
}
