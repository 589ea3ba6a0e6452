package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// TestDashboardSkew opens the Skew page in headless Chromium for a fleet of
// two real API servers bound to the same source: the field where one
// cluster drifted is a row, with each cluster's value, the drifted one and
// the one as declared; grouping by a label the clusters share keeps them
// together, and by one they do not share leaves nothing to compare.
func TestDashboardSkew(t *testing.T) {
	cfg, ns := skewedFleet(t)
	base, _ := startServe(t, "-c", cfg, "--store", filepath.Join(t.TempDir(), "plumb.db"))
	testwait.For(t, 10*time.Second, "the drift in prod-us", func() bool { return len(findingsOf(t, base)) == 1 })
	ctx := browser(t)

	row := `tr[data-object="Deployment/` + ns + `/web"][data-path=".spec.replicas"]`
	do(t, ctx, 10*time.Second, "skew page", chromedp.Navigate(base+"/#/skew?groupBy=env"), chromedp.WaitVisible(chromedp.CSS(row)))
	eu, us := text(t, ctx, row+` td[data-cluster="prod-eu"]`), text(t, ctx, row+` td[data-cluster="prod-us"]`)
	if eu != "2" || us != "5" {
		t.Errorf("web's replicas: prod-eu %q, prod-us %q; want 2 (as declared) and 5 (drifted)", eu, us)
	}
	if n := strings.Count(pageText(ctx), ".spec.replicas"); n != 1 {
		t.Errorf("%d rows of .spec.replicas, want 1:\n%s", n, pageText(ctx))
	}
	screenshot(t, ctx, "skew")

	do(t, ctx, 10*time.Second, "skew by region", chromedp.Navigate(base+"/#/skew?groupBy=region"), chromedp.WaitVisible(chromedp.ID("no-groups")))
	if msg := text(t, ctx, "#no-groups"); !strings.Contains(msg, "no value of region has two") {
		t.Errorf("skew by region: %q", msg)
	}
}

// skewedFleet is a fleet of two real API servers, prod-eu (the package's)
// and prod-us (one started for the test), bound to the shop in one
// namespace, with web scaled by hand on prod-us; it returns the
// configuration's path and the namespace.
func skewedFleet(t *testing.T) (cfg, ns string) {
	t.Helper()
	other, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Stop() })
	ns = env.Namespace(t)
	other.Kubectl(t, "", "create", "namespace", ns)
	for _, e := range []*testcluster.Env{env, other} {
		e.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	}
	other.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	cfg = writeTemp(t, `apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: prod-eu, kubeconfig: `+env.Kubeconfig+`, context: `+env.Context+`, labels: {env: prod, region: eu}}
  - {name: prod-us, kubeconfig: `+other.Kubeconfig+`, context: `+other.Context+`, labels: {env: prod, region: us}}
sources:
  - {name: shop, path: `+mustAbs(t, shop)+`, namespace: `+ns+`}
bindings:
  - {source: shop, clusters: {}}
`)
	return cfg, ns
}
