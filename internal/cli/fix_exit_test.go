package cli

import (
	"testing"

	"plumb.dev/plumb/internal/remediate"
)

// TestFixExitCodeSkippedOnly: a plan whose only content is a skipped
// object (a Secret it cannot change) leaves drift: exit 1, not 0.
func TestFixExitCodeSkippedOnly(t *testing.T) {
	run := remediate.Run{Plan: remediate.Plan{Skipped: []remediate.Skip{{}}}}
	if got := fixExitCode(run); got != ExitDrift {
		t.Errorf("fixExitCode(only skipped) = %d, want %d", got, ExitDrift)
	}
}
