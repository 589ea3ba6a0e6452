package cost

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func list(cpu, memory string) corev1.ResourceList {
	l := corev1.ResourceList{}
	if cpu != "" {
		l[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		l[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	return l
}

func TestTotals(t *testing.T) {
	items := []Item{
		{Cluster: "prod", Delta: list("600m", "2Gi")},
		{Cluster: "prod", Delta: list("-100m", "")},
		{Cluster: "dev", Delta: list("", "512Mi")},
		{Cluster: "dev"}, // drifted, same requests: not counted
	}
	clusters, fleet := Totals(items, Pricing{CPUCoreHour: 0.04, MemoryGiBHour: 0.005})
	got, err := json.Marshal(map[string]any{"clusters": clusters, "fleet": fleet})
	if err != nil {
		t.Fatal(err)
	}
	// prod: 0.5 core × 0.04 + 2 GiB × 0.005 = 0.03 an hour, 21.90 a month;
	// dev: 0.5 GiB × 0.005 × 730 = 1.825, rounded to the cent.
	want := `{"clusters":[` +
		`{"cluster":"dev","workloads":1,"resourceDelta":{"memory":"512Mi"},"monthly":1.83},` +
		`{"cluster":"prod","workloads":2,"resourceDelta":{"cpu":"500m","memory":"2Gi"},"monthly":21.9}],` +
		`"fleet":{"workloads":3,"resourceDelta":{"cpu":"500m","memory":"2560Mi"},"monthly":23.73}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Totals (-want +got):\n%s", diff)
	}

	clusters, fleet = Totals(items, Pricing{})
	if fleet.Monthly != nil || clusters[0].Monthly != nil {
		t.Errorf("Totals without prices gave a monthly estimate: fleet %v, %s %v", fleet.Monthly, clusters[0].Cluster, clusters[0].Monthly)
	}
}
