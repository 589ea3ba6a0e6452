// Package fleet scans many clusters from one configuration: it works out
// which sources each cluster gets (bindings select clusters by label and
// may give per-cluster Helm values, rendered from the cluster's name and
// labels), then scans the clusters in parallel, each within its own
// timeout, so that one unreachable, forbidden or slow cluster is reported
// with its error while the others are scanned in full.
//
// It must not compare objects (package drift does) or watch clusters
// (package watch does); it decides which sources go to which cluster and
// runs the per-cluster scans side by side. A cluster no binding selects is
// never contacted.
package fleet
