package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The user and group plumb runs as: distroless's "nonroot", which Pod
// Security's restricted profile and most admission policies accept.
const (
	uid  = 65532
	home = "/home/plumb"
	// StoreDir is where the store lives in the container; the chart
	// mounts a volume there.
	StoreDir = "/var/lib/plumb"
)

// Options say what goes into the image.
type Options struct {
	// Binary is the plumb binary, static and built for linux/Arch.
	// Default bin/plumb.
	Binary string
	// CACerts is the CA bundle copied into the image. When the file is
	// missing the image has none, and Warn is told. Default
	// /etc/ssl/certs/ca-certificates.crt (Debian's, the host's).
	CACerts string
	// Arch is the image's architecture (GOARCH). Default amd64.
	Arch string
	// Version and Revision label the image. Default devel and none.
	Version, Revision string
	// Created is the image's creation time and its files' modification
	// time. Default the zero time (1970), so builds are reproducible.
	Created time.Time
	// Warn receives what is worth a person's attention but does not stop
	// the build. Default: nothing is said.
	Warn func(string)
}

// DefaultOptions returns the options `make image` starts from.
func DefaultOptions() Options {
	return Options{
		Binary:  "bin/plumb",
		CACerts: "/etc/ssl/certs/ca-certificates.crt",
		Arch:    "amd64",
		Version: "devel",
		Created: time.Unix(0, 0).UTC(),
		Warn:    func(string) {},
	}
}

// elfMachines maps the architectures the image is built for to their ELF
// machine, to refuse a binary built for another one.
var elfMachines = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
}

// Build assembles the image.
func Build(opts Options) (v1.Image, error) {
	bin, err := os.ReadFile(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the plumb binary: %w (run make build first)", err)
	}
	if err := checkBinary(opts.Binary, bin, opts.Arch); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(opts.CACerts)
	switch {
	case errors.Is(err, os.ErrNotExist):
		opts.Warn(fmt.Sprintf("no CA certificates at %s: the image cannot verify HTTPS servers (Git sources, remote clusters with public certificates)", opts.CACerts))
		ca = nil
	case err != nil:
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	layerTar, err := rootfs(bin, ca, opts.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}

	cfg, err := empty.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", opts.Arch
	cfg.Created = v1.Time{Time: opts.Created}
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", uid, uid),
		Entrypoint: []string{"/plumb"},
		WorkingDir: StoreDir,
		Env:        []string{"HOME=" + home},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "plumb",
			"org.opencontainers.image.description": "Finds and fixes drift between declared and live Kubernetes objects",
			"org.opencontainers.image.version":     opts.Version,
			"org.opencontainers.image.revision":    opts.Revision,
			"org.opencontainers.image.created":     opts.Created.Format(time.RFC3339),
			"org.opencontainers.image.base.name":   "scratch",
		},
	}
	img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1), cfg)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: opts.Created},
			CreatedBy: "hack/image: plumb, CA certificates, user 65532",
			Comment:   "plumb " + opts.Version,
		},
		MediaType: types.OCILayer,
	})
}

// checkBinary refuses what would not start in a scratch image: anything but
// a Linux executable for arch, and a dynamically linked one (built with cgo),
// whose loader the image lacks.
func checkBinary(path string, bin []byte, arch string) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("%s is not a Linux executable (%v): build it with GOOS=linux", path, err)
	}
	defer f.Close()
	if want, ok := elfMachines[arch]; !ok {
		return fmt.Errorf("architecture %q: want one of amd64, arm64, ppc64le, s390x", arch)
	} else if f.Machine != want {
		return fmt.Errorf("%s is built for %s, not %s: build it with GOARCH=%s", path, f.Machine, arch, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked and cannot run in a scratch image: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// rootfs returns the layer's files as a tar stream.
func rootfs(bin, ca []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nplumb:x:%d:%d:plumb:%s:/sbin/nologin\n", uid, uid, home)
	group := fmt.Sprintf("root:x:0:\nplumb:x:%d:\n", uid)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir(home[1:], 0o700, uid) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("var", 0o755, 0) },
		func() error { return dir("var/lib", 0o755, 0) },
		func() error { return dir(StoreDir[1:], 0o700, uid) },
		func() error { return file("plumb", 0o755, bin) },
	}
	if ca != nil {
		steps = append(steps,
			func() error { return dir("etc/ssl", 0o755, 0) },
			func() error { return dir("etc/ssl/certs", 0o755, 0) },
			func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, ca) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return buf.Bytes(), nil
}

// Write writes img to path as one archive in two layouts at once, as
// docker save does since Docker 25: an OCI image layout (oci-layout,
// index.json, blobs/sha256/…), which keeps the manifest and so the digest
// Write prints, for podman load, skopeo and crane; and, over the same
// blobs, the manifest.json that docker load of every version reads. It
// writes a temporary file first, so an interrupted build leaves no
// half-written image behind.
func Write(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("tag %q: %w", ref, err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err == nil {
		err = writeArchive(f, tag, img)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeArchive(w io.Writer, tag name.Tag, img v1.Image) error {
	manifest, err := img.RawManifest()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	mediaType, err := img.MediaType()
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	configName, err := img.ConfigName()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType: mediaType,
			Digest:    digest,
			Size:      int64(len(manifest)),
			Annotations: map[string]string{
				"io.containerd.image.name":          tag.Name(),
				"org.opencontainers.image.ref.name": tag.TagStr(),
			},
		}},
	})
	if err != nil {
		return err
	}
	dockerManifest := tarball.Manifest{{Config: blob(configName), RepoTags: []string{tag.String()}}}

	tw := tar.NewWriter(w)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	putBytes := func(name string, b []byte) error { return put(name, int64(len(b)), bytes.NewReader(b)) }
	if err := putBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := putBytes(blob(digest), manifest); err != nil {
		return err
	}
	if err := putBytes(blob(configName), config); err != nil {
		return err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		err = put(blob(d), size, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %s: %w", d, err)
		}
		dockerManifest[0].Layers = append(dockerManifest[0].Layers, blob(d))
	}
	dm, err := json.Marshal(dockerManifest)
	if err != nil {
		return err
	}
	if err := putBytes("manifest.json", dm); err != nil {
		return err
	}
	if err := putBytes("index.json", index); err != nil {
		return err
	}
	return tw.Close()
}

// imageSize is the size of the image's config and compressed layers, what
// a registry stores and a node pulls.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return size, nil
}
