package cli

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a snapshot holds, and that it scans clean, shows what changed since
// and recreates the workload elsewhere, is package snapshot's; the tests
// here check the command's flags, output and exit codes.

// snapshotTo runs plumb snapshot of namespace ns into dir.
func snapshotTo(t *testing.T, ns, dir string, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"snapshot", "--kubeconfig", env.Kubeconfig, "-n", ns, "--out", dir}, args...)...)
}

// TestSnapshotEndToEnd runs plumb snapshot of the shop and the commands
// that use its folder. The snapshot exits 0 and says what it wrote and
// that a Secret has no values; into the same folder it exits 2 with a hint
// at --force, and with --force 0. plumb scan --source of the folder exits
// 0; after the Secret's value changes, neither scan nor diff prints the
// value; with the Secret and a ConfigMap gone, plumb fix --source creates
// the ConfigMap, names the Secret it skips, and exits 1. -A and -l reach
// the snapshot: every namespace, only the objects that match. A user who
// may not list Secrets gets an incomplete snapshot: exit 2, the Secrets
// named, the rest written.
func TestSnapshotEndToEnd(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)

	dir := filepath.Join(t.TempDir(), "baseline")
	code, out, stderr := snapshotTo(t, ns, dir)
	if code != ExitInSync || !strings.Contains(out, "Wrote 9 objects of namespace "+ns) || !strings.Contains(out, "1 Secret is written without values") {
		t.Fatalf("snapshot: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := snapshotTo(t, ns, dir); code != ExitError || !strings.Contains(stderr, "--force") {
		t.Errorf("snapshot into a full folder: exit %d, stderr %s; want 2 and a hint at --force", code, stderr)
	}
	if code, out, stderr := snapshotTo(t, ns, dir, "--force"); code != ExitInSync {
		t.Errorf("snapshot --force: exit %d\n%s\n%s", code, out, stderr)
	}
	requireInSync(t, ns, "--source", dir)

	// A changed Secret is found, its value never printed.
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"rotated-by-hand"}}`)
	code, scanOut, _ := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir)
	if code != ExitDrift {
		t.Errorf("scan after the Secret changed: exit %d, want %d\n%s", code, ExitDrift, scanOut)
	}
	_, diffOut, _ := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir)
	for _, o := range []string{scanOut, diffOut} {
		if strings.Contains(o, "rotated-by-hand") || strings.Contains(o, base64.StdEncoding.EncodeToString([]byte("rotated-by-hand"))) {
			t.Errorf("a Secret value is printed:\n%s", o)
		}
	}

	// plumb fix from the folder creates what it can and names the Secret
	// it cannot.
	k("delete", "secret/api-credentials", "configmap/flags")
	code, d, stderr := fix(t, ns, "--source", dir, "--yes")
	if code != ExitDrift || len(d.Results) != 1 || d.Results[0].Outcome != "applied" {
		t.Errorf("fix: exit %d, results %+v; want 1 (a Secret skipped) and the ConfigMap applied\n%s", code, d.Results, stderr)
	}
	if !strings.Contains(stderr, "skipped Secret "+ns+"/api-credentials") {
		t.Errorf("stderr does not name the skipped Secret:\n%s", stderr)
	}

	// -A with -l: every namespace and the cluster-scoped kinds, only what
	// matches.
	k("label", "configmap/settings", "snapshot-test="+ns)
	all := filepath.Join(t.TempDir(), "all")
	code, out, stderr = run(t, "snapshot", "--kubeconfig", env.Kubeconfig, "-A", "-l", "snapshot-test="+ns, "--out", all)
	if code != ExitInSync || !strings.Contains(out, "Wrote 1 object of every namespace and the cluster-scoped kinds") {
		t.Errorf("snapshot -A -l: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(all, ns, "configmap-settings.yaml")); err != nil {
		t.Errorf("snapshot -A -l: %v", err)
	}

	// Incomplete: exit 2, the rest written.
	kubeconfig := env.Reader(t, "snapshot-no-secrets-"+ns, "configmaps,services,deployments.apps")
	code, out, stderr = run(t, "snapshot", "--kubeconfig", kubeconfig, "-n", ns, "--out", filepath.Join(t.TempDir(), "partial"))
	if code != ExitError || !strings.Contains(stderr, "list secrets") || !strings.Contains(stderr, "forbidden") ||
		!strings.Contains(stderr, "incomplete") || !strings.Contains(out, "Wrote 8 objects") {
		t.Errorf("snapshot without Secrets: exit %d, want 2 with the Secrets named and the 8 others written\n%s\n%s", code, out, stderr)
	}
}

// TestSnapshotForceReplacesOnlyItsOwnFiles: --force into someone's own
// kustomize folder (no plumb marker) exits 2, naming the folder and the
// marker, and removes nothing, not even the file its kustomization.yaml
// lists. A snapshot of a namespace holding a ConfigMap with a 253-character
// name exits 0 and scans clean; a second one with --force exits 0 and
// keeps the file someone put beside the first.
func TestSnapshotForceReplacesOnlyItsOwnFiles(t *testing.T) {
	ns := env.Namespace(t)
	long := strings.Repeat("c", 253)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", long, "--from-literal=mode=fast")

	theirs := t.TempDir()
	app := filepath.Join(theirs, "base", "app.yaml")
	if err := os.MkdirAll(filepath.Dir(app), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(theirs, "kustomization.yaml"), []byte("resources:\n- base/app.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := snapshotTo(t, ns, theirs, "--force")
	if code != ExitError || !strings.Contains(stderr, theirs) || !strings.Contains(stderr, ".plumb-snapshot") {
		t.Errorf("snapshot --force into a kustomize folder of someone's own: exit %d, stderr %s; want 2 naming the folder and the marker", code, stderr)
	}
	if b, err := os.ReadFile(app); err != nil || string(b) != "mine" {
		t.Errorf("base/app.yaml after snapshot --force: %q, %v; want it kept", b, err)
	}

	dir := filepath.Join(t.TempDir(), "snap")
	if code, out, stderr := snapshotTo(t, ns, dir); code != ExitInSync || !strings.Contains(out, "Wrote 1 object") {
		t.Fatalf("snapshot of a ConfigMap with a 253-character name: exit %d\n%s\n%s", code, out, stderr)
	}
	requireInSync(t, ns, "--source", dir)
	notes := filepath.Join(dir, "NOTES.md")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := snapshotTo(t, ns, dir, "--force"); code != ExitInSync {
		t.Errorf("snapshot --force over a snapshot: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("the file beside the snapshot: %v; want it kept", err)
	}
	requireInSync(t, ns, "--source", dir)
}

// TestSnapshotBadInput: missing or malformed flags are clear errors that
// write nothing.
func TestSnapshotBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "-n", "default"}, "--out DIR is required"},
		{[]string{"snapshot", "-n", "default", "--out", dir, "-l", "app in (web"}, `-l "app in (web"`},
		{[]string{"snapshot", "-n", "default", "--out", dir, "-o", "json"}, "not supported by snapshot"},
		{[]string{"snapshot", "-n", "default", "--out", dir, "--concurrency", "0"}, "--concurrency"},
	} {
		code, _, stderr := run(t, append(tt.args, "--kubeconfig", env.Kubeconfig)...)
		if code != ExitError || !strings.Contains(stderr, tt.want) {
			t.Errorf("plumb %s: exit %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("bad input wrote %s (%v)", dir, err)
	}
}

// TestSnapshotKeyedSecretHash: with --secret-hash-key-file the snapshot's
// Secret carries a keyed hash of its data (no unkeyed one a guess could be
// checked against); a scan without the key says it needs it (exit 2), one
// with the key finds the Secret in sync, then changed, never printing a
// value; a short key is refused.
func TestSnapshotKeyedSecretHash(t *testing.T) {
	ns := env.Namespace(t)
	const value = "keyed-hash-secret-value"
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "db", "--from-literal=password="+value)
	dir := t.TempDir()
	key, short := filepath.Join(dir, "key"), filepath.Join(dir, "short")
	if err := os.WriteFile(key, []byte(strings.Repeat("k3y", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, []byte("tooshort\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "snapshot", "--kubeconfig", env.Kubeconfig, "-n", ns, "--out", filepath.Join(dir, "refused"), "--secret-hash-key-file", short); code != ExitError || !strings.Contains(stderr, "at least 32") {
		t.Errorf("a short key: exit %d, %s", code, stderr)
	}
	out := filepath.Join(dir, "snap")
	if code, _, stderr := run(t, "snapshot", "--kubeconfig", env.Kubeconfig, "-n", ns, "--out", out, "--secret-hash-key-file", key); code != 0 {
		t.Fatalf("snapshot: exit %d\n%s", code, stderr)
	}
	var secret string
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, _ error) error {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "kind: Secret") {
			secret = string(b)
		}
		return nil
	})
	if !strings.Contains(secret, "plumb.dev/data-hash: hmac-sha256:") || strings.Contains(secret, value) {
		t.Fatalf("the snapshot's Secret:\n%s\nwant a keyed hash and no value", secret)
	}
	if code, stdout, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", out); code != ExitError || !strings.Contains(stdout+stderr, "--secret-hash-key-file") {
		t.Errorf("a scan without the key: exit %d\n%s%s; want exit 2 naming --secret-hash-key-file", code, stdout, stderr)
	}
	if code, stdout, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", out, "--secret-hash-key-file", key); code != ExitInSync {
		t.Errorf("a scan with the key: exit %d\n%s%s; want in sync", code, stdout, stderr)
	}
	env.Kubectl(t, "", "-n", ns, "patch", "secret", "db", "--type=merge", "-p", `{"stringData":{"password":"rotated"}}`)
	code, stdout, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", out, "--secret-hash-key-file", key)
	if code != ExitDrift || !strings.Contains(stdout, "db") || strings.Contains(stdout+stderr, "rotated") || strings.Contains(stdout+stderr, value) {
		t.Errorf("a scan with the key after the value changed: exit %d\n%s%s; want drift, no value", code, stdout, stderr)
	}
}
