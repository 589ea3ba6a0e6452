package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

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

var (
	// ErrNotEmpty is returned by Write for a folder that holds files and
	// may not be replaced.
	ErrNotEmpty = errors.New("the folder is not empty")
	// ErrNotSnapshot is returned by Write, told to replace a snapshot,
	// for a folder without the MarkerFile of one (or with a marker it
	// cannot read): plumb did not write it, so nothing in it is plumb's
	// to remove.
	ErrNotSnapshot = errors.New("the folder holds no snapshot plumb wrote")
	// ErrInTheWay is returned by Write for a file plumb did not write, or
	// a symbolic link, where the snapshot would go: plumb neither removes
	// such a file nor writes through a link.
	ErrInTheWay = errors.New("in the way of the snapshot")
)

// Write writes objs into dir, one object per file (see fileNames), plus a
// kustomization.yaml listing them and a MarkerFile listing every file it
// wrote. It writes into a new folder beside dir and renames that into
// place, so a snapshot that fails leaves dir as it was, and one that
// succeeds is there whole.
//
// A dir that exists and holds files is refused unless replace is set.
// Then the folder must hold the marker of an earlier snapshot: the files
// it lists are replaced, and every other file in the folder is kept where
// it is, unless it stands where the new snapshot writes a file (an error,
// before anything is written). A dir that is a symbolic link is refused,
// and links inside it are never followed: one where the snapshot writes
// is an error, others are kept as links.
func Write(dir string, objs []*unstructured.Unstructured, replace bool) (Written, error) {
	var w Written
	names, err := fileNames(objs)
	if err != nil {
		return w, fmt.Errorf("%s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return w, err
	}
	prev, err := inspect(dir, abs, names, replace)
	if err != nil {
		return w, err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return w, err
	}
	tmp, err := mkdirBeside(abs, "new")
	if err != nil {
		return w, fmt.Errorf("%s: a new folder beside it to write into: %w", dir, err)
	}
	if w, err = writeFiles(tmp, objs, names); err != nil {
		// Only what this Write made is in tmp.
		_ = os.RemoveAll(tmp)
		return Written{}, fmt.Errorf("%s: nothing written: %w", dir, err)
	}
	if err := install(dir, abs, tmp, prev); err != nil {
		return Written{}, err
	}
	return w, nil
}

// writeFiles writes the objects, the kustomization and the marker into
// the new folder tmp, which holds nothing else.
func writeFiles(tmp string, objs []*unstructured.Unstructured, names []string) (Written, error) {
	var w Written
	write := func(rel string, b []byte) error {
		p := filepath.Join(tmp, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// O_EXCL: should two objects ever be named alike, the second is
		// an error, never a silent overwrite.
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	for i, u := range objs {
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return w, fmt.Errorf("%s: %w", drift.KeyOf(u), err)
		}
		if drift.IsValueless(u) {
			b = append([]byte(secretHeader(u)), b...)
		}
		if err := write(names[i], b); err != nil {
			return w, fmt.Errorf("%s: %w", drift.KeyOf(u), err)
		}
		w.Files = append(w.Files, names[i])
		w.Bytes += int64(len(b))
	}
	k, err := kustomization(w.Files)
	if err != nil {
		return w, err
	}
	if err := write(KustomizationFile, k); err != nil {
		return w, err
	}
	w.Bytes += int64(len(k))
	m, err := markerFor(append([]string{KustomizationFile}, w.Files...))
	if err != nil {
		return w, err
	}
	return w, write(MarkerFile, m)
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

// install puts the written folder tmp in dir's place (abs is dir made
// absolute). A dir that did not exist, or was empty, is replaced by a
// rename. An earlier snapshot is moved aside, tmp renamed into its place,
// the files of someone else's that prev found moved over, and what is
// left of the earlier snapshot, only the files its marker listed,
// removed. Should a step fail, what was done is undone, so dir holds what
// it held; an error names any folder that could not be put back.
func install(dir, abs, tmp string, prev *previous) error {
	if prev == nil || prev.empty {
		if prev != nil {
			if err := os.Chmod(tmp, prev.mode); err != nil {
				_ = os.RemoveAll(tmp)
				return err
			}
			// Fails if anything was put into dir since it was read.
			if err := os.Remove(abs); err != nil {
				_ = os.RemoveAll(tmp)
				return fmt.Errorf("%s: %w%s", dir, err, mountHint(err))
			}
		}
		if err := os.Rename(tmp, abs); err != nil {
			if prev != nil {
				_ = os.Mkdir(abs, prev.mode)
			}
			_ = os.RemoveAll(tmp)
			return fmt.Errorf("%s: %w%s", dir, err, mountHint(err))
		}
		return nil
	}

	if err := os.Chmod(tmp, prev.mode); err != nil {
		_ = os.RemoveAll(tmp)
		return err
	}
	hold, err := mkdirBeside(abs, "old")
	if err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("%s: a folder beside it to move the earlier snapshot into: %w", dir, err)
	}
	old := filepath.Join(hold, filepath.Base(abs))
	if err := os.Rename(abs, old); err != nil {
		_ = os.RemoveAll(tmp)
		_ = os.Remove(hold)
		return fmt.Errorf("%s: move the earlier snapshot aside: %w%s", dir, err, mountHint(err))
	}
	if err := os.Rename(tmp, abs); err != nil {
		if rerr := os.Rename(old, abs); rerr != nil {
			return fmt.Errorf("%s: %w; and the earlier snapshot could not be put back from %s: %v", dir, err, old, rerr)
		}
		_ = os.RemoveAll(tmp)
		_ = os.Remove(hold)
		return fmt.Errorf("%s: %w", dir, err)
	}
	for i, rel := range prev.theirs {
		if err := move(old, abs, rel); err != nil {
			// Put the files back, and the earlier snapshot.
			undone := true
			for _, back := range prev.theirs[:i] {
				undone = move(abs, old, back) == nil && undone
			}
			if undone {
				undone = os.Rename(abs, tmp) == nil && os.Rename(old, abs) == nil
			}
			if !undone {
				return fmt.Errorf("%s: keep %s: %w; the earlier snapshot and the files beside it are in %s, and could not all be put back", dir, rel, err, old)
			}
			_ = os.RemoveAll(tmp)
			_ = os.Remove(hold)
			return fmt.Errorf("%s: keep %s: %w; the folder is as it was", dir, rel, err)
		}
	}
	if err := prev.removeOwn(old); err != nil {
		return fmt.Errorf("%s: the snapshot is written, but the earlier one could not be removed from %s: %w", dir, old, err)
	}
	if err := os.Remove(hold); err != nil {
		return fmt.Errorf("%s: the snapshot is written, but %w", dir, err)
	}
	return nil
}

// mountHint explains a rename or removal of --out that failed because
// --out is a mount point (a container's volume).
func mountHint(err error) string {
	if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EXDEV) {
		return " (is it a mount point? plumb snapshot writes a new folder beside it and renames that into its place: pass a folder inside it)"
	}
	return ""
}

// mkdirBeside makes a new folder, with a name of its own, in the folder
// that holds abs (so on the same file system, for rename): hidden, named
// for abs and what, e.g. ".snap.plumb-new-1234567890". The umask applies,
// as to the folders MkdirAll makes.
func mkdirBeside(abs, what string) (string, error) {
	base := filepath.Base(abs)
	if len(base) > maxSegment {
		base = base[:maxSegment]
	}
	prefix := filepath.Join(filepath.Dir(abs), "."+base+".plumb-"+what+"-")
	for range 100 {
		p := prefix + strconv.FormatUint(uint64(rand.Uint32()), 10)
		err := os.Mkdir(p, 0o755)
		if !errors.Is(err, fs.ErrExist) {
			return p, err
		}
	}
	return "", fmt.Errorf("%s*: %w", prefix, fs.ErrExist)
}

// move renames the file or folder rel of folder from to the same place in
// folder to, making its parent folders there. Links are moved, never
// followed.
func move(from, to, rel string) error {
	dst := filepath.Join(to, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", dst, fs.ErrExist)
	}
	return moveHook(filepath.Join(from, filepath.FromSlash(rel)), dst)
}

// moveHook renames for move; a test makes it fail, to see a failure
// undone.
var moveHook = os.Rename
