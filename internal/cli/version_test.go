package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"plumb.dev/plumb/internal/buildinfo"
)

// run executes plumb with args and returns its exit code and streams.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestVersionJSON(t *testing.T) {
	code, out, stderr := run(t, "version", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	requireSchema(t, "version", out)
	if got.GoVersion != runtime.Version() {
		t.Errorf("goVersion = %q, want %q", got.GoVersion, runtime.Version())
	}
	// The client-go version comes from the binary's module list, which test
	// binaries lack; cmd/plumb's test checks it on a real build.
}

func TestVersionText(t *testing.T) {
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "plumb ") || !strings.Contains(out, "client-go:") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
}

func TestHelpDocumentsExitCodesAndKubectlFlags(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"0  in sync", "1  drift found", "2  an error", "--kubeconfig", "--context", "-n, --namespace", "-o, --output", "-v, --v"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestBadUsageExitsWithError(t *testing.T) {
	tests := [][]string{
		{"version", "-o", "table"},
		{"--no-such-flag"},
		{"version", "extra-arg"},
	}
	for _, args := range tests {
		code, _, stderr := run(t, args...)
		if code != ExitError {
			t.Errorf("plumb %s: exit %d, want %d", strings.Join(args, " "), code, ExitError)
		}
		if !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("plumb %s: stderr %q, want an error line", strings.Join(args, " "), stderr)
		}
	}
}

func TestProfileFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cpu.pprof")
	if code, _, stderr := run(t, "version", "--profile=cpu", "--profile-output="+out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Errorf("no CPU profile written: %v", err)
	}
	if code, _, stderr := run(t, "version", "--profile=bogus"); code != ExitError || !strings.Contains(stderr, "--profile") {
		t.Errorf("--profile=bogus: exit %d, %s", code, stderr)
	}
}
