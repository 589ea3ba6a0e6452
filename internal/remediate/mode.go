package remediate

import (
	"path/filepath"
	"sort"
	"strings"

	"plumb.dev/plumb/internal/drift"
)

// Mode says what plumb serve may do about an object's drift.
type Mode string

const (
	// ModeOff: drift is only reported (the default).
	ModeOff Mode = "off"
	// ModeApprove: a plan waits for a person to approve or reject it.
	ModeApprove Mode = "approve"
	// ModeAuto: a plan is applied at once, within AutoLimits.
	ModeAuto Mode = "auto"
)

// ParseMode checks a mode given by a user; "" is Off.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case "":
		return ModeOff, true
	case ModeOff, ModeApprove, ModeAuto:
		return m, true
	}
	return "", false
}

// ModeByPath returns a Mode function for sources given by path: an object
// takes the mode of the source it was loaded from (a file, a folder, a
// kustomize root, a chart, a Git source or a Helm release), or else of
// the source whose path is its origin's file or a folder above it, the
// longest first; def for any other.
func ModeByPath(paths map[string]Mode, def Mode) func(drift.Target) Mode {
	of := modeByOrigin(paths, def)
	return func(t drift.Target) Mode {
		o := t.Origin()
		if m, ok := paths[o.Root]; ok {
			return m
		}
		return of(o.Path)
	}
}

// modeByOrigin is ModeByPath on an origin's path.
func modeByOrigin(paths map[string]Mode, def Mode) func(string) Mode {
	clean := make(map[string]Mode, len(paths))
	keys := make([]string, 0, len(paths))
	for p, m := range paths {
		p = filepath.Clean(p)
		clean[p] = m
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	sep := string(filepath.Separator)
	return func(origin string) Mode {
		origin = filepath.Clean(origin)
		for _, p := range keys {
			if origin == p || strings.HasPrefix(origin, strings.TrimSuffix(p, sep)+sep) {
				return clean[p]
			}
		}
		return def
	}
}
