package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// MarkerFile is the file Write puts into every snapshot's folder, listing
// the files it wrote there. Replacing a snapshot (plumb snapshot --force)
// needs it, and removes only the files it lists; a folder without it is
// never replaced. Its name starts with '.', so that plumb scan --source
// and kustomize, which read the folder, pass it by.
const MarkerFile = ".plumb-snapshot"

const markerHeader = `# Written by plumb snapshot: the files it wrote into this folder.
# plumb snapshot --force replaces a snapshot only in a folder holding this
# file, and removes only the files listed here; other files are kept.
# Delete this file and plumb never replaces anything in the folder.
`

// marker is MarkerFile's content.
type marker struct {
	// Files are the files the snapshot wrote, relative to its folder,
	// with '/', the marker itself left out.
	Files []string `json:"files"`
}

// markerFor is the marker listing files.
func markerFor(files []string) ([]byte, error) {
	b, err := yaml.Marshal(marker{Files: files})
	if err != nil {
		return nil, err
	}
	return append([]byte(markerHeader), b...), nil
}

// readMarker reads the marker of the folder dir (abs made absolute): the
// files it lists, each a relative path inside the folder. A folder
// without one, or with one that is not a plain file or that cannot be
// read, is ErrNotSnapshot.
func readMarker(dir, abs string) (map[string]bool, error) {
	p := filepath.Join(abs, MarkerFile)
	refuse := func(why string) error {
		return fmt.Errorf("%s: %w: %s; --force replaces only a snapshot plumb wrote, and removes only the files its marker lists: remove the folder yourself, or choose another --out", dir, ErrNotSnapshot, why)
	}
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, refuse("it has no " + MarkerFile + " marker")
	case err != nil:
		return nil, refuse(err.Error())
	case !fi.Mode().IsRegular():
		return nil, refuse(MarkerFile + " is not a plain file")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, refuse(err.Error())
	}
	var m marker
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		return nil, refuse(fmt.Sprintf("its %s cannot be read: %v", MarkerFile, err))
	}
	files := map[string]bool{}
	for _, f := range m.Files {
		if f == "" || path.IsAbs(f) || path.Clean(f) != f || f == ".." || strings.HasPrefix(f, "../") || f == MarkerFile {
			return nil, refuse(fmt.Sprintf("its %s lists %q, which is no file of the folder's", MarkerFile, f))
		}
		files[f] = true
	}
	return files, nil
}

// previous is what dir held before a Write.
type previous struct {
	// mode is the folder's permissions, which the new one keeps.
	mode fs.FileMode
	// empty: the folder holds nothing.
	empty bool
	// own are the earlier snapshot's files (those its marker lists that
	// are plain files, and the marker), relative with '/'.
	own []string
	// dirs are the folders own are in, deepest first.
	dirs []string
	// theirs are the files, links and folders someone else put into the
	// folder, each moved whole into the new snapshot's folder.
	theirs []string
}

// inspect reads what the folder dir (abs made absolute) holds and checks
// that a snapshot of the files names may be written into it: it does not
// exist, is empty, or (with replace) holds a snapshot whose marker says
// which files are plumb's, and nobody else's file or link stands where
// one of names goes. It returns nil for a folder that does not exist.
// Links are never followed: a link is someone else's file.
func inspect(dir, abs string, names []string, replace bool) (*previous, error) {
	fi, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%s: %w: it is a symbolic link, and plumb snapshot never writes through one; pass the folder it points to", dir, ErrInTheWay)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s: %w: it is not a folder", dir, ErrInTheWay)
	}
	prev := &previous{mode: fi.Mode().Perm()}
	entries, err := os.ReadDir(abs)
	switch {
	case err != nil:
		return nil, err
	case len(entries) == 0:
		prev.empty = true
		return prev, nil
	}
	ownFiles, err := readMarker(dir, abs)
	switch {
	case err != nil && !replace:
		return nil, fmt.Errorf("%s: %w, and holds no snapshot plumb wrote (no readable %s marker): choose a new or empty folder", dir, ErrNotEmpty, MarkerFile)
	case !replace:
		return nil, fmt.Errorf("%s: %w; pass --force to replace the snapshot in it", dir, ErrNotEmpty)
	case err != nil:
		return nil, err
	}

	// The folders to look into: those holding a file of either snapshot.
	// Any other folder is someone else's, and moves whole.
	newFiles := map[string]bool{KustomizationFile: true, MarkerFile: true}
	for _, n := range names {
		newFiles[n] = true
	}
	newDirs, walkDirs := map[string]bool{}, map[string]bool{}
	for f := range newFiles {
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			newDirs[d], walkDirs[d] = true, true
		}
	}
	for f := range ownFiles {
		for d := path.Dir(f); d != "."; d = path.Dir(d) {
			walkDirs[d] = true
		}
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && walkDirs[rel]: // WalkDir never reports a link as a folder
			prev.dirs = append(prev.dirs, rel)
			return nil
		case d.Type().IsRegular() && (ownFiles[rel] || rel == MarkerFile):
			prev.own = append(prev.own, rel)
			return nil
		}
		var why string
		switch {
		case d.Type()&fs.ModeSymlink != 0 && (newFiles[rel] || newDirs[rel]):
			why = "is a symbolic link, which plumb never follows or replaces"
		case newFiles[rel] || newDirs[rel]:
			why = "is not a file plumb wrote (the folder's " + MarkerFile + " does not list it), and the snapshot writes there"
		}
		if why != "" {
			return fmt.Errorf("%s: %w: %s %s; move it away, or choose another --out", dir, ErrInTheWay, rel, why)
		}
		prev.theirs = append(prev.theirs, rel)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInTheWay) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	// Deepest first, so each is empty by the time it is removed.
	sort.Slice(prev.dirs, func(i, j int) bool {
		return strings.Count(prev.dirs[i], "/") > strings.Count(prev.dirs[j], "/")
	})
	return prev, nil
}

// removeOwn removes, from old (the earlier snapshot's folder, moved
// aside, with everyone else's files moved out of it), the files the
// earlier snapshot wrote, the folders they were in, and old itself. A
// folder that still holds anything (a file put there meanwhile) is an
// error that names it, and is kept.
func (p *previous) removeOwn(old string) error {
	for _, rel := range p.own {
		if err := os.Remove(filepath.Join(old, filepath.FromSlash(rel))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, rel := range slices.Concat(p.dirs, []string{"."}) {
		if err := os.Remove(filepath.Join(old, filepath.FromSlash(rel))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
