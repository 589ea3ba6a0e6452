package remediate

import (
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

// ModeByPath returns a Mode function for sources given by path
// (drift.BySource): an object takes the mode of the source that declares
// it; def for any other.
func ModeByPath(paths map[string]Mode, def Mode) func(drift.Target) Mode {
	return drift.BySource(paths, def)
}
