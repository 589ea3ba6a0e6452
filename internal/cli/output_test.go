package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestScanOutputFormats: kubectl's -o name, -o jsonpath, -o wide and
// --no-headers on a scan of a real cluster, and a template that does not
// parse refused before anything is scanned.
func TestScanOutputFormats(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	env.Kubectl(t, "", "-n", ns, "delete", "configmap/flags")
	scan := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, append([]string{"scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}, args...)...)
	}

	code, out, stderr := scan("-o", "name")
	if diff := cmp.Diff("configmap/flags\ndeployment.apps/web\n", out); code != ExitDrift || diff != "" {
		t.Errorf("-o name: exit %d (want %d), output (-want +got):\n%s%s", code, ExitDrift, diff, stderr)
	}

	code, out, _ = scan("-o", `jsonpath={range .findings[*]}{.kind}/{.name} {.state}{"\n"}{end}`)
	if diff := cmp.Diff("ConfigMap/flags missing\nDeployment/web drifted\n", out); code != ExitDrift || diff != "" {
		t.Errorf("-o jsonpath: exit %d, output (-want +got):\n%s", code, diff)
	}
	tmpl := filepath.Join(t.TempDir(), "objects.tmpl")
	writeFile(t, tmpl, "{.summary.objects}")
	if _, out, _ = scan("-o", "jsonpath-file="+tmpl); out != "9" {
		t.Errorf("-o jsonpath-file: %q, want the 9 objects of the shop", out)
	}

	_, out, _ = scan("--no-headers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Contains(out, "NAMESPACE") || !strings.HasPrefix(lines[0], "default ") && !strings.Contains(lines[0], ns) {
		t.Errorf("--no-headers: a header row, or no rows:\n%s", out)
	}

	_, out, _ = scan("-o", "wide")
	for _, want := range []string{"SOURCE", "shop/web.yaml:1", "shop/config.yaml:11", ".spec.replicas"} {
		if !strings.Contains(out, want) {
			t.Errorf("-o wide lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ = scan(); strings.Contains(out, "SOURCE") || strings.Contains(out, "\x1b[") {
		t.Errorf("the table off a terminal has -o wide's columns or colours:\n%s", out)
	}

	code, out, stderr = scan("-o", "jsonpath={.findings[")
	if code != ExitError || out != "" || !strings.Contains(stderr, "jsonpath") {
		t.Errorf("a template that does not parse: exit %d (want %d), stdout %q, stderr %q", code, ExitError, out, stderr)
	}
}
