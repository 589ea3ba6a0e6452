package cli

import (
	"context"
	"path/filepath"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// helmConfig is the Helm SDK's configuration for namespace ns of the test
// cluster, with Helm's storage driver ("secret" or "configmap").
func helmConfig(t *testing.T, ns, driver string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &env.Kubeconfig, &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, ns, driver); err != nil {
		t.Fatalf("helm init: %v", err)
	}
	return cfg
}

// loadChart loads a chart directory with the Helm SDK.
func loadChart(t *testing.T, dir string) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatalf("load chart %s: %v", dir, err)
	}
	return ch
}

// helmInstall installs a chart the way the helm CLI does, with the Helm SDK.
func helmInstall(t *testing.T, chartDir, release, ns string, serverSide bool, vals map[string]any) {
	t.Helper()
	helmInstallWith(t, "secret", chartDir, release, ns, serverSide, vals)
}

// helmInstallWith installs with a storage driver.
func helmInstallWith(t *testing.T, driver, chartDir, release, ns string, serverSide bool, vals map[string]any) {
	t.Helper()
	cfg := helmConfig(t, ns, driver)
	ch := loadChart(t, chartDir)
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace = release, ns
	inst.ServerSideApply = serverSide
	inst.WaitStrategy = kube.HookOnlyStrategy
	if _, err := inst.RunWithContext(context.Background(), ch, vals); err != nil {
		t.Fatalf("helm install %s: %v", chartDir, err)
	}
}

// TestHelmInstalledChartHasNoFalsePositives installs podinfo's chart with
// Helm (server-side apply, Helm 4's default, and client-side, Helm 3's way)
// and scans it from the same chart and values.
func TestHelmInstalledChartHasNoFalsePositives(t *testing.T) {
	chart := filepath.Join(realWorld, "podinfo/charts/podinfo")
	for _, tt := range []struct {
		name       string
		serverSide bool
	}{{"server-side", true}, {"client-side", false}} {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			helmInstall(t, chart, "podinfo", ns, tt.serverSide, map[string]any{"replicaCount": 3})
			requireInSync(t, ns, "--source", chart, "--release-name", "podinfo", "--set", "replicaCount=3")

			// A value the install did not use is drift, found on the right field.
			code, r, _ := scanJSON(t, ns, "--source", chart, "--release-name", "podinfo")
			if code != ExitDrift || len(r.Findings) != 1 || len(r.Findings[0].Changes) != 1 || r.Findings[0].Changes[0].Path != ".spec.replicas" {
				t.Errorf("scan without the install's --set: exit %d, findings %+v; want one change at .spec.replicas", code, r.Findings)
			}
		})
	}
}
