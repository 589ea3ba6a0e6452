package source

import (
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
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
//
// Each object's origin is the file it was read from, which kustomize tells
// when its kustomization asks for origin annotations: plumb asks for them
// (the files on disk stay as they are) and takes them off the objects
// again, unless the kustomization asked for them itself.
//
// Every file kustomize reads is held to the file limit as it reads it, so
// one too large fails the build naming the file; every object it makes
// is held to the object limit.
func (l *loader) loadKustomization(root, file string) {
	path := filepath.Join(root, file)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	fs := &originFS{FileSystem: filesys.MakeFsOnDisk(), kustomization: path, maxFile: l.opts.Limits.File}
	m, err := k.Run(fs, root)
	if err != nil {
		l.addError(Error{Path: path, Message: "kustomize build " + root + ": " + err.Error()})
		return
	}
	lines := map[string][]declared{} // by file, read on first use
	for _, r := range m.Resources() {
		// Through JSON, numbers decode as they do from a file.
		j, err := r.MarshalJSON()
		if err != nil {
			l.addError(Error{Path: path, Object: ref(r.GetKind(), r.GetNamespace(), r.GetName()), Message: "kustomize build " + root + ": " + err.Error()})
			continue
		}
		docs, errs := decodeJSONDocument(path, 0, j, l.opts.Limits.Object)
		for _, d := range docs {
			origin := Origin{Path: path, Kustomization: root}
			if o, err := r.GetOrigin(); err == nil && o != nil && o.Path != "" && o.Repo == "" {
				origin.Path = filepath.Join(root, filepath.FromSlash(o.Path))
				id := r.OrgId()
				origin.Line = lineOf(lines, origin.Path, id.Kind, id.Name, l.opts.Limits.File)
			}
			if fs.added {
				dropOriginAnnotation(d.object)
			}
			l.add(Object{Object: d.object, Origin: origin})
		}
		l.set.Errors = append(l.set.Errors, errs...)
	}
}

// originFS reads the files on disk, none larger than maxFile, but the
// root kustomization asks for origin annotations (buildMetadata:
// [originAnnotations]).
type originFS struct {
	filesys.FileSystem
	kustomization string
	maxFile       int64
	// added is set when plumb, not the kustomization, asked for them.
	added bool
}

// ReadFile implements filesys.FileSystem.
func (f *originFS) ReadFile(name string) ([]byte, error) {
	data, err := readFile(name, f.maxFile)
	if err != nil || filepath.Clean(name) != filepath.Clean(f.kustomization) {
		return data, err
	}
	var k map[string]any
	if yaml.Unmarshal(data, &k) != nil || k == nil {
		return data, nil // kustomize reports what is wrong with it
	}
	meta, _ := k["buildMetadata"].([]any)
	for _, m := range meta {
		if m == types.OriginAnnotations {
			return data, nil
		}
	}
	k["buildMetadata"] = append(meta, types.OriginAnnotations)
	out, err := yaml.Marshal(k)
	if err != nil {
		return data, nil
	}
	f.added = true
	return out, nil
}

// dropOriginAnnotation takes kustomize's origin annotation off u, and the
// annotations with it when it was the only one.
func dropOriginAnnotation(u *unstructured.Unstructured) {
	ann := u.GetAnnotations()
	if _, ok := ann[originAnnotation]; !ok {
		return
	}
	delete(ann, originAnnotation)
	if len(ann) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		return
	}
	u.SetAnnotations(ann)
}

// originAnnotation is where kustomize writes an object's origin
// (sigs.k8s.io/kustomize/api/internal/utils.OriginAnnotationKey).
const originAnnotation = "config.kubernetes.io/origin"

// declared is one document of a file kustomize read: its object's kind,
// name and first line.
type declared struct {
	kind, name string
	line       int
}

// lineOf returns the line where the object kind/name starts in file, or 0
// when the file does not tell (it was generated, or the name is
// ambiguous). kustomize forgets the names it changed, so a document whose
// name is inside the new one (namePrefix, nameSuffix) counts when it is
// the only one of its kind. The file is read again, no more than maxFile
// bytes of it.
func lineOf(cache map[string][]declared, file, kind, name string, maxFile int64) int {
	docs, ok := cache[file]
	if !ok {
		if data, err := readFile(file, maxFile); err == nil {
			decodeYAMLStream(file, data, splitKubectl, 0, func(d document) {
				docs = append(docs, declared{kind: d.object.GetKind(), name: d.object.GetName(), line: d.line})
			})
		}
		cache[file] = docs
	}
	exact, inside := 0, 0
	for _, d := range docs {
		switch {
		case d.kind != kind:
		case d.name == name:
			if exact != 0 {
				return 0
			}
			exact = d.line
		case strings.Contains(name, d.name):
			if inside != 0 {
				inside = -1
			} else {
				inside = d.line
			}
		}
	}
	if exact != 0 {
		return exact
	}
	return max(inside, 0)
}
