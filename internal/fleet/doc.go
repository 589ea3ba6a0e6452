// Package fleet scans many clusters from one configuration: it works out
// which sources each cluster gets (bindings select clusters by label and
// may give per-cluster Helm values, rendered from the cluster's name and
// labels), then scans the clusters in parallel, each within its own
// timeout, so that one unreachable, forbidden or slow cluster is reported
// with its error while the others are scanned in full.
//
// One cluster named on the command line (kubectl's flags and --source) is
// a fleet of one (One): scan, diff, skew, serve and the agent set it up
// and scan it by the same path as a configuration's clusters.
//
// It must not compare objects (package drift does) or watch clusters
// (package watch does); it decides which sources go to which cluster and
// runs the per-cluster scans side by side. A cluster no binding selects is
// never contacted.
package fleet
