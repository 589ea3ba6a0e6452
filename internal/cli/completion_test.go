package cli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/store"
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
		{[]string{"scan", "-o", ""}, []string{"table", "wide", "name", "json", "yaml", "markdown"}},
		{[]string{"check", "-o", "ya"}, []string{"yaml"}},
		{[]string{"check", "-o", ""}, []string{"table", "json", "yaml", "markdown", "sarif", "junit"}},
		{[]string{"check", "-o", "s"}, []string{"sarif"}},
		{[]string{"version", "-o", ""}, []string{"json", "yaml"}},
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

func TestCompleteRunIDs(t *testing.T) {
	// No t.Parallel: t.Setenv points the default store at a temporary
	// directory.
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	path := filepath.Join(t.TempDir(), "plumb.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.Run{
		{Command: "fix", Outcome: store.RunApplied, Clusters: []string{"a"}},
		{Command: "undo", UndoOf: 1, Outcome: store.RunPartial, Clusters: []string{"a"}},
	} {
		if _, err := st.RecordRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"2\tundo partial", "1\tfix applied"}
	if diff := cmp.Diff(want, complete(t, "history", "--store", path, "")); diff != "" {
		t.Errorf("history RUN (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, complete(t, "fix", "--store", path, "--undo", "")); diff != "" {
		t.Errorf("fix --undo (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1:], complete(t, "fix", "--store", path, "--undo", "1")); diff != "" {
		t.Errorf("fix --undo 1 (-want +got):\n%s", diff)
	}
	// The default store does not exist: nothing to complete, and
	// completion does not create it.
	if got := complete(t, "history", ""); got != nil {
		t.Errorf("history RUN with no store: got %q, want nothing", got)
	}
	if got := complete(t, "fix", "--undo", ""); got != nil {
		t.Errorf("fix --undo with no store: got %q, want nothing", got)
	}
	if _, err := os.Stat(filepath.Join(state, "plumb")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("completion made the default store's directory: %v", err)
	}
}

func TestCompleteFleetClusters(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "plumb.yaml")
	cfg := "apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n" +
		"  - {name: prod-eu, kubeconfig: " + env.Kubeconfig + ", context: " + env.Context + "}\n" +
		"  - {name: prod-us, kubeconfig: " + env.Kubeconfig + ", context: " + env.Context + "}\n" +
		"  - {name: staging, kubeconfig: " + env.Kubeconfig + ", context: " + env.Context + "}\n" +
		"sources:\n  - {name: shop, path: " + t.TempDir() + "}\n" +
		"bindings:\n  - {source: shop, clusters: {}}\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	name := "--fleet-cluster"
	for _, cmdName := range []string{"scan", "fix"} {
		got := complete(t, cmdName, "-c", file, name, "prod")
		if diff := cmp.Diff([]string{"prod-eu", "prod-us"}, got); diff != "" {
			t.Errorf("%s %s prod (-want +got):\n%s", cmdName, name, diff)
		}
	}
	if got := complete(t, "scan", name, ""); got != nil {
		t.Errorf("%s without -c: got %q, want nothing", name, got)
	}
}
