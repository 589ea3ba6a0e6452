package cli

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/testwait"
)

// TestCostOfDrift scales the shop's api from 2 to 5 replicas (each
// requesting its limits, 1 CPU and 256Mi) and raises web's CPU request
// from 100m to 300m (2 replicas): plumb scan -o json and serve's API give
// each finding its resourceDelta, and /api/v1/cost adds them up and prices
// them at plumb.yaml's prices.
func TestCostOfDrift(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/api", "--replicas=5")
	k("set", "resources", "deployment/web", "-c", "web", "--requests=cpu=300m")

	want := map[string]string{"api": `{"cpu":"3","memory":"768Mi"}`, "web": `{"cpu":"400m"}`}
	code, r, stderr := scanJSON(t, ns, "--source", shop)
	if code != ExitDrift {
		t.Fatalf("scan: exit %d, want 1; stderr:\n%s", code, stderr)
	}
	got := map[string]string{}
	for _, f := range r.Findings {
		if len(f.ResourceDelta) > 0 {
			got[f.Name] = mustJSON(t, f.ResourceDelta)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scan's resourceDelta by name (-want +got):\n%s", diff)
	}

	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\npricing: {cpuCoreHour: 0.04, memoryGiBHour: 0.005}\n")
	base, _ := startServe(t, "-c", cfg, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"))
	got = map[string]string{}
	for _, f := range findingsOf(t, base) {
		if len(f.ResourceDelta) > 0 {
			got[f.Name] = mustJSON(t, f.ResourceDelta)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the API's resourceDelta by name (-want +got):\n%s", diff)
	}

	var c struct {
		Items []struct {
			Name    string
			Monthly float64
		}
		Clusters []cost.Total
		Fleet    cost.Total
	}
	getJSON(t, base+"/api/v1/cost", &c)
	// 3.4 cores × 0.04 + 0.75 GiB × 0.005 = 0.13975 an hour, × 730.
	if c.Fleet.Workloads != 2 || mustJSON(t, c.Fleet.ResourceDelta) != `{"cpu":"3400m","memory":"768Mi"}` ||
		c.Fleet.Monthly == nil || *c.Fleet.Monthly != 102.02 {
		t.Errorf("fleet total %s, want 2 workloads, cpu 3400m, memory 768Mi, 102.02 a month", mustJSON(t, c.Fleet))
	}
	if len(c.Clusters) != 1 || c.Clusters[0].Workloads != 2 {
		t.Errorf("cluster totals %s, want one cluster with 2 workloads", mustJSON(t, c.Clusters))
	}

	// Scaled back, api costs nothing more: its delta goes from the API.
	k("scale", "deployment/api", "--replicas=2")
	testwait.For(t, 10*time.Second, "api's finding to resolve", func() bool {
		getJSON(t, base+"/api/v1/cost", &c)
		return c.Fleet.Workloads == 1 && len(c.Items) == 1 && c.Items[0].Name == "web"
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
