package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsKubectlCluster: --cluster is kubectl's (the kubeconfig's
// cluster) on every command, no longer shadowed by fleet mode's, which is
// --fleet-cluster, and -l no longer selects fleet clusters.
func TestFlagsKubectlCluster(t *testing.T) {
	t.Parallel()
	root, _ := newRoot(Streams{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}})
	for _, name := range []string{"scan", "diff", "fix", "skew", "serve", "agent"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		f := cmd.Flags().Lookup("cluster")
		if f == nil {
			f = cmd.InheritedFlags().Lookup("cluster")
		}
		if f == nil || !strings.Contains(f.Usage, "kubeconfig cluster") {
			t.Errorf("%s --cluster is not kubectl's: %+v", name, f)
		}
		if cmd.Flags().Lookup("fleet-cluster") == nil || cmd.Flags().Lookup("cluster-selector") == nil {
			t.Errorf("%s has no --fleet-cluster or --cluster-selector", name)
		}
		if l := cmd.Flags().ShorthandLookup("l"); l != nil && strings.Contains(l.Usage, "Fleet") {
			t.Errorf("%s -l still selects clusters: %s", name, l.Usage)
		}
	}
}

// TestFlagsRefuseKubectlWithFleet: --context and -n are refused with a
// configuration that lists clusters instead of being silently ignored,
// before any cluster is contacted.
func TestFlagsRefuseKubectlWithFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "plumb.yaml")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: a, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: a, user: {}}]
contexts: [{name: a, context: {cluster: a, user: a}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
- name: a
  kubeconfig: ` + kubeconfig + `
sources:
- name: s
  path: ` + dir + `
bindings:
- source: s
  clusters: {}
`
	if err := os.WriteFile(cfg, []byte(body+"rollout: {waves: [{name: all, clusters: {}}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("secret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "-c", cfg, "--context", "other"}, "--context cannot be used with -c " + cfg},
		{[]string{"diff", "-c", cfg, "-n", "other"}, "-n/--namespace cannot be used with -c " + cfg},
		{[]string{"scan", "-c", cfg, "-n", "x", "--context", "y"}, "--context and -n/--namespace cannot be used"},
		{[]string{"serve", "-c", cfg, "--context", "other"}, "--context cannot be used with -c " + cfg},
		{[]string{"serve", "-c", cfg, "-n", "other", "--lease-namespace", "plumb"}, "-n/--namespace cannot be used with -c " + cfg},
		{[]string{"agent", "-c", cfg, "--fleet-cluster", "a", "--hub", "https://hub.example", "--token-file", token, "-n", "other"}, "-n/--namespace cannot be used with -c " + cfg},
		{[]string{"fix", "-c", cfg, "--context", "other", "--yes"}, "--context cannot be used with -c " + cfg},
		{[]string{"fix", "-c", cfg, "--undo", "3", "-n", "other"}, "-n/--namespace cannot be used with -c " + cfg},
		{[]string{"fix", "-c", cfg, "--undo", "3", "--fleet-cluster", "a"}, "--undo works on the clusters the run did: it takes no --fleet-cluster or --cluster-selector"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	// With --lease-namespace, serve's --context names the cluster plumb
	// runs in, where the Leases are: it is not refused.
	if code, _, stderr := run(t, "serve", "-c", cfg, "--lease-namespace", "plumb", "--context", "nowhere", "--store", filepath.Join(dir, "plumb.db")); code != ExitError ||
		strings.Contains(stderr, "cannot be used") || !strings.Contains(stderr, "nowhere") {
		t.Errorf("serve --lease-namespace --context nowhere: exit %d, stderr %q; want the context not found", code, stderr)
	}
}

// TestFlagsNamespaceMismatch: an explicit -n and a manifest that names
// another namespace is refused as kubectl refuses it, as an error naming
// the file and line; the rest of the source is still compared.
func TestFlagsNamespaceMismatch(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "cms.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: here}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: there, namespace: elsewhere}
data: {a: "1"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", file)
	want := file + `:6: ConfigMap elsewhere/there: the namespace from the provided object "elsewhere" does not match the namespace "` + ns + `". You must pass '--namespace=elsewhere' to perform this operation.`
	if code != ExitError || !strings.Contains(out+stderr, want) || !strings.Contains(out, "here") {
		t.Errorf("exit %d, want an error %q and ConfigMap here compared\nstdout:\n%s\nstderr:\n%s", code, want, out, stderr)
	}
	// Without -n, the manifest's namespace stands, as in kubectl.
	if _, out, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "--source", file); strings.Contains(out+stderr, "does not match") {
		t.Errorf("without -n: refused\n%s\n%s", out, stderr)
	}
}
