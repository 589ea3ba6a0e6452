package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/drift"
)

func object(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name}}}
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u
}

// TestWriteNamesFilesAndRefusesToOverwrite: one file per object, under its
// namespace or _cluster, the group added only where two groups share a
// kind; a folder with files is refused; replacing removes only what the
// earlier snapshot wrote.
func TestWriteNamesFilesAndRefusesToOverwrite(t *testing.T) {
	objs := []*unstructured.Unstructured{
		object("v1", "ConfigMap", "shop", "settings"),
		object("cert-manager.io/v1", "Certificate", "shop", "web"),
		object("example.com/v1", "Certificate", "shop", "web"),
		object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader"),
	}
	dir := filepath.Join(t.TempDir(), "snap")
	w, err := Write(dir, objs, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"shop/configmap-settings.yaml", "shop/certificate.cert-manager.io-web.yaml", "shop/certificate.example.com-web.yaml", "_cluster/clusterrole-reader.yaml"}
	if diff := cmp.Diff(want, w.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	k, err := os.ReadFile(filepath.Join(dir, KustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range want {
		if !strings.Contains(string(k), "\n- "+f+"\n") {
			t.Errorf("kustomization.yaml does not list %s:\n%s", f, k)
		}
	}

	if _, err := Write(dir, objs, false); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("writing into the same folder again: %v, want ErrNotEmpty", err)
	}
	// Someone's own file beside the snapshot survives a replacement; the
	// object that is gone since is gone from the folder.
	own := filepath.Join(dir, "shop", "NOTES.md")
	if err := os.WriteFile(own, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, objs[:1], true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); err != nil {
		t.Errorf("a file the snapshot did not write was removed: %v", err)
	}
	for _, gone := range want[1:] {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after replacing the snapshot (%v)", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "_cluster")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the emptied _cluster folder is still there (%v)", err)
	}

	// A folder of other files, without a snapshot's marker, is never
	// replaced.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "main.go"), []byte("package main"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(other, objs, true); !errors.Is(err, ErrNotSnapshot) {
		t.Errorf("replacing a folder that holds no snapshot: %v, want ErrNotSnapshot", err)
	}
}

// TestWriteForceKeepsFilesPlumbDidNotWrite: --force replaces only the
// files the marker says plumb wrote. A kustomize folder of someone's own
// (its kustomization.yaml listing base/app.yaml) is refused, naming the
// folder and the missing marker, and left as it was; a file someone added
// to a snapshot and listed in its kustomization.yaml is kept.
func TestWriteForceKeepsFilesPlumbDidNotWrite(t *testing.T) {
	objs := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings")}

	theirs := t.TempDir()
	putFiles(t, theirs, map[string]string{
		KustomizationFile: "resources:\n- base/app.yaml\n",
		"base/app.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
	})
	before := filesIn(t, theirs)
	_, err := Write(theirs, objs, true)
	if !errors.Is(err, ErrNotSnapshot) || !strings.Contains(err.Error(), theirs) || !strings.Contains(err.Error(), MarkerFile) {
		t.Errorf("--force into a kustomize folder of someone's own: %v; want ErrNotSnapshot naming the folder and %s", err, MarkerFile)
	}
	if diff := cmp.Diff(before, filesIn(t, theirs)); diff != "" {
		t.Errorf("the folder changed (-before +after):\n%s", diff)
	}

	dir := filepath.Join(t.TempDir(), "snap")
	if _, err := Write(dir, objs, false); err != nil {
		t.Fatal(err)
	}
	putFiles(t, dir, map[string]string{"base/app.yaml": "mine"})
	k, err := os.ReadFile(filepath.Join(dir, KustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	putFiles(t, dir, map[string]string{KustomizationFile: string(k) + "- base/app.yaml\n"})
	if _, err := Write(dir, objs, true); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "base", "app.yaml")); err != nil || string(b) != "mine" {
		t.Errorf("base/app.yaml, which plumb did not write: %q, %v; want it kept", b, err)
	}
}

// TestWriteForceNeverFollowsLinks: links in a snapshot's folder are never
// followed. A namespace folder replaced by a link to another folder, or an
// object's file by a link to another file, is refused where the snapshot
// writes and the files they point to are untouched; a link elsewhere in
// the folder is kept as a link; --out that is itself a link is refused.
func TestWriteForceNeverFollowsLinks(t *testing.T) {
	objs := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings")}
	outside := t.TempDir()
	putFiles(t, outside, map[string]string{"configmap-settings.yaml": "outside", "victim": "outside"})
	wantOutside := filesIn(t, outside)
	snap := func(t *testing.T) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "snap")
		if _, err := Write(dir, objs, false); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	link := func(t *testing.T, target, at string) {
		t.Helper()
		if err := os.RemoveAll(at); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, at); err != nil {
			t.Fatal(err)
		}
	}

	for _, tt := range []struct {
		name string
		at   string // the link, relative to the folder
		to   string
	}{
		{"namespace folder", "shop", outside},
		{"object's file", "shop/configmap-settings.yaml", filepath.Join(outside, "victim")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := snap(t)
			link(t, tt.to, filepath.Join(dir, tt.at))
			_, err := Write(dir, objs, true)
			if !errors.Is(err, ErrInTheWay) || !strings.Contains(err.Error(), tt.at+" is a symbolic link") {
				t.Errorf("--force with %s a link: %v; want ErrInTheWay naming it", tt.at, err)
			}
			if diff := cmp.Diff(wantOutside, filesIn(t, outside)); diff != "" {
				t.Errorf("the folder the link points to changed (-want +got):\n%s", diff)
			}
			if fi, err := os.Lstat(filepath.Join(dir, tt.at)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link %s is gone (%v)", tt.at, err)
			}
		})
	}

	t.Run("link elsewhere", func(t *testing.T) {
		dir := snap(t)
		link(t, outside, filepath.Join(dir, "elsewhere"))
		if _, err := Write(dir, objs, true); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(filepath.Join(dir, "elsewhere")); err != nil || got != outside {
			t.Errorf("the link elsewhere: %q, %v; want it kept, to %s", got, err, outside)
		}
		if diff := cmp.Diff(wantOutside, filesIn(t, outside)); diff != "" {
			t.Errorf("the folder the link points to changed (-want +got):\n%s", diff)
		}
	})

	t.Run("--out a link", func(t *testing.T) {
		dir := snap(t)
		before := filesIn(t, dir)
		out := filepath.Join(t.TempDir(), "link")
		link(t, dir, out)
		if _, err := Write(out, objs, true); !errors.Is(err, ErrInTheWay) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("--out a link: %v; want ErrInTheWay", err)
		}
		if diff := cmp.Diff(before, filesIn(t, dir)); diff != "" {
			t.Errorf("the folder --out points to changed (-before +after):\n%s", diff)
		}
	})
}

// TestWriteRefusesABadMarker: a marker that lists a path outside the
// folder, or is a link, or is not a marker, is refused with --force and
// nothing is removed.
func TestWriteRefusesABadMarker(t *testing.T) {
	objs := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings")}
	victim := filepath.Join(t.TempDir(), "victim")
	putFiles(t, filepath.Dir(victim), map[string]string{"victim": "mine"})
	for name, marker := range map[string]string{
		"outside":  "files:\n- ../victim\n",
		"absolute": "files:\n- " + victim + "\n",
		"unknown":  "files: []\nremove: everything\n",
		"not yaml": "files: [",
		"link":     "",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "snap")
			if _, err := Write(dir, objs, false); err != nil {
				t.Fatal(err)
			}
			m := filepath.Join(dir, MarkerFile)
			if marker == "" {
				if err := os.Remove(m); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(victim, m); err != nil {
					t.Fatal(err)
				}
			} else {
				putFiles(t, dir, map[string]string{MarkerFile: marker})
			}
			before := filesIn(t, dir)
			if _, err := Write(dir, objs, true); !errors.Is(err, ErrNotSnapshot) {
				t.Errorf("--force: %v; want ErrNotSnapshot", err)
			}
			if diff := cmp.Diff(before, filesIn(t, dir)); diff != "" {
				t.Errorf("the folder changed (-before +after):\n%s", diff)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "mine" {
				t.Errorf("the file outside: %q, %v", b, err)
			}
		})
	}
}

// TestWriteLongAndUnusualNames: object names that are legal in some kinds
// but no safe file name (253 characters, a newline and YAML after it, a
// slash, control characters, a colon, upper case) are written to files
// named by a readable part and a hash: each object its own file, inside
// the folder, read back as the same object; kustomization.yaml lists
// exactly those files and nothing else (no key injected by a name); the
// folder loads as a source of the same objects; and writing it again
// with --force works and gives the same folder. Ordinary names keep
// their plain file names.
func TestWriteLongAndUnusualNames(t *testing.T) {
	long := strings.Repeat("a", 253)
	objs := []*unstructured.Unstructured{
		object("v1", "ConfigMap", "shop", "web"),
		object("v1", "ConfigMap", "shop", "Web"),
		object("v1", "ConfigMap", "shop", long),
		object("v1", "ConfigMap", "shop", long[:252]+"b"),
		object("example.com/v1", "Widget", "shop", "x\nnamespace: evil"),
		object("example.com/v1", "Widget", "shop", "x\nnamespace: evil\nimages:\n- name: nginx\n  newName: evil.example/nginx"),
		object("example.com/v1", "Widget", "shop", "../../escape"),
		object("example.com/v1", "Widget", "shop", "\x1b[2Jclear"),
		object("rbac.authorization.k8s.io/v1", "ClusterRole", "", "cert-manager:leader-election"),
	}
	dir := filepath.Join(t.TempDir(), "snap")
	w, err := Write(dir, objs, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Files) != len(objs) || w.Files[0] != "shop/configmap-web.yaml" {
		t.Fatalf("files %q; want one per object, the first shop/configmap-web.yaml", w.Files)
	}
	safeName := regexp.MustCompile(`^[a-z0-9_][a-z0-9._-]{0,99}$`)
	folded := map[string]string{}
	for i, f := range w.Files {
		for _, part := range strings.Split(strings.TrimSuffix(f, ".yaml"), "/") {
			if !safeName.MatchString(part) {
				t.Errorf("%q: %q is no safe file name", f, part)
			}
		}
		if other, ok := folded[strings.ToLower(f)]; ok {
			t.Errorf("%q and %q share a file", objs[i].GetName(), other)
		}
		folded[strings.ToLower(f)] = objs[i].GetName()
		var got unstructured.Unstructured
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err == nil {
			err = yaml.Unmarshal(b, &got.Object)
		}
		if err != nil || got.GetName() != objs[i].GetName() {
			t.Errorf("%s holds %q (%v), want %q", f, got.GetName(), err, objs[i].GetName())
		}
	}
	wantFiles := map[string]bool{KustomizationFile: true, MarkerFile: true}
	for _, f := range w.Files {
		wantFiles[f] = true
	}
	for f := range filesIn(t, dir) {
		if !wantFiles[f] {
			t.Errorf("%s was written, and is not in the kustomization", f)
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, KustomizationFile))
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	wantK := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": toAny(w.Files)}
	if diff := cmp.Diff(wantK, k); diff != "" {
		t.Errorf("kustomization.yaml (-want +got):\n%s\n%s", diff, b)
	}

	var wantKeys, gotKeys []string
	for _, u := range objs {
		wantKeys = append(wantKeys, drift.KeyOf(u).String())
	}
	for _, o := range loadSource(t, "default", dir) {
		gotKeys = append(gotKeys, drift.KeyOf(o.Object).String())
	}
	sort.Strings(wantKeys)
	sort.Strings(gotKeys)
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("the folder as a source (-want +got):\n%s", diff)
	}

	before := filesIn(t, dir)
	if _, err := Write(dir, objs, true); err != nil {
		t.Fatalf("writing again with --force: %v", err)
	}
	if diff := cmp.Diff(before, filesIn(t, dir)); diff != "" {
		t.Errorf("writing again changed the folder (-first +second):\n%s", diff)
	}
}

// TestWriteFailureLeavesThePreviousFolder: a snapshot that fails while
// writing (an object that cannot be encoded, after one that can) leaves
// no folder where there was none, and an earlier snapshot, with a file of
// someone's beside it, exactly as it was; nothing is left beside it.
func TestWriteFailureLeavesThePreviousFolder(t *testing.T) {
	bad := object("v1", "ConfigMap", "shop", "zz-bad")
	bad.Object["data"] = map[string]any{"f": func() {}}
	good := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings"), object("v1", "ConfigMap", "other", "flags")}
	parent := t.TempDir()
	dir := filepath.Join(parent, "snap")

	if _, err := Write(dir, []*unstructured.Unstructured{good[0], bad}, false); err == nil || !strings.Contains(err.Error(), "shop/zz-bad") {
		t.Errorf("writing an object that cannot be encoded: %v; want an error naming it", err)
	}
	if got := entriesOf(t, parent); len(got) != 0 {
		t.Errorf("a failed snapshot left %q", got)
	}

	if _, err := Write(dir, good, false); err != nil {
		t.Fatal(err)
	}
	putFiles(t, dir, map[string]string{"shop/NOTES.md": "mine"})
	before := filesIn(t, dir)
	if _, err := Write(dir, []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "new"), bad}, true); err == nil {
		t.Error("replacing with an object that cannot be encoded: no error")
	}
	if diff := cmp.Diff(before, filesIn(t, dir)); diff != "" {
		t.Errorf("a failed --force changed the earlier snapshot (-before +after):\n%s", diff)
	}
	if got := entriesOf(t, parent); !slices.Equal(got, []string{"snap"}) {
		t.Errorf("beside the snapshot: %q, want only snap", got)
	}
}

// TestWriteFolderPermissions: a new folder gets the permissions of any
// folder made with 0755 (the umask applies); an empty folder is written
// into without --force, and keeps its permissions.
func TestWriteFolderPermissions(t *testing.T) {
	objs := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings")}
	parent := t.TempDir()
	ref := filepath.Join(parent, "ref")
	if err := os.Mkdir(ref, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		want string // a folder with the wanted permissions
	}{
		{filepath.Join(parent, "new"), ref},
		{empty, empty},
	} {
		want, err := os.Stat(tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Write(tt.dir, objs, false); err != nil {
			t.Fatal(err)
		}
		got, err := os.Stat(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("%s: permissions %v, want %v", tt.dir, got.Mode().Perm(), want.Mode().Perm())
		}
		if _, err := os.Stat(filepath.Join(tt.dir, "shop", "configmap-settings.yaml")); err != nil {
			t.Error(err)
		}
	}
}

// TestKustomizationEscapesNames: kustomization.yaml is encoded, so a file
// name is data whatever it holds.
func TestKustomizationEscapesNames(t *testing.T) {
	files := []string{"shop/a.yaml", "x\nnamespace: evil", "- y", "#z", "'q\": [r]"}
	b, err := kustomization(files)
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": toAny(files)}
	if diff := cmp.Diff(want, k); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, b)
	}
	if b, _ := kustomization(nil); !strings.Contains(string(b), "resources: []\n") {
		t.Errorf("an empty snapshot's kustomization:\n%s", b)
	}
}

// putFiles writes files (relative path → content) into dir.
func putFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// entriesOf names what dir holds.
func entriesOf(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// TestWriteSecretHeaderIsAComment: the comment above a Secret written
// without values names the Secret only when its name could be a Secret's;
// a name with a newline and YAML after it adds no key to the file, which
// reads back as the same Secret.
func TestWriteSecretHeaderIsAComment(t *testing.T) {
	for _, name := range []string{"api-credentials", "x\nkind: ConfigMap\n#"} {
		u := object("v1", "Secret", "shop", name)
		u.SetAnnotations(map[string]string{drift.DataHashAnnotation: "sha256:00", drift.DataKeysAnnotation: "token"})
		dir := filepath.Join(t.TempDir(), "snap")
		w, err := Write(dir, []*unstructured.Unstructured{u}, false)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, w.Files[0]))
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(string(b), "apiVersion:")
		for _, line := range strings.Split(strings.TrimSuffix(header, "\n"), "\n") {
			if !strings.HasPrefix(line, "#") {
				t.Errorf("%q: the header has a line that is no comment: %q\n%s", name, line, b)
			}
		}
		var got unstructured.Unstructured
		if err := yaml.Unmarshal(b, &got.Object); err != nil || got.GetKind() != "Secret" || got.GetName() != name {
			t.Errorf("%q: the file reads back as %s %q (%v)\n%s", name, got.GetKind(), got.GetName(), err, b)
		}
		if want := "kubectl create secret generic api-credentials -n shop"; name == "api-credentials" && !strings.Contains(string(b), want) {
			t.Errorf("the header lacks %q:\n%s", want, b)
		}
	}
}

// TestWriteForceUndoneWhenAFileCannotBeKept: should a file of someone's
// not move into the new snapshot's folder (here the rename fails), what
// was done is undone: the folder is as it was, the file moved before it
// is back, and nothing is left beside it.
func TestWriteForceUndoneWhenAFileCannotBeKept(t *testing.T) {
	objs := []*unstructured.Unstructured{object("v1", "ConfigMap", "shop", "settings")}
	parent := t.TempDir()
	dir := filepath.Join(parent, "snap")
	if _, err := Write(dir, objs, false); err != nil {
		t.Fatal(err)
	}
	putFiles(t, dir, map[string]string{"a-notes.md": "mine", "shop/NOTES.md": "mine"})
	moveHook = func(from, to string) error {
		if strings.HasSuffix(from, filepath.Join("shop", "NOTES.md")) {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EPERM}
		}
		return os.Rename(from, to)
	}
	t.Cleanup(func() { moveHook = os.Rename })
	before := filesIn(t, dir)
	_, err := Write(dir, objs[:0], true)
	if err == nil || !strings.Contains(err.Error(), "keep shop/NOTES.md") || !strings.Contains(err.Error(), "as it was") {
		t.Errorf("--force with a file that cannot be moved: %v; want an error naming it, and the folder as it was", err)
	}
	if diff := cmp.Diff(before, filesIn(t, dir)); diff != "" {
		t.Errorf("the folder changed (-before +after):\n%s", diff)
	}
	if got := entriesOf(t, parent); !slices.Equal(got, []string{"snap"}) {
		t.Errorf("beside the snapshot: %q, want only snap", got)
	}
}
