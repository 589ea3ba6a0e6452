package main

import (
	"encoding/json"
	"errors"
	"os"
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

// TestReleaseBuildLeavesOutGoPlugins checks the Makefile's build tags: with
// them, no dependency links Go's plugin package, which exports every symbol
// and keeps methods the linker would drop (kustomize's plugin loader did, and
// a new dependency could again).
func TestReleaseBuildLeavesOutGoPlugins(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	tags := ""
	for _, line := range strings.Split(string(makefile), "\n") {
		if name, value, ok := strings.Cut(line, ":="); ok && strings.TrimSpace(name) == "TAGS" {
			tags = strings.TrimSpace(value)
		}
	}
	if tags == "" {
		t.Fatal("Makefile sets no TAGS")
	}
	out, err := exec.Command("go", "list", "-deps", "-tags", tags, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "plugin" {
			t.Fatalf("the release build links Go's plugin package (tags %q); find the importer with go list -deps -f '{{.ImportPath}}: {{.Imports}}'", tags)
		}
	}
}
