package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// ansi matches colour codes.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// terminalScreen opens a pseudo-terminal cols wide; shown returns what
// was written to tty until it is called (without the carriage returns the
// terminal adds before newlines), and closes it.
func terminalScreen(t *testing.T, cols uint16) (tty *os.File, shown func() string) {
	t.Helper()
	master, tty := openTerminal(t)
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: 50}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // guards screen
	var screen bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// Closing the terminal drops what is not read yet: an end mark is
	// written and waited for first.
	const end = "<end of test output>"
	return tty, func() string {
		t.Helper()
		if _, err := tty.WriteString(end); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := screen.String()
			mu.Unlock()
			if i := strings.Index(got, end); i >= 0 {
				tty.Close()
				return strings.ReplaceAll(got[:i], "\r\n", "\n")
			}
			if time.Now().After(deadline) {
				t.Fatalf("the terminal did not show the end mark: %q", got)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// runOnTerminal runs plumb with standard output on a pseudo-terminal
// cols wide and returns what the terminal showed and standard error.
func runOnTerminal(t *testing.T, cols uint16, args ...string) (int, string, string) {
	t.Helper()
	tty, shown := terminalScreen(t, cols)
	var errOut bytes.Buffer
	code := Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: tty, ErrOut: &errOut})
	return code, shown(), errOut.String()
}

// TestScanOnATerminal: on a terminal the table fits its width, long
// columns shortened with an ellipsis, and states are coloured; NO_COLOR
// and --no-color turn colour off; -o wide shortens nothing.
func TestScanOnATerminal(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	env.Kubectl(t, "", "-n", ns, "label", "deployment/web", "example.com/a-label-long-enough-to-need-shortening=yes")
	env.Kubectl(t, "", "-n", ns, "delete", "configmap/flags")
	args := []string{"scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}

	code, out, stderr := runOnTerminal(t, 100, args...)
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitDrift, out, stderr)
	}
	t.Logf("on a terminal 100 wide:\n%s", out)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if n := utf8.RuneCountInString(ansi.ReplaceAllString(line, "")); n > 100 {
			t.Errorf("a line is %d wide on a terminal 100 wide: %q", n, line)
		}
	}
	for _, want := range []string{"…", "\x1b[33mdrifted\x1b[0m", "\x1b[31mmissing\x1b[0m", "1 drifted, 1 missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("the terminal lacks %q:\n%s", want, out)
		}
	}

	t.Setenv("NO_COLOR", "1")
	if _, out, _ = runOnTerminal(t, 100, args...); ansi.MatchString(out) || !strings.Contains(out, "drifted") {
		t.Errorf("NO_COLOR=1: colours, or no table:\n%q", out)
	}
	t.Setenv("NO_COLOR", "")
	if _, out, _ = runOnTerminal(t, 100, append(args, "--no-color")...); ansi.MatchString(out) || !strings.Contains(out, "drifted") {
		t.Errorf("--no-color: colours, or no table:\n%q", out)
	}
	if _, out, _ = runOnTerminal(t, 100, append(args, "-o", "wide", "--no-color")...); strings.Contains(out, "…") || !strings.Contains(out, "a-label-long-enough-to-need-shortening") {
		t.Errorf("-o wide shortened a column on a terminal:\n%s", out)
	}
}

// TestFixPlanOnATerminal: on a terminal the plan's actions and risk levels
// are coloured; off one, or with NO_COLOR, they are not.
func TestFixPlanOnATerminal(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/web", "web=nginx:evil")
	env.Kubectl(t, "", "-n", ns, "delete", "configmap/flags")
	args := []string{"fix", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}

	code, out, stderr := runOnTerminal(t, 100, args...)
	t.Logf("on a terminal:\n%s", out)
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d (a plan only shown)\n%s%s", code, ExitDrift, out, stderr)
	}
	for _, want := range []string{
		"Plan: 2 objects",
		"\x1b[32m+\x1b[0m \x1b[32mConfigMap " + ns + "/flags\x1b[0m",
		"\x1b[33m~\x1b[0m \x1b[33mDeployment " + ns + "/web\x1b[0m",
		"\x1b[31mhigh risk\x1b[0m",
		`.spec.template.spec.containers[name="web"].image: ` + "\x1b[31m\"nginx:evil\"\x1b[0m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan on a terminal lacks %q:\n%q", want, out)
		}
	}
	t.Setenv("NO_COLOR", "yes")
	if _, out, _ = runOnTerminal(t, 100, args...); ansi.MatchString(out) || !strings.Contains(out, "Plan: 2 objects") {
		t.Errorf("NO_COLOR: the plan has colours, or is not shown:\n%q", out)
	}
	t.Setenv("NO_COLOR", "")
	if _, out, _ = run(t, args...); ansi.MatchString(out) || !strings.Contains(out, "(apply, high risk, as ") {
		t.Errorf("off a terminal: the plan has colours, or is not shown:\n%q", out)
	}
}

// TestScanProgressOnATerminal: with standard error on a terminal, a scan
// that runs past the delay shows each cluster's count on one line, redrawn
// in place and cleared at the end; off a terminal it shows none.
func TestScanProgressOnATerminal(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	saved := progressTiming
	progressTiming.Delay, progressTiming.Interval = time.Millisecond, time.Millisecond
	t.Cleanup(func() { progressTiming = saved })
	args := []string{"scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}

	tty, shown := terminalScreen(t, 100)
	var out bytes.Buffer
	code := Execute(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: tty})
	stderr := shown()
	if code != ExitInSync || !strings.HasPrefix(out.String(), "No drift: 9 objects in sync.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), stderr)
	}
	if !regexp.MustCompile(`\renvtest: [0-9] of 9 objects compared\x1b\[K`).MatchString(stderr) {
		t.Errorf("no progress line on the terminal: %q", stderr)
	}
	if !strings.HasSuffix(stderr, "\r\x1b[K") {
		t.Errorf("the progress line is not cleared at the end: %q", stderr)
	}
	if _, _, stderr := run(t, args...); stderr != "" {
		t.Errorf("off a terminal, stderr: %q", stderr)
	}
}

// TestDiffNoColor: plumb diff colours on a terminal, and --no-color turns
// that off as NO_COLOR does.
func TestDiffNoColor(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	args := []string{"diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}
	if _, out, _ := runOnTerminal(t, 100, args...); !ansi.MatchString(out) {
		t.Errorf("diff on a terminal has no colour:\n%q", out)
	}
	if _, out, _ := runOnTerminal(t, 100, append(args, "--no-color")...); ansi.MatchString(out) || !strings.Contains(out, "replicas: 5") {
		t.Errorf("diff --no-color has colour, or no diff:\n%q", out)
	}
}
