package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/drift"
)

// KustomizationFile is the kustomization Write puts at the folder's root,
// listing every file it wrote.
const KustomizationFile = "kustomization.yaml"

// clusterDir holds the cluster-scoped objects.
const clusterDir = "_cluster"

// Written is what Write put on disk.
type Written struct {
	// Files are the objects' files, relative to the folder, in the
	// kustomization's order.
	Files []string
	// Bytes is the size of every file written, the kustomization's
	// included.
	Bytes int64
}

// ErrNotEmpty is returned by Write for a folder that holds files and may
// not be replaced.
var ErrNotEmpty = errors.New("the folder is not empty")

// Write writes objs into dir, one object per file (see fileNames), plus a
// kustomization.yaml listing them.
// A dir that exists and is not empty is refused unless replace is set;
// then the files its kustomization.yaml lists, and that file, are removed
// first, and nothing else is touched.
func Write(dir string, objs []*unstructured.Unstructured, replace bool) (Written, error) {
	var w Written
	names, err := fileNames(objs)
	if err != nil {
		return w, fmt.Errorf("%s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return w, err
	case len(entries) > 0 && !replace:
		return w, fmt.Errorf("%s: %w; pass --force to replace the snapshot in it", dir, ErrNotEmpty)
	case len(entries) > 0:
		if err := removePrevious(dir); err != nil {
			return w, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return w, err
	}
	for i, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return w, fmt.Errorf("%s: %w", drift.KeyOf(u), err)
		}
		if drift.IsValueless(u) {
			b = append([]byte(secretHeader(u)), b...)
		}
		rel := names[i]
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return w, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return w, err
		}
		w.Files = append(w.Files, rel)
		w.Bytes += int64(len(b))
	}
	k, err := kustomization(w.Files)
	if err != nil {
		return w, err
	}
	if err := os.WriteFile(filepath.Join(dir, KustomizationFile), k, 0o644); err != nil {
		return w, err
	}
	w.Bytes += int64(len(k))
	return w, nil
}

const kustomizationHeader = `# Written by plumb snapshot: every object it read, one per file.
# Scan against it with: plumb scan --source THIS_FOLDER
`

// kustomization is the kustomization.yaml listing files, written by the
// YAML encoder: a file's name is data, never YAML.
func kustomization(files []string) ([]byte, error) {
	k := struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
	}{"kustomize.config.k8s.io/v1beta1", "Kustomization", append([]string{}, files...)}
	b, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	return append([]byte(kustomizationHeader), b...), nil
}

// removePrevious removes the files an earlier snapshot in dir wrote (those
// its kustomization.yaml lists), the kustomization, and the folders left
// empty. A folder without a kustomization.yaml is no snapshot and is
// refused.
func removePrevious(dir string) error {
	kf := filepath.Join(dir, KustomizationFile)
	b, err := os.ReadFile(kf)
	if err != nil {
		return fmt.Errorf("%s: %w, and has no %s of an earlier snapshot to replace", dir, ErrNotEmpty, KustomizationFile)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("%s: %w", kf, err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	folders := map[string]bool{}
	for _, r := range k.Resources {
		p := filepath.Join(root, filepath.FromSlash(r))
		if rel, err := filepath.Rel(root, p); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue // not a file of the snapshot's own
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		folders[filepath.Dir(p)] = true
	}
	for f := range folders {
		if f != root {
			_ = os.Remove(f) // only succeeds when empty
		}
	}
	return os.Remove(kf)
}
