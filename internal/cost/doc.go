// Package cost says what drift costs: how many more (or fewer) resources a
// drifted workload asks for live than it was declared to ask for.
//
// Delta compares the requests of a workload's pods times its replicas,
// desired against live: a StatefulSet declared with 3 replicas of 300m
// CPU and 1Gi memory and scaled to 5 has a delta of {"cpu": "600m",
// "memory": "2Gi"}. A pod's requests follow Kubernetes' effective-request
// rules: the sum of its containers and sidecars (init containers with
// restartPolicy Always), or the largest plain init container when that
// is more; a container with a limit and no request requests its limit.
// A DaemonSet's delta is per node (plumb does not know how many nodes
// run it); a Job's and a CronJob's are per parallel pod.
//
// Totals add deltas up per cluster and for the fleet, and Pricing turns
// them into a monthly estimate. The package reads objects only; it knows
// nothing of clusters, stores or servers.
package cost
