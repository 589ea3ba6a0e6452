package cli

import (
	"strings"
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

// TestEmptySourceExits2: a source folder that declares nothing (empty, or
// mistyped into one) is an error for scan, diff, check and fix against a
// real cluster: exit 2 naming it, never "No drift", as kubectl diff -f
// on an empty folder exits 2.
func TestEmptySourceExits2(t *testing.T) {
	ns := env.Namespace(t)
	empty := t.TempDir()
	for _, args := range [][]string{
		{"scan"}, {"diff"}, {"check"}, {"fix", "--store", storeFor(t)},
	} {
		code, out, stderr := run(t, append(args, "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", empty)...)
		if code != ExitError || !strings.Contains(out+stderr, empty+": no objects found") || strings.Contains(out, "No drift") {
			t.Errorf("%s of an empty folder: exit %d (want %d), naming it, never No drift:\n%s%s", args[0], code, ExitError, out, stderr)
		}
	}
}
