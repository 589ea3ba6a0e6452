package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"plumb.dev/plumb/internal/testwait"
)

// helmUpgrade upgrades a release to chartDir with vals, as `helm upgrade`.
func helmUpgrade(t *testing.T, driver, chartDir, release, ns string, vals map[string]any) {
	t.Helper()
	up := action.NewUpgrade(helmConfig(t, ns, driver))
	up.Namespace, up.WaitStrategy, up.ServerSideApply = ns, kube.HookOnlyStrategy, "auto"
	// As helm upgrade --force-conflicts: the release takes back what kubectl changed.
	up.ForceConflicts = true
	if _, err := up.RunWithContext(context.Background(), release, loadChart(t, chartDir), vals); err != nil {
		t.Fatalf("helm upgrade %s: %v", release, err)
	}
}

// TestHelmReleaseSource: a release installed with the Helm SDK is a source
// as it is: in sync right after the install, a change made with kubectl is
// drift named after the release, its revision and template, a helm upgrade
// moves the desired state, the ConfigMap storage driver works too, and a
// release that does not exist is an error naming it.
func TestHelmReleaseSource(t *testing.T) {
	chart := filepath.Join(realWorld, "podinfo/charts/podinfo")
	ns := env.Namespace(t)
	helmInstall(t, chart, "podinfo", ns, true, map[string]any{"replicaCount": 3})
	src := "helm:" + ns + "/podinfo"
	requireInSync(t, ns, "--source", src)

	env.Kubectl(t, "", "-n", ns, "scale", "deployment/podinfo", "--replicas=5")
	code, r, stderr := scanJSON(t, ns, "--source", src)
	if code != ExitDrift || len(r.Findings) != 1 || r.Findings[0].Changes[0].Path != ".spec.replicas" {
		t.Fatalf("after kubectl scale: exit %d, findings %+v\n%s", code, r.Findings, stderr)
	}
	origin := r.Findings[0].Source
	if origin == nil || origin.Release != ns+"/podinfo" || origin.Revision != 1 || origin.Path != "podinfo/templates/deployment.yaml" || origin.Chart == "" || origin.Line == 0 {
		t.Fatalf("finding's source = %+v; want release %s/podinfo revision 1, template podinfo/templates/deployment.yaml, a chart and a line", origin, ns)
	}
	if want := "helm:" + ns + "/podinfo@1:podinfo/templates/deployment.yaml:"; !strings.HasPrefix(origin.String(), want) {
		t.Errorf("provenance %q, want it to start with %q", origin.String(), want)
	}
	_, text, _ := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", src)
	if !strings.Contains(text, "\thelm:"+ns+"/podinfo@1:podinfo/templates/deployment.yaml:") {
		t.Errorf("plumb diff does not name the release, revision and template:\n%s", text)
	}

	// The team makes the change official with helm upgrade: in sync again.
	helmUpgrade(t, "secret", chart, "podinfo", ns, map[string]any{"replicaCount": 5})
	requireInSync(t, ns, "--source", src)

	// Helm's ConfigMap storage.
	helmInstallWith(t, "configmap", chart, "cm", ns, true, map[string]any{"replicaCount": 2})
	requireInSync(t, ns, "--source", src, "--source", "helm:"+ns+"/cm?driver=configmap")

	// Bad input: a release that does not exist, one that is in the other
	// storage, a malformed reference. The rest is still compared.
	for spec, want := range map[string]string{
		"helm:" + ns + "/nope":                `no release "nope" in namespace ` + ns,
		"helm:" + ns + "/cm":                  `no release "cm" in namespace ` + ns + " (Helm storage: secrets)",
		"helm:" + ns + "/podinfo?driver=etcd": `unsupported Helm storage driver "etcd"`,
		"helm:" + ns:                          "want helm:NAMESPACE/NAME",
	} {
		code, r, stderr := scanJSON(t, ns, "--source", spec, "--source", src)
		if code != ExitError || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, want) {
			t.Errorf("--source %s: exit %d, errors %+v; want exit 2 and one error saying %q\n%s", spec, code, r.Errors, want, stderr)
		}
		if r.Summary.Objects == 0 {
			t.Errorf("--source %s: the good source was not compared: %+v", spec, r.Summary)
		}
	}
}

// TestServeFollowsHelmUpgrades: plumb serve watching a release picks up a
// helm upgrade without a restart, soon after Helm writes its storage (not
// at the next --git-interval), and its findings name the revision they were
// compared with.
func TestServeFollowsHelmUpgrades(t *testing.T) {
	chart := filepath.Join(realWorld, "podinfo/charts/podinfo")
	ns := env.Namespace(t)
	helmInstall(t, chart, "podinfo", ns, true, map[string]any{"replicaCount": 3})
	base, stop := startServe(t, "-v", "2", "-n", ns, "--source", "helm:"+ns+"/podinfo", "--git-interval", "1h")
	defer stop()

	env.Kubectl(t, "", "-n", ns, "scale", "deployment/podinfo", "--replicas=5")
	testwait.For(t, 10*time.Second, "the scale is drift", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Source != nil && fs[0].Source.Revision == 1
	})

	// helm upgrade --force-conflicts to 4 replicas takes the field back;
	// a later scale is drift from revision 2's 4 replicas.
	helmUpgrade(t, "secret", chart, "podinfo", ns, map[string]any{"replicaCount": 4})
	testwait.For(t, 10*time.Second, "the upgrade resolves the finding", func() bool { return len(findingsOf(t, base)) == 0 })
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/podinfo", "--replicas=6")
	testwait.For(t, 10*time.Second, "the scale is drift from revision 2", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Source != nil && fs[0].Source.Revision == 2 &&
			len(fs[0].Changes) == 1 && fmt.Sprint(fs[0].Changes[0].Desired) == "4"
	})
}
