package drift

import (
	"path/filepath"
	"sort"
	"strings"
)

// BySource returns a lookup of a per-source setting (a remediation mode,
// a source's deployers) for sources given by path: an object takes the
// setting of the source it was loaded from (a file, a folder, a kustomize
// root, a chart, a Git source or a Helm release), or else of the source
// whose path is its origin's file or a folder above it, the longest first;
// def for any other.
func BySource[V any](paths map[string]V, def V) func(Target) V {
	of := byOrigin(paths, def)
	return func(t Target) V {
		o := t.Origin()
		if v, ok := paths[o.Root]; ok {
			return v
		}
		return of(o.Path)
	}
}

// byOrigin is BySource on an origin's path.
func byOrigin[V any](paths map[string]V, def V) func(string) V {
	clean := make(map[string]V, len(paths))
	keys := make([]string, 0, len(paths))
	for p, v := range paths {
		p = filepath.Clean(p)
		clean[p] = v
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	sep := string(filepath.Separator)
	return func(origin string) V {
		origin = filepath.Clean(origin)
		for _, p := range keys {
			if origin == p || strings.HasPrefix(origin, strings.TrimSuffix(p, sep)+sep) {
				return clean[p]
			}
		}
		return def
	}
}
