// Package cluster is plumb's connection to one Kubernetes API server: the
// kubeconfig context it is named after, a cached discovery client and
// RESTMapper, a dynamic client tuned for bulk reads, and the OpenAPI schemas
// that let plumb compare objects the way server-side apply does.
//
// Discovery and OpenAPI documents are cached on disk the way kubectl caches
// them (under --cache-dir, ~/.kube/cache by default), so a repeated scan does
// not download them again; a kind the cache does not know yet triggers one
// refresh before it is reported as unknown (a CRD installed a moment ago).
//
// Schemas are fetched per group-version, only for the groups plumb needs,
// from the OpenAPI v3 endpoint that every supported Kubernetes version serves.
//
// It must not judge drift or write objects: it connects, reads, and
// describes schemas (see QuantityType); comparing is package drift's.
package cluster
