package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffOfMissingObject: a declared object that is absent is a diff of
// its whole declaration, every line added, as kubectl diff shows an
// object it would create; diff exits 1.
func TestDiffOfMissingObject(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "delete", "configmap/flags")

	code, out, stderr := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop)
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d: %s", code, ExitDrift, stderr)
	}
	header := "--- live/v1.ConfigMap." + ns + ".flags\n+++ desired/v1.ConfigMap." + ns + ".flags\t"
	i := strings.Index(out, header)
	if i < 0 {
		t.Fatalf("no diff for the missing ConfigMap flags:\n%s", out)
	}
	// Its hunk adds every line of the declaration, and nothing else.
	lines := strings.Split(strings.TrimSuffix(out[i:], "\n"), "\n")[2:]
	want := []string{"@@ -0,0 +1,9 @@", "+apiVersion: v1", "+data:", `+  new-checkout: "false"`, "+kind: ConfigMap", "+metadata:",
		"+  labels:", "+    app.kubernetes.io/part-of: shop", "+  name: flags", "+  namespace: " + ns}
	if len(lines) < len(want) || strings.Join(lines[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("diff of the missing ConfigMap:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestFleetDiffNamesClusters: two clusters of a configuration hold the
// same object (two contexts onto one API server, the same namespace),
// drifted alike; each diff's headers name its cluster, so the two can be
// told apart.
func TestFleetDiffNamesClusters(t *testing.T) {
	ns := env.Namespace(t)
	settings := filepath.Join(mustAbs(t, shop), "config.yaml")
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", settings)
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	var clusters strings.Builder
	for _, name := range []string{"eu", "us"} {
		fmt.Fprintf(&clusters, "  - {name: %s, kubeconfig: %s, context: %s}\n", name, env.Kubeconfig, env.Context)
	}
	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n"+clusters.String()+
		"sources:\n  - {name: shop, path: "+settings+", namespace: "+ns+"}\n"+
		"bindings:\n  - {source: shop, clusters: {}}\n")

	code, out, stderr := run(t, "diff", "-c", cfg)
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d: %s", code, ExitDrift, stderr)
	}
	for _, c := range []string{"eu", "us"} {
		want := "--- live/" + c + "/v1.ConfigMap." + ns + ".settings\n+++ desired/" + c + "/v1.ConfigMap." + ns + ".settings\t"
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	var headers int
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") {
			headers++
			if !strings.HasPrefix(l[4:], "live/eu/") && !strings.HasPrefix(l[4:], "live/us/") &&
				!strings.HasPrefix(l[4:], "desired/eu/") && !strings.HasPrefix(l[4:], "desired/us/") {
				t.Errorf("header %q names no cluster", l)
			}
		}
	}
	if headers != 4 || strings.Count(out, "-  mode: slow\n+  mode: fast\n") != 2 {
		t.Errorf("want one diff per cluster, each putting mode back to fast:\n%s", out)
	}
}
