//go:build tools

// Package k8s exists so that `go mod tidy` keeps the Kubernetes commands the
// test control plane is built from.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
