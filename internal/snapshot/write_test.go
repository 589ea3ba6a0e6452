package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
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

	// A folder of other files, without a snapshot's kustomization, is
	// never replaced.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "main.go"), []byte("package main"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(other, objs, true); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("replacing a folder that holds no snapshot: %v, want ErrNotEmpty", err)
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
	wantFiles := map[string]bool{KustomizationFile: true}
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

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
