// Package deploytest tests how plumb is deployed: the Helm chart in
// charts/plumb, rendered and linted with the Helm SDK as `helm template`
// and `helm lint` do (no helm binary), its output applied to a real
// kube-apiserver, and plumb serve run under the chart's RBAC and with the
// chart's arguments and files.
//
// Nothing here is built into plumb: the package holds only tests. The pod
// is played by the test process: podFiles lays out the ConfigMaps and
// Secrets the Deployment mounts under a temporary root, as the kubelet
// does (..data links included), and rewrites the container's arguments to
// point there; plumb serve then runs in-process with --as the chart's
// service account, so every API request is authorised by the chart's
// ClusterRole.
//
// The image that `make image` builds is tested with its tool, in hack/image.
package deploytest
