package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// staticBinary builds a tiny static Linux program for arch, a stand-in for
// plumb that builds in a second.
func staticBinary(t *testing.T, arch string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"plumb\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "plumb")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// untar extracts the archive at path into a new folder.
func untar(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// files reads the image's single layer into name → header and content.
func files(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	headers, bodies := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return headers, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		headers[name], bodies[name] = h, b
	}
}

// TestImage builds an image, writes it as `make image` does and reads the
// tarball back: the config runs /plumb as 65532 on linux/amd64, the layer
// holds the binary as it was built, the CA bundle and the passwd entry, and
// the digest does not depend on when it was built.
func TestImage(t *testing.T) {
	bin := staticBinary(t, "amd64")
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Binary, opts.CACerts, opts.Version, opts.Revision = bin, ca, "v1.2.3", "abc123"
	img, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "plumb-image.tar")
	if err := Write(out, "plumb:v1.2.3", img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	// As an OCI layout (podman, skopeo, crane): the same manifest, so the
	// digest make image prints is the one a registry will show.
	dir := untar(t, out)
	index, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("not an OCI layout: %v", err)
	}
	im, err := index.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("index.json: %+v, %v; want one manifest", im, err)
	}
	if got := im.Manifests[0].Digest; got != want {
		t.Errorf("index.json names %v, built %v", got, want)
	}
	if got := im.Manifests[0].Annotations["io.containerd.image.name"]; got != "index.docker.io/library/plumb:v1.2.3" {
		t.Errorf("image name annotation %q", got)
	}
	loaded, err := index.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(loaded); err != nil {
		t.Errorf("the image in the layout does not validate: %v", err)
	}

	// As docker load reads it (manifest.json): the same config and layers.
	tag, err := name.NewTag("plumb:v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	docker, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("docker load could not read it: %v", err)
	}
	if err := validate.Image(docker); err != nil {
		t.Errorf("the image docker load reads does not validate: %v", err)
	}
	wantConfig, _ := img.ConfigName()
	if got, err := docker.ConfigName(); err != nil || got != wantConfig {
		t.Errorf("docker config %v (%v), want %v", got, err, wantConfig)
	}

	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cfg.OS, cfg.Architecture)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532", cfg.Config.User)
	}
	if diff := cmp.Diff([]string{"/plumb"}, cfg.Config.Entrypoint); diff != "" {
		t.Errorf("entrypoint (-want +got):\n%s", diff)
	}
	if got := cfg.Config.Labels["org.opencontainers.image.version"]; got != "v1.2.3" {
		t.Errorf("version label %q", got)
	}
	if got := cfg.Config.Labels["org.opencontainers.image.revision"]; got != "abc123" {
		t.Errorf("revision label %q", got)
	}

	headers, bodies := files(t, mutate.Extract(loaded))
	wantBin, _ := os.ReadFile(bin)
	if h := headers["plumb"]; h == nil || h.Mode != 0o755 || !bytes.Equal(bodies["plumb"], wantBin) {
		t.Errorf("/plumb: header %+v, %d bytes; want mode 0755 and the %d bytes built", h, len(bodies["plumb"]), len(wantBin))
	}
	if got := string(bodies["etc/ssl/certs/ca-certificates.crt"]); !strings.Contains(got, "not really") {
		t.Errorf("CA bundle %q, want the file given", got)
	}
	if got := string(bodies["etc/passwd"]); !strings.Contains(got, "plumb:x:65532:65532:") {
		t.Errorf("/etc/passwd has no plumb user 65532:\n%s", got)
	}
	if h := headers["var/lib/plumb"]; h == nil || h.Uid != 65532 || h.Typeflag != tar.TypeDir {
		t.Errorf("/var/lib/plumb: %+v, want a directory owned by 65532", h)
	}
	if h := headers["tmp"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v, want mode 1777", h)
	}

	// Reproducible: the same inputs give the same digest.
	again, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != want {
		t.Errorf("second build: digest %v, first %v", d, want)
	}
	opts.Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	later, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := later.Digest(); d == want {
		t.Error("another SOURCE_DATE_EPOCH gave the same digest")
	}
}

// TestImageRefusesWhatCannotRun: a binary for another architecture, or not
// an executable at all, is refused with the build setting to fix; a missing
// CA bundle is a warning.
func TestImageRefusesWhatCannotRun(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "plumb")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho plumb\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	arm := staticBinary(t, "arm64")
	for _, tc := range []struct{ binary, arch, want string }{
		{notELF, "amd64", "GOOS=linux"},
		{arm, "amd64", "GOARCH=amd64"},
		{arm, "mips", "architecture \"mips\""},
		{filepath.Join(t.TempDir(), "missing"), "amd64", "make build"},
	} {
		opts := DefaultOptions()
		opts.Binary, opts.Arch = tc.binary, tc.arch
		if _, err := Build(opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%s, %s) = %v, want an error saying %q", filepath.Base(tc.binary), tc.arch, err, tc.want)
		}
	}

	var warnings []string
	opts := DefaultOptions()
	opts.Binary, opts.Arch = arm, "arm64"
	opts.CACerts = filepath.Join(t.TempDir(), "none.crt")
	opts.Warn = func(s string) { warnings = append(warnings, s) }
	img, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no CA certificates") {
		t.Errorf("warnings %q, want one about the missing CA bundle", warnings)
	}
	headers, _ := files(t, mutate.Extract(img))
	if _, ok := headers["etc/ssl/certs/ca-certificates.crt"]; ok {
		t.Error("the image has a CA bundle that does not exist")
	}
}
