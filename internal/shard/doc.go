// Package shard splits a fleet's clusters among the replicas of plumb serve
// with coordination.k8s.io Leases in the cluster they run in: Kubernetes is
// the distributed engine, plumb does not invent one.
//
// Each replica keeps a membership Lease (plumb-replica-IDENTITY) renewed.
// Each fleet cluster has a Lease (plumb-cluster-NAME) whose holder is the
// one replica that watches it. The replica meant to hold a cluster is
// chosen by rendezvous hashing over the live replicas, so every replica
// works it out alike, the clusters spread evenly, and when a replica joins
// or leaves only its share moves. A replica takes a cluster's Lease only
// when it is free or expired (an update at the Lease's resourceVersion:
// two replicas never both win), gives a cluster back when another live
// replica is meant to hold it, and stops watching a cluster once it has
// failed to renew its Lease for RenewDeadline, before the Lease can expire
// and be taken. A replica that dies stops renewing: its membership and its
// clusters' Leases expire after LeaseDuration and the others take them.
//
// It must not watch clusters or touch the store itself: it tells its
// caller when to start and stop watching a cluster, and carries each
// cluster's status (an opaque string from its holder) on its Lease so that
// any replica can answer for the whole fleet.
package shard
