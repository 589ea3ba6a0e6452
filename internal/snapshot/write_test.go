package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
