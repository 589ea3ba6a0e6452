package cli

import (
	"plumb.dev/plumb/internal/realworld"

	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

// realWorld is the shared folder of unmodified public manifests.
var realWorld = realworld.MustDir()

// scanJSON runs plumb scan -o json against the test cluster in namespace ns.
func scanJSON(t *testing.T, ns string, args ...string) (int, report.Report, string) {
	t.Helper()
	// ns "" gives no -n: manifests that name their own namespace are
	// refused with another -n, as kubectl refuses them.
	all := []string{"scan", "--kubeconfig", env.Kubeconfig, "-o", "json"}
	if ns != "" {
		all = append(all, "-n", ns)
	}
	all = append(all, args...)
	code, out, stderr := run(t, all...)
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("plumb %s: exit %d, output is not a report: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(all, " "), code, err, out, stderr)
	}
	// Every report a test reads is as docs/schemas/report.schema.json says.
	requireSchema(t, "report", out)
	return code, r, stderr
}

// decodeReport parses a JSON report or fails the test.
func decodeReport(t *testing.T, out string) report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("output is not a report: %v\n%s", err, out)
	}
	requireSchema(t, "report", out)
	return r
}

// requireInSync fails the test with the findings if the scan is not clean.
func requireInSync(t *testing.T, ns string, args ...string) report.Report {
	t.Helper()
	code, r, stderr := scanJSON(t, ns, args...)
	if code != ExitInSync || len(r.Findings) > 0 || len(r.Errors) > 0 {
		b, _ := json.MarshalIndent(r, "", "  ")
		t.Fatalf("exit %d, want 0 (in sync); report:\n%s\nstderr:\n%s", code, b, stderr)
	}
	if r.Summary.Objects == 0 || r.Summary.InSync != r.Summary.Objects {
		t.Fatalf("summary %+v: want every object compared and in sync", r.Summary)
	}
	return r
}

// TestIngressNginxHasNoFalsePositives applies ingress-nginx's static
// manifest: its own namespace, cluster-scoped RBAC, an IngressClass, a
// ValidatingWebhookConfiguration and admission Jobs. The manifest names its
// namespace, so this test cannot use one of its own; running it once per
// apply mode would need a namespace controller to start over, so it uses
// server-side apply only (client-side apply is covered by the others).
func TestIngressNginxHasNoFalsePositives(t *testing.T) {
	manifest := filepath.Join(realWorld, "ingress-nginx/deploy/static/provider/cloud/deploy.yaml")
	env.Kubectl(t, "", "apply", "--server-side", "-f", manifest)
	r := requireInSync(t, "", "--source", manifest)
	if r.Summary.Objects != 19 {
		t.Errorf("compared %d objects, want the manifest's 19", r.Summary.Objects)
	}
	// A change to a cluster-scoped object is found too.
	env.Kubectl(t, "", "label", "clusterrole/ingress-nginx", "audited=no")
	code, got, _ := scanJSON(t, "", "--source", manifest)
	if code != ExitDrift || len(got.Findings) != 1 || got.Findings[0].Kind != "ClusterRole" || got.Findings[0].Namespace != "" ||
		len(got.Findings[0].Changes) != 1 || got.Findings[0].Changes[0].Path != ".metadata.labels.audited" {
		t.Errorf("after labelling the ClusterRole: exit %d, findings %+v", code, got.Findings)
	}
}

func TestRealWorldManifestsHaveNoFalsePositives(t *testing.T) {
	demo := filepath.Join(realWorld, "microservices-demo/release/kubernetes-manifests.yaml")
	podinfoKustomize := filepath.Join(realWorld, "podinfo/kustomize")
	tests := []struct {
		name  string
		apply []string // kubectl arguments, after -n NS
		scan  []string
	}{
		{"microservices-demo/server-side-apply", []string{"apply", "--server-side", "-f", demo}, []string{"--source", demo}},
		{"microservices-demo/client-side-apply", []string{"apply", "-f", demo}, []string{"--source", demo}},
		{"podinfo-kustomize/server-side-apply", []string{"apply", "--server-side", "-k", podinfoKustomize}, []string{"--source", podinfoKustomize}},
		{"podinfo-kustomize/client-side-apply", []string{"apply", "-k", podinfoKustomize}, []string{"--source", podinfoKustomize}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, "", append([]string{"-n", ns}, tt.apply...)...)
			requireInSync(t, ns, tt.scan...)
		})
	}
}
