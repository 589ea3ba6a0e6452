package fleet

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"plumb.dev/plumb/internal/source"
)

// lastGood is what each of a session's sources declared at its last load,
// so that a load that fails part-way keeps the declarations it could not
// read: a typo saved in one file while plumb serve watches must not close
// that file's findings as "no longer declared" and take its objects out of
// watch and admission. Once the source loads cleanly again, what it
// declares then is all that counts.
type lastGood struct {
	mu sync.Mutex
	// bySource guarded by mu: each source's declarations at its last
	// load, those kept from earlier loads included.
	bySource map[string][]source.Encoded
	// errs and kept guarded by mu: the last load's errors, and how many
	// declarations it kept from earlier loads because of them.
	errs []source.Error
	kept int
}

// SourceProblems are the errors of a session's last load of its sources,
// and how many declarations it kept from an earlier load because of them.
type SourceProblems struct {
	Errors []source.Error
	Kept   int
}

// merge returns what source root declares now: objs, the objects it loaded,
// and, when the load had errors, the objects it declared at its last load
// that are missing from objs and that the errors may have hidden (keep).
func (g *lastGood) merge(root string, objs []source.Encoded, errs []source.Error) ([]source.Encoded, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bySource == nil {
		g.bySource = map[string][]source.Encoded{}
	}
	kept := 0
	if prev := g.bySource[root]; len(errs) > 0 && len(prev) > 0 {
		k := keep(prev, objs, errs)
		objs, kept = append(objs, k...), len(k)
	}
	g.bySource[root] = objs
	return objs, kept
}

// finish records the errors of a whole load and the declarations kept.
func (g *lastGood) finish(errs []source.Error, kept int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs, g.kept = slices.Clone(errs), kept
}

func (g *lastGood) problems() SourceProblems {
	g.mu.Lock()
	defer g.mu.Unlock()
	return SourceProblems{Errors: slices.Clone(g.errs), Kept: g.kept}
}

// keep returns the objects of prev that now lacks and that errs may have
// hidden: those read from a file an error names, or from inside a folder
// it names (a chart), or rendered by a kustomization whose folder holds
// the file it names. An error that names none of prev's objects (a file
// that was never read cleanly, a bad --set) could have hidden any of
// them: then every object now lacks is kept.
func keep(prev, now []source.Encoded, errs []source.Error) []source.Encoded {
	present := make(map[objectID]bool, len(now))
	for _, o := range now {
		present[idOf(o)] = true
	}
	hidden := make([]bool, len(prev))
	for _, e := range errs {
		named := false
		for i, o := range prev {
			if names(e, o.Origin) {
				named, hidden[i] = true, true
			}
		}
		if !named {
			for i := range hidden {
				hidden[i] = true
			}
			break
		}
	}
	var out []source.Encoded
	for i, o := range prev {
		if hidden[i] && !present[idOf(o)] {
			out = append(out, o)
		}
	}
	return out
}

// names reports whether e is about the file o was read from or a folder
// that produced it.
func names(e source.Error, o source.Origin) bool {
	if e.Path == "" {
		return false
	}
	return o.Path == e.Path || within(o.Path, e.Path) || o.Kustomization != "" && within(e.Path, o.Kustomization)
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

// objectID names a declared object: one declared again (in another file
// too) is not kept twice.
type objectID struct{ group, kind, namespace, name string }

func idOf(o source.Encoded) objectID {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(o.JSON, &head) // Encode wrote it: it decodes
	group, _, _ := strings.Cut(head.APIVersion, "/")
	if !strings.Contains(head.APIVersion, "/") {
		group = ""
	}
	return objectID{group, head.Kind, head.Metadata.Namespace, head.Metadata.Name}
}
