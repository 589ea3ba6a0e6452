package source

import (
	"os"
	"path/filepath"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFile returns the name of dir's kustomization file, if it has
// one, trying the names kustomize recognises in kustomize's order.
func kustomizationFile(dir string) (string, bool) {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return name, true
		}
	}
	return "", false
}

// loadKustomization builds the kustomization at root, whose kustomization
// file is named file, as `kustomize build root` does with default options
// (no plugins, files loaded from inside root only, resources in input order).
func (l *loader) loadKustomization(root, file string) {
	path := filepath.Join(root, file)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), root)
	if err != nil {
		l.addError(Error{Path: path, Message: "kustomize build " + root + ": " + err.Error()})
		return
	}
	for _, r := range m.Resources() {
		// Through JSON, numbers decode as they do from a file.
		j, err := r.MarshalJSON()
		if err != nil {
			l.addError(Error{Path: path, Object: ref(r.GetKind(), r.GetNamespace(), r.GetName()), Message: "kustomize build " + root + ": " + err.Error()})
			continue
		}
		docs, errs := decodeJSONDocument(path, 0, j)
		for _, d := range docs {
			l.add(Object{Object: d.object, Origin: Origin{Path: path, Kustomization: root}})
		}
		l.set.Errors = append(l.set.Errors, errs...)
	}
}
