package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadOnlyIdentity scans as a user bound only to the plumb-scan role
// that docs/rbac ships: every change is still found, from the local
// comparison, and marked unconfirmed where the server could not confirm it.
func TestReadOnlyIdentity(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "apply", "-f", "../../docs/rbac/scan.yaml")
	user := "reader-" + ns
	env.Kubectl(t, "", "create", "clusterrolebinding", user, "--clusterrole=plumb-scan", "--user="+user)
	kubeconfig := env.User(t, user)

	// The role really is read-only.
	if _, err := env.KubectlErr("", "--kubeconfig", kubeconfig, "-n", ns, "scale", "deployment/web", "--replicas=3"); err == nil {
		t.Fatal("the read-only user could scale a Deployment")
	}
	code, out, stderr := run(t, "scan", "--kubeconfig", kubeconfig, "-n", ns, "--source", shop, "-o", "json")
	if code != ExitInSync {
		t.Fatalf("in-sync scan as a reader: exit %d\n%s\n%s", code, out, stderr)
	}

	k("scale", "deployment/web", "--replicas=5")
	k("annotate", "deployment/api", "example.com/owner-")
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	k("label", "service/web", "team=checkout")
	k("patch", "deployment/cache", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"1000m"}]`)

	code, out, stderr = run(t, "scan", "--kubeconfig", kubeconfig, "-n", ns, "--source", shop, "-o", "json")
	r := decodeReport(t, out)
	want := []seen{
		{"Deployment/api", `.metadata.annotations["example.com/owner"]`, "removed", ""},
		{"Deployment/web", ".spec.replicas", "modified", "kubectl"},
		{"Secret/api-credentials", ".data.token", "modified", "kubectl-patch"},
		{"Service/web", ".metadata.labels.team", "added", "kubectl-label"},
	}
	if diff := cmp.Diff(want, changesOf(r)); code != ExitDrift || diff != "" {
		t.Errorf("exit %d, changes (-want +got):\n%s\nstderr: %s", code, diff, stderr)
	}
	unconfirmed := map[string]bool{}
	for _, f := range r.Findings {
		unconfirmed[f.Kind+"/"+f.Name] = f.Unconfirmed
	}
	// managedFields are evidence enough for the added label; the others
	// needed a dry-run the reader may not send.
	wantUnconfirmed := map[string]bool{"Deployment/api": true, "Deployment/web": true, "Secret/api-credentials": true, "Service/web": false}
	if diff := cmp.Diff(wantUnconfirmed, unconfirmed); diff != "" {
		t.Errorf("unconfirmed (-want +got):\n%s", diff)
	}
	// Without a dry-run the declared values still make the desired view:
	// plumb diff shows them.
	code, out, stderr = run(t, "diff", "--kubeconfig", kubeconfig, "-n", ns, "--source", shop)
	for _, line := range []string{"-  replicas: 5", "+  replicas: 2", "+    example.com/owner:"} {
		if !strings.Contains(out, line) {
			t.Errorf("plumb diff as a reader has no %q (exit %d):\n%s\n%s", line, code, out, stderr)
		}
	}
}

// TestForbiddenKindIsReportedNotFatal scans as a user who may read every
// kind of the shop but Secrets: the Secret is an error naming it, the rest
// is scanned, and the exit code says the result is incomplete.
func TestForbiddenKindIsReportedNotFatal(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	kubeconfig := env.Reader(t, "no-secrets-"+ns, "configmaps,services,deployments.apps,horizontalpodautoscalers.autoscaling")

	code, out, _ := run(t, "scan", "--kubeconfig", kubeconfig, "-n", ns, "--source", shop, "-o", "json")
	r := decodeReport(t, out)
	if code != ExitError {
		t.Errorf("exit %d, want %d", code, ExitError)
	}
	if len(r.Errors) != 1 || r.Errors[0].Object != "Secret "+ns+"/api-credentials" || !strings.Contains(r.Errors[0].Message, "forbidden") {
		t.Errorf("errors = %+v, want one for the Secret, saying forbidden", r.Errors)
	}
	if r.Summary.Objects != 8 || r.Summary.InSync != 8 || r.Clusters[0].Status != "ok" {
		t.Errorf("summary %+v, clusters %+v: want the 8 other objects scanned and in sync", r.Summary, r.Clusters)
	}
}

// TestReadOnlyEmptyListsAreNotDrift: a declared empty list that the server
// stores as null (a Role's rules: []) is no drift in the local comparison
// a read-only identity gets, as it is none in the server's dry-run.
func TestReadOnlyEmptyListsAreNotDrift(t *testing.T) {
	ns := env.Namespace(t)
	src := writeTemp(t, "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: nothing-yet\nrules: []\n")
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", src)
	if got := env.Kubectl(t, "", "-n", ns, "get", "role", "nothing-yet", "-o", "jsonpath={.rules}"); got != "" && got != "null" {
		t.Fatalf("the server stored rules %q; this test needs them stored as null", got)
	}
	env.Kubectl(t, "", "apply", "-f", "../../docs/rbac/scan.yaml")
	user := "reader-" + ns
	env.Kubectl(t, "", "create", "clusterrolebinding", user, "--clusterrole=plumb-scan", "--user="+user)
	kubeconfig := env.User(t, user)
	if code, out, stderr := run(t, "scan", "--kubeconfig", kubeconfig, "-n", ns, "--source", src, "-o", "json"); code != ExitInSync {
		t.Errorf("scan as a reader: exit %d, want in sync\n%s\n%s", code, out, stderr)
	}
}
