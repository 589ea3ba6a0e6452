// Package sourcewatch tells plumb serve when the files a source is read from
// have changed, so that it reloads them.
//
// fsnotify reports every event in a watched folder: the store's journal
// next to a source file, a chmod, an editor's swap file. A source is reloaded
// only when its fingerprint changes: for every file it is read from, the
// path the file resolves to, its size and its modification time. Resolving
// symbolic links covers the kubelet's ConfigMap volumes, which replace a
// "..data" link atomically and leave the files' own names untouched.
//
// It must not load sources itself: it only tells its caller when to.
package sourcewatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultQuiet is how long the files must stay unchanged before a reload,
// so that an editor's save or a git checkout is one reload.
const DefaultQuiet = 300 * time.Millisecond

// Watch watches groups of source paths (files or folders, one group per
// cluster).
type Watch struct {
	// Groups are the paths each group is read from.
	Groups [][]string
	// Ignore are files that are never part of a source, such as the store
	// and its journal.
	Ignore []string
	// Quiet is the debounce period; zero means DefaultQuiet.
	Quiet time.Duration
	// Warn reports a path that cannot be watched or a watch error.
	Warn func(msg string, err error)
}

// Run calls changed with a group's index each time that group's files have
// changed, until ctx is done. It returns an error only if fsnotify cannot
// start.
func (w Watch) Run(ctx context.Context, changed func(group int)) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer fw.Close()
	warn := w.Warn
	if warn == nil {
		warn = func(string, error) {}
	}
	ignore := map[string]bool{}
	for _, p := range w.Ignore {
		if abs, err := filepath.Abs(p); err == nil {
			ignore[abs] = true
		}
	}
	owners := map[string][]int{} // watched folder -> groups it feeds
	prints := make([]string, len(w.Groups))
	for i, paths := range w.Groups {
		prints[i] = fingerprint(paths, ignore)
		for _, p := range paths {
			for _, dir := range folders(p) {
				if len(owners[dir]) == 0 {
					if err := fw.Add(dir); err != nil {
						warn("cannot watch source path "+dir, err)
						continue
					}
				}
				owners[dir] = append(owners[dir], i)
			}
		}
	}
	quiet := w.Quiet
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	dirty := map[int]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fw.Errors:
			warn("watching sources", err)
		case ev := <-fw.Events:
			if ev.Op == fsnotify.Chmod || ignore[ev.Name] {
				continue
			}
			for dir, idx := range owners {
				if ev.Name == dir || strings.HasPrefix(ev.Name, dir+string(os.PathSeparator)) {
					for _, i := range idx {
						dirty[i] = true
					}
				}
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Lstat(ev.Name); err == nil && st.IsDir() {
					_ = fw.Add(ev.Name) // a new folder inside a source
				}
			}
			timer.Reset(quiet)
		case <-timer.C:
			for i := range dirty {
				if p := fingerprint(w.Groups[i], ignore); p != prints[i] {
					prints[i] = p
					changed(i)
				}
			}
			clear(dirty)
		}
	}
}

// fingerprint sums, for every file below paths except those in ignore
// (absolute paths), the file's name, the path it resolves to, its size and
// its modification time. A path that does not exist counts as absent.
func fingerprint(paths []string, ignore map[string]bool) string {
	h := sha256.New()
	for _, root := range paths {
		root, err := filepath.Abs(root)
		if err != nil {
			continue
		}
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || ignore[p] {
				return nil
			}
			if d.IsDir() {
				return nil
			}
			st, err := os.Stat(p) // follows links, such as the kubelet's
			if err != nil || st.IsDir() {
				return nil
			}
			resolved, err := filepath.EvalSymlinks(p)
			if err != nil {
				resolved = p
			}
			fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", p, resolved, st.Size(), st.ModTime().UnixNano())
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// folders lists what to watch for path: a file's folder (editors replace
// files by renaming), or a folder and every folder below it.
func folders(path string) []string {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if !st.IsDir() {
		return []string{filepath.Dir(path)}
	}
	var out []string
	_ = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
