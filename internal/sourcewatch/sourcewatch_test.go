package sourcewatch

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// recorder starts a Watch and counts the changes reported per group.
type recorder struct {
	mu     sync.Mutex
	counts map[int]int
	events chan int
}

func start(t *testing.T, w Watch) *recorder {
	t.Helper()
	r := &recorder{counts: map[int]int{}, events: make(chan int, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.Quiet = 30 * time.Millisecond
	w.Warn = func(msg string, err error) { t.Errorf("%s: %v", msg, err) }
	go func() {
		defer close(done)
		if err := w.Run(ctx, func(i int) {
			r.mu.Lock()
			r.counts[i]++
			r.mu.Unlock()
			r.events <- i
		}); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // let fsnotify register its folders
	return r
}

// next waits for the next reported group.
func (r *recorder) next(t *testing.T) int {
	t.Helper()
	select {
	case i := <-r.events:
		return i
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported within 5s")
		return -1
	}
}

// settle waits out a few quiet periods and returns the counts so far.
func (r *recorder) settle() map[int]int {
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[int]int{}
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStoreNextToSourceIsNotAChange is the case that made plumb serve reload
// a 20,000-object source several times a second: the SQLite store and its
// journal live in the source file's folder and are written on every finding.
func TestStoreNextToSourceIsNotAChange(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app.yaml")
	db := filepath.Join(dir, "plumb.db")
	write(t, src, "kind: ConfigMap\n")
	write(t, filepath.Join(dir, "other.yaml"), "kind: ConfigMap\n")
	r := start(t, Watch{Groups: [][]string{{src}}, Ignore: []string{db, db + "-wal"}})

	for i := range 5 {
		write(t, db, "rows")
		write(t, db+"-wal", string(rune('a'+i)))
		write(t, filepath.Join(dir, "other.yaml"), string(rune('a'+i))) // not the source
		if err := os.Chmod(src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(150 * time.Millisecond) // several quiet periods: a reload now would be counted
	write(t, src, "kind: Secret\n")
	if got := r.next(t); got != 0 {
		t.Fatalf("group %d reported, want 0", got)
	}
	if got := r.settle(); got[0] != 1 {
		t.Fatalf("changes reported: %v, want exactly one (the source's own write)", got)
	}
}

// TestEditorRenameIsAChange: editors save by writing a new file and renaming
// it over the old one.
func TestEditorRenameIsAChange(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "app.yaml")
	write(t, src, "a: 1\n")
	r := start(t, Watch{Groups: [][]string{{src}}})

	write(t, filepath.Join(dir, ".app.yaml.swp"), "a: 2 with more bytes\n")
	if err := os.Rename(filepath.Join(dir, ".app.yaml.swp"), src); err != nil {
		t.Fatal(err)
	}
	r.next(t)
	if got := r.settle(); got[0] != 1 {
		t.Fatalf("changes reported: %v, want one", got)
	}
}

// TestConfigMapVolumeSwapIsAChange reproduces how the kubelet updates a
// ConfigMap volume: the files are links through "..data", and an update
// writes a new timestamped folder and swaps the "..data" link. The file's
// own name sees no event.
func TestConfigMapVolumeSwapIsAChange(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "..2026_01_01", "app.yaml"), "a: 1\n")
	if err := os.Symlink("..2026_01_01", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "app.yaml"), filepath.Join(dir, "app.yaml")); err != nil {
		t.Fatal(err)
	}
	r := start(t, Watch{Groups: [][]string{{filepath.Join(dir, "app.yaml")}}})

	write(t, filepath.Join(dir, "..2026_01_02", "app.yaml"), "a: 2\n")
	if err := os.Symlink("..2026_01_02", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	r.next(t)
}

// TestFolderSourceGroups: a new file in a new subfolder of a folder source
// changes that source's group only.
func TestFolderSourceGroups(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write(t, filepath.Join(a, "one.yaml"), "x: 1\n")
	write(t, filepath.Join(b, "two.yaml"), "y: 1\n")
	r := start(t, Watch{Groups: [][]string{{a}, {b}}})

	if err := os.Mkdir(filepath.Join(b, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the new folder is added to the watch
	write(t, filepath.Join(b, "sub", "three.yaml"), "z: 1\n")
	if got := r.next(t); got != 1 {
		t.Fatalf("group %d reported, want 1", got)
	}
	write(t, filepath.Join(b, "sub", "three.yaml"), "z: 2, longer\n")
	if got := r.next(t); got != 1 {
		t.Fatalf("group %d reported, want 1", got)
	}
	if got := r.settle(); got[0] != 0 {
		t.Fatalf("changes reported: %v, want none for group 0", got)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.yaml")
	db := filepath.Join(dir, "plumb.db")
	write(t, f, "a: 1\n")
	ignore := map[string]bool{db: true}
	before := fingerprint([]string{dir}, ignore)
	write(t, db, "rows")
	if got := fingerprint([]string{dir}, ignore); got != before {
		t.Error("an ignored file changed the fingerprint")
	}
	write(t, f, "a: 22\n")
	if got := fingerprint([]string{dir}, ignore); got == before {
		t.Error("a changed file left the fingerprint as it was")
	}
	if fingerprint([]string{filepath.Join(dir, "missing")}, nil) == before {
		t.Error("a missing path has the folder's fingerprint")
	}
}
