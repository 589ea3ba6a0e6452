// Package metrics defines the Prometheus metrics of plumb serve, on a
// registry of its own (never the global one). API requests are counted at
// each cluster's HTTP transport (see Transport), so every request plumb
// makes is counted, by cluster, verb and code, whatever else in the process
// hooks client-go.
//
// It must not use Prometheus' global registry or label a metric with an
// unbounded value such as an object's name.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are plumb serve's collectors.
type Metrics struct {
	Registry *prometheus.Registry
	// Findings counts current findings by cluster, kind and state.
	Findings *prometheus.GaugeVec
	// Detection is the time from a watch event's arrival to its finding
	// being stored.
	Detection prometheus.Histogram
	// WatchStarts counts watches started per cluster; beyond the first per
	// resource, each is a restart.
	WatchStarts *prometheus.CounterVec
	// APIRequests counts API requests by verb and response code.
	APIRequests *prometheus.CounterVec
	// StoreWrite is the latency of a history store write.
	StoreWrite prometheus.Histogram
	// DryRuns and CacheHits count the drift engines' work per cluster.
	DryRuns, CacheHits *prometheus.GaugeVec
	// Notifications counts notifications by outcome (sent, failed, dropped).
	Notifications *prometheus.CounterVec
	// Remediations counts serve's remediation attempts by cluster, mode
	// (auto, approve) and outcome.
	Remediations *prometheus.CounterVec
	// Fighting is the number of objects automatic remediation stopped
	// fixing because something keeps changing them back.
	Fighting *prometheus.GaugeVec
	// Admissions counts admission reviews by cluster and decision
	// (allowed, denied, warned, break-glass), and AdmissionLatency is how
	// long each took to decide.
	Admissions       *prometheus.CounterVec
	AdmissionLatency prometheus.Histogram
	// SourceReads counts readings of remote sources' versions by cluster
	// and outcome.
	SourceReads *prometheus.CounterVec
	// SourceErrors is the number of errors in the last load of a
	// cluster's sources, and SourceKept the declarations that load kept
	// from an earlier one because of them.
	SourceErrors, SourceKept *prometheus.GaugeVec
}

// New registers plumb's metrics, plus the Go runtime and process ones.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_findings",
			Help: "Objects that are not as declared, by cluster, kind and state."}, []string{"cluster", "kind", "state"}),
		Detection: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plumb_detection_latency_seconds",
			Help:    "Time from a watch event's arrival to its finding being stored.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		WatchStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_watch_starts_total",
			Help: "Watches started; beyond one per watched resource, each is a restart."}, []string{"cluster"}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_api_requests_total",
			Help: "Kubernetes API requests made by plumb, by cluster, verb and response code; watches count once, when they start."}, []string{"cluster", "verb", "code"}),
		StoreWrite: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plumb_store_write_seconds",
			Help: "Latency of history store writes.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		DryRuns: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_dry_runs",
			Help: "Server-side apply dry-runs sent since start, by cluster."}, []string{"cluster"}),
		CacheHits: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_comparison_cache_hits",
			Help: "Comparisons reused from the cache since start, by cluster."}, []string{"cluster"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_notifications_total",
			Help: "Notifications by sink and outcome."}, []string{"sink", "outcome"}),
		Remediations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_remediations_total",
			Help: "Objects plumb serve put back or tried to, by cluster, mode and outcome."}, []string{"cluster", "mode", "outcome"}),
		Fighting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_remediation_fighting",
			Help: "Objects automatic remediation stopped fixing because another manager keeps changing them, by cluster."}, []string{"cluster"}),
		Admissions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_admission_reviews_total",
			Help: "Admission reviews of writes to declared kinds, by cluster and decision (allowed, denied, warned, break-glass)."}, []string{"cluster", "decision"}),
		SourceReads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plumb_remote_source_reads_total",
			Help: "Readings of the commits of Git sources and revisions of Helm release sources, by cluster and outcome (unchanged: nothing loaded; moved: loaded again; failed)."}, []string{"cluster", "outcome"}),
		SourceErrors: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_source_errors",
			Help: "Errors in the last load of a cluster's sources (a file that does not parse, a chart that does not render), by cluster; 0 when they load cleanly."}, []string{"cluster"}),
		SourceKept: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plumb_source_declarations_kept",
			Help: "Declarations the last load of a cluster's sources could not read and kept from an earlier load, by cluster."}, []string{"cluster"}),
		AdmissionLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "plumb_admission_review_seconds",
			Help:    "Time to decide an admission review, from its arrival to the response being written.",
			Buckets: []float64{.00025, .0005, .001, .002, .003, .004, .005, .0075, .01, .025, .05, .1, .25, .5, 1, 2}}),
	}
	m.Registry.MustRegister(m.Findings, m.Detection, m.WatchStarts, m.APIRequests, m.StoreWrite, m.DryRuns, m.CacheHits, m.Notifications, m.Remediations, m.Fighting, m.SourceReads,
		m.Admissions, m.AdmissionLatency, m.SourceErrors, m.SourceKept,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Transport wraps a cluster's HTTP transport to count its requests.
func (m *Metrics) Transport(cluster string) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			code := "error"
			if err == nil {
				code = strconv.Itoa(resp.StatusCode)
			}
			m.APIRequests.WithLabelValues(cluster, verb(r), code).Inc()
			return resp, err
		})
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// verb names a request as Kubernetes does: list and watch are GETs too.
func verb(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case q.Get("watch") == "true" || q.Get("watch") == "1":
		return "WATCH"
	case r.Method == http.MethodPatch && q.Get("dryRun") != "":
		return "PATCH (dry-run)"
	}
	return r.Method
}
