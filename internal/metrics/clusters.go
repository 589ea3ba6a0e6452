package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cluster is one cluster as plumb_cluster_ready and plumb_cluster_status
// report it.
type Cluster struct {
	Name string
	// Status is the cluster's connection status: ok, syncing,
	// unreachable, or (an agent's cluster not heard from) disconnected.
	Status string
	// Ready: the cluster's first sync is done (every watch listed, every
	// declared object compared).
	Ready bool
}

// clusterStatuses are the statuses plumb_cluster_status has a series for,
// per cluster: 1 for the current one, 0 for the others.
var clusterStatuses = []string{"ok", "syncing", "unreachable", "disconnected"}

var (
	clusterReady = prometheus.NewDesc("plumb_cluster_ready",
		"1 once the cluster's first sync is done (every watch listed, every declared object compared), else 0.", []string{"cluster"}, nil)
	clusterStatus = prometheus.NewDesc("plumb_cluster_status",
		"The cluster's connection status: 1 for the current one of ok, syncing, unreachable and disconnected (an agent not heard from), 0 for the others.", []string{"cluster", "status"}, nil)
)

// ReportClusters has /metrics report, at every scrape, each cluster
// clusters returns (those this process watches or hears from):
// plumb_cluster_ready{cluster} and plumb_cluster_status{cluster,status}.
// Call it once.
func (m *Metrics) ReportClusters(clusters func() []Cluster) {
	m.Registry.MustRegister(clusterCollector(clusters))
}

// clusterCollector reads the clusters' states when scraped, so that the
// metrics say what the API says.
type clusterCollector func() []Cluster

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterReady
	ch <- clusterStatus
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	for _, cl := range c() {
		ch <- prometheus.MustNewConstMetric(clusterReady, prometheus.GaugeValue, one(cl.Ready), cl.Name)
		for _, s := range clusterStatuses {
			ch <- prometheus.MustNewConstMetric(clusterStatus, prometheus.GaugeValue, one(cl.Status == s), cl.Name, s)
		}
	}
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
