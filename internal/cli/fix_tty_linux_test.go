package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openTerminal opens a pseudo-terminal: plumb reads the slave, the test
// types on the master.
func openTerminal(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestFixOnATerminal: on a terminal fix asks, and an answer other than
// yes leaves the plan a plan: nothing applied, no store made. With -o
// json nobody is asked: the output is the plan as data, nothing else.
func TestFixOnATerminal(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	fix := func(answer string, args ...string) (int, string, string) {
		t.Helper()
		master, tty := openTerminal(t)
		if _, err := master.WriteString(answer); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		code := Execute(context.Background(), append([]string{"fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}, args...),
			Streams{In: tty, Out: &out, ErrOut: &errOut})
		return code, out.String(), errOut.String()
	}
	noStore := func(after string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(state, "plumb")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after %s: a store was made (%v)", after, err)
		}
	}

	code, out, stderr := fix("no\n")
	if code != ExitDrift || !strings.Contains(out, "Only 'yes' applies it") || !strings.Contains(stderr, "plan not applied: declined") || strings.Contains(out, "Recorded") {
		t.Errorf("answered no: exit %d (want %d):\n%s%s", code, ExitDrift, out, stderr)
	}
	noStore("a plan declined")

	code, out, stderr = fix("yes\n", "-o", "json")
	var d fixDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != ExitDrift || len(d.Steps) != 1 || len(d.Results) != 0 || !strings.Contains(stderr, "pass --yes") {
		t.Errorf("-o json on a terminal: exit %d (want %d), %v; want the plan alone, not applied:\n%s%s", code, ExitDrift, err, out, stderr)
	}
	requireSchema(t, "plan", out)
	noStore("-o json")
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Errorf("settings mode = %s: a plan was applied", got)
	}
}
