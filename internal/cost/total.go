package cost

import (
	"math"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// HoursPerMonth is the month a monthly estimate covers: 365 × 24 / 12.
const HoursPerMonth = 730

// Pricing is what a unit of requested resources costs, per hour.
type Pricing struct {
	// CPUCoreHour is the price of one CPU core for an hour.
	CPUCoreHour float64 `json:"cpuCoreHour" yaml:"cpuCoreHour"`
	// MemoryGiBHour is the price of 1 GiB of memory for an hour.
	MemoryGiBHour float64 `json:"memoryGiBHour" yaml:"memoryGiBHour"`
}

// Set reports whether any price is given.
func (p Pricing) Set() bool { return p.CPUCoreHour != 0 || p.MemoryGiBHour != 0 }

// Monthly is what delta costs in a month at these prices, rounded to the
// cent; negative when drift asks for less than was declared.
func (p Pricing) Monthly(delta corev1.ResourceList) float64 {
	var hour float64
	if q, ok := delta[corev1.ResourceCPU]; ok {
		hour += float64(q.MilliValue()) / 1000 * p.CPUCoreHour
	}
	if q, ok := delta[corev1.ResourceMemory]; ok {
		hour += float64(q.Value()) / (1 << 30) * p.MemoryGiBHour
	}
	return math.Round(hour*HoursPerMonth*100) / 100
}

// Total is the drift of some workloads added up.
type Total struct {
	// Cluster is the cluster's name; empty for the fleet.
	Cluster string `json:"cluster,omitempty"`
	// Workloads counts the drifted workloads whose requests differ.
	Workloads int `json:"workloads"`
	// ResourceDelta is their deltas added up; empty when none differ.
	ResourceDelta corev1.ResourceList `json:"resourceDelta"`
	// Monthly is the estimate at the configured prices; absent without
	// prices.
	Monthly *float64 `json:"monthly,omitempty"`
}

// Item is one workload's delta, as Totals reads it.
type Item struct {
	Cluster string
	Delta   corev1.ResourceList
}

// Totals adds items up per cluster (sorted by name) and for the fleet;
// the monthly estimates are set when p has prices.
func Totals(items []Item, p Pricing) (clusters []Total, fleet Total) {
	by := map[string]*Total{}
	fleet.ResourceDelta = corev1.ResourceList{}
	for _, it := range items {
		if len(it.Delta) == 0 {
			continue
		}
		t, ok := by[it.Cluster]
		if !ok {
			t = &Total{Cluster: it.Cluster, ResourceDelta: corev1.ResourceList{}}
			by[it.Cluster] = t
		}
		t.Workloads++
		fleet.Workloads++
		add(t.ResourceDelta, it.Delta)
		add(fleet.ResourceDelta, it.Delta)
	}
	clusters = []Total{}
	for _, t := range by {
		clusters = append(clusters, *t)
	}
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Cluster < clusters[j].Cluster })
	if p.Set() {
		for i := range clusters {
			m := p.Monthly(clusters[i].ResourceDelta)
			clusters[i].Monthly = &m
		}
		m := p.Monthly(fleet.ResourceDelta)
		fleet.Monthly = &m
	}
	return clusters, fleet
}
