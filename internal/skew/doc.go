// Package skew finds where clusters that should match do not: for each
// object a source declares on several clusters of a group, the fields whose
// live values differ between them. A difference that the per-cluster values
// explain (each cluster is as its own rendering declares) is not skew; a
// difference where some cluster drifted from its declaration is. An object
// missing from some clusters of the group is skew too ("one cluster lost
// its NetworkPolicy").
//
// It must not contact clusters: it compares the scan results it is given.
package skew
