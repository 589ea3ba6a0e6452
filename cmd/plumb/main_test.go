package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/semver"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/testcluster"
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
	if !semver.IsValid(got.Version) {
		t.Errorf("version %q is not a semantic version", got.Version)
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

// TestMakefileStampsASemanticVersion builds plumb as make build does and
// asks it its version: a semantic version, the commit checked out, and
// the commit's date.
func TestMakefileStampsASemanticVersion(t *testing.T) {
	if _, err := exec.Command("git", "rev-parse", "--git-dir").Output(); err != nil {
		t.Skip("not a Git checkout: hack/version.sh has no commit to stamp")
	}
	bin := filepath.Join(t.TempDir(), "bin")
	cmd := exec.Command("make", "-s", "-C", "../..", "build", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "plumb"), "version", "-o", "json").Output()
	if err != nil {
		t.Fatalf("plumb version: %v", err)
	}
	var got struct{ Version, Commit, BuildDate string }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("plumb version -o json: %v\n%s", err, out)
	}
	head, _ := exec.Command("git", "rev-parse", "HEAD").Output()
	if !semver.IsValid(got.Version) || got.Commit != strings.TrimSpace(string(head)) {
		t.Errorf("version %q commit %q, want a semantic version and %s", got.Version, got.Commit, head)
	}
	if _, err := time.Parse(time.RFC3339, got.BuildDate); err != nil {
		t.Errorf("buildDate %q: %v", got.BuildDate, err)
	}
}

// kubectlBinary is the kubectl the test control plane is built with.
func kubectlBinary(t *testing.T) string {
	t.Helper()
	dir, err := testcluster.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "kubectl")
}

// TestKubectlPlugin builds the plugin archive and krew manifest as
// `make plugin` does, checks the manifest names the archive by its real
// SHA-256, unpacks it into a folder on the PATH and runs plumb through the
// real kubectl, as `kubectl plumb`, and its completion through the link
// kubectl asks for it.
func TestKubectlPlugin(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("make", "-s", "-C", "../..", "plugin", "BIN="+out, "PLUGIN_PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH, "VERSION=v1.2.3")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make plugin: %v\n%s", err, b)
	}
	archive := filepath.Join(out, "plugin", "kubectl-plumb_v1.2.3_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz")
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		APIVersion, Kind string
		Metadata         struct{ Name string }
		Spec             struct {
			Version   string
			Platforms []struct {
				Selector         struct{ MatchLabels map[string]string } `json:"selector"`
				URI, Sha256, Bin string
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "plugin", "plumb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("krew manifest: %v", err)
	}
	if manifest.Kind != "Plugin" || manifest.Metadata.Name != "plumb" || manifest.Spec.Version != "v1.2.3" || len(manifest.Spec.Platforms) != 4 {
		t.Fatalf("krew manifest: %+v", manifest)
	}
	found := false
	for _, p := range manifest.Spec.Platforms {
		if p.Bin != "kubectl-plumb" {
			t.Errorf("platform %v: bin %q, want kubectl-plumb", p.Selector.MatchLabels, p.Bin)
		}
		if p.Selector.MatchLabels["os"] == runtime.GOOS && p.Selector.MatchLabels["arch"] == runtime.GOARCH {
			found = true
			sum := sha256.Sum256(data)
			if p.Sha256 != hex.EncodeToString(sum[:]) || filepath.Base(p.URI) != filepath.Base(archive) {
				t.Errorf("this platform's entry %+v does not name %s with its SHA-256", p, filepath.Base(archive))
			}
		}
	}
	if !found {
		t.Fatalf("the manifest has no entry for %s/%s", runtime.GOOS, runtime.GOARCH)
	}

	path := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", archive, "-C", path).CombinedOutput(); err != nil {
		t.Fatalf("unpack: %v\n%s", err, b)
	}
	kubectl := func(args ...string) (string, error) {
		c := exec.Command(kubectlBinary(t), args...)
		c.Env = append(os.Environ(), "PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+filepath.Join(path, "none"))
		b, err := c.CombinedOutput()
		return string(b), err
	}
	if got, err := kubectl("plugin", "list", "--name-only"); err != nil || !strings.Contains(got, "kubectl-plumb") {
		t.Errorf("kubectl plugin list: %v\n%s", err, got)
	}
	got, err := kubectl("plumb", "version", "-o", "json")
	if err != nil || !strings.Contains(got, `"version": "v1.2.3"`) {
		t.Errorf("kubectl plumb version: %v\n%s", err, got)
	}
	if got, err := kubectl("plumb", "--help"); err != nil || !strings.Contains(got, "kubectl plumb [command]") {
		t.Errorf("kubectl plumb --help does not speak of kubectl plumb: %v\n%s", err, got)
	}
	// The completion helper is a link to the same binary.
	if err := os.Symlink("kubectl-plumb", filepath.Join(path, "kubectl_complete-plumb")); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(filepath.Join(path, "kubectl_complete-plumb"), "sc")
	if b, err := c.Output(); err != nil || !strings.Contains(string(b), "scan") {
		t.Errorf("kubectl_complete-plumb sc: %v\n%s", err, b)
	}
}
