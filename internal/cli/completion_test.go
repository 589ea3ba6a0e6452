package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// complete runs cobra's hidden __complete command with args and returns
// the candidates it prints, without the trailing directive line.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, stderr := run(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, stderr)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		got = append(got, line)
	}
	return got
}

func TestCompleteOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"scan", "-o", ""}, []string{"table", "json", "yaml", "markdown"}},
		{[]string{"check", "-o", "ya"}, []string{"yaml"}},
		{[]string{"fix", "--output", ""}, []string{"json"}},
		{[]string{"history", "-o", ""}, []string{"json", "yaml"}},
		{[]string{"diff", "-o", ""}, nil},
	} {
		if diff := cmp.Diff(tc.want, complete(t, tc.args...)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestCompleteContext(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: staging
  context: {cluster: c, user: u}
- name: prod
  context: {cluster: c, user: u}
current-context: prod
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	got := complete(t, "scan", "--kubeconfig", kubeconfig, "--context", "")
	if diff := cmp.Diff([]string{"prod", "staging"}, got); diff != "" {
		t.Errorf("--context (-want +got):\n%s", diff)
	}
	got = complete(t, "scan", "--kubeconfig", kubeconfig, "--context", "st")
	if diff := cmp.Diff([]string{"staging"}, got); diff != "" {
		t.Errorf("--context st (-want +got):\n%s", diff)
	}
}

func TestCompleteNamespace(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	got := complete(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns)
	if diff := cmp.Diff([]string{ns}, got); diff != "" {
		t.Errorf("-n %s (-want +got):\n%s", ns, diff)
	}
	// A cluster that does not answer completes nothing, and does so promptly.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	const cfg = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := complete(t, "scan", "--kubeconfig", kubeconfig, "-n", ""); got != nil {
		t.Errorf("-n against no cluster: got %q, want nothing", got)
	}
}
