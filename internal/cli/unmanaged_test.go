package cli

import (
	"encoding/base64"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/testcluster"
)

// What scan and serve find with --unmanaged is package drift's
// (TestScanUnmanagedAcrossKinds, TestScanUnmanagedClusterWide,
// TestUnmanagedLeavesOutTheControlPlane) and package watch's
// (TestServeUnmanaged*); the tests here check that the flags reach it and
// what the commands print.

// TestScanUnmanaged: plumb scan --unmanaged looks for unmanaged objects of
// every kind, exits 1 with them counted and the coverage in the summary,
// and no output format shows the Secret's value. With
// --unmanaged-cluster-wide-after=0, the other kinds of the one namespace
// are listed for the whole cluster instead of in the namespace (-v 6 logs
// every request, as in kubectl), with the same findings; for an identity
// the cluster refuses those lists, -v 1 says that it lists each namespace
// instead.
func TestScanUnmanaged(t *testing.T) {
	ns := env.Namespace(t)
	src := env.SeedUndeclaredKinds(t, ns)
	inNamespace := `/apis/rbac.authorization.k8s.io/v1/namespaces/` + ns + `/roles?limit=500"`
	wide := `/apis/rbac.authorization.k8s.io/v1/roles?limit=500"`

	code, r, stderr := scanJSON(t, ns, "--source", src, "--unmanaged", "-v", "6")
	if code != ExitDrift || len(r.Findings) != len(testcluster.UndeclaredKinds) {
		t.Errorf("exit %d, %d findings; want %d and the %d unmanaged objects\nstderr: %s", code, len(r.Findings), ExitDrift, len(testcluster.UndeclaredKinds), stderr)
	}
	if s := r.Summary; s.Unmanaged != 3 || s.Coverage == nil || *s.Coverage != 0.25 {
		t.Errorf("summary = %+v, want 3 unmanaged and a coverage of 0.25", s)
	}
	if !strings.Contains(stderr, inNamespace) || strings.Contains(stderr, wide) {
		t.Errorf("Roles were not listed in the namespace:\n%s", stderr)
	}
	for _, format := range []string{"json", "yaml", "table", "markdown"} {
		_, out, errOut := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", src, "--unmanaged", "-o", format)
		if strings.Contains(out+errOut, testcluster.SecretValue) || strings.Contains(out+errOut, base64.StdEncoding.EncodeToString([]byte(testcluster.SecretValue))) {
			t.Errorf("-o %s shows the Secret's value", format)
		}
	}

	code, r, stderr = scanJSON(t, ns, "--source", src, "--unmanaged", "--unmanaged-cluster-wide-after=0", "-v", "6")
	if code != ExitDrift || len(r.Findings) != len(testcluster.UndeclaredKinds) {
		t.Errorf("--unmanaged-cluster-wide-after=0: exit %d, %d findings; want %d and the %d unmanaged objects\nstderr: %s", code, len(r.Findings), ExitDrift, len(testcluster.UndeclaredKinds), stderr)
	}
	if !strings.Contains(stderr, wide) || strings.Contains(stderr, inNamespace) {
		t.Errorf("--unmanaged-cluster-wide-after=0: Roles were not listed once for the whole cluster:\n%s", stderr)
	}

	// The engine's log is the command's at -v 1: why a kind was listed in
	// each namespace instead.
	kubeconfig := env.NamespacedUser(t, []string{ns})
	code, _, stderr = scanJSON(t, ns, "--kubeconfig", kubeconfig, "--source", src, "--unmanaged", "--unmanaged-cluster-wide-after=0", "-v", "1")
	if code != ExitDrift || !strings.Contains(stderr, "not listed cluster-wide for unmanaged objects; listing each namespace instead") {
		t.Errorf("as a namespaced user: exit %d, want %d and the cluster-wide list tried first:\n%s", code, ExitDrift, stderr)
	}
}

// TestServeUnmanagedAcrossKinds: plumb serve --unmanaged watches the kinds
// no source declares, and its API lists what it finds of them, with who
// created each.
func TestServeUnmanagedAcrossKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := env.SeedUndeclaredKinds(t, ns)
	base, _ := startServe(t, "-n", ns, "--source", src, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))
	var got []string
	for _, f := range findingsOf(t, base) {
		who := ""
		if len(f.Changes) == 1 {
			who = f.Changes[0].Manager
		}
		got = append(got, f.Kind+"/"+f.Name+":"+who)
	}
	sort.Strings(got)
	if diff := cmp.Diff(testcluster.UndeclaredKinds, got); diff != "" {
		t.Errorf("findings once ready (-want +got):\n%s", diff)
	}
}
