// Package config reads plumb.yaml, plumb's configuration file: the fleet's
// clusters and their labels, the sources of desired state, the bindings that
// put sources on clusters (with per-cluster Helm values), ignore rules,
// guardrails and the store. docs/config.md is the user's reference.
//
// Config is an API: decoding is strict (an unknown field is an error that
// names the file and line), there is one defaulting step (Load resolves
// relative paths against the file's folder, a cluster's context defaults to
// its name, its kubeconfig to $KUBECONFIG or ~/.kube/config), and one
// Validate, which collects every problem with its line rather than stopping
// at the first.
//
// It must not contact a cluster or load sources: it reads, defaults and
// validates the file, naming the file and line of every mistake; packages
// fleet and cli act on it.
package config
