// Package snapshot writes what is live in a cluster as the clean manifests
// a person would have declared, one object per file with a
// kustomization.yaml (plumb snapshot). The folder is a baseline to scan
// against later and the start of adopting a cluster into Git.
//
// # What clean means
//
// Take lists every kind discovery serves (less the kinds nobody declares:
// events, leases, endpoints, controller revisions, node and metrics
// objects…) and leaves out objects the cluster made itself, by the rule
// plumb scan --unmanaged uses (drift.MadeByCluster): anything with a
// controller owner (ReplicaSets of Deployments, their Pods), the
// kube-root-ca.crt ConfigMap and default ServiceAccount of each namespace,
// service account tokens, Helm release records, what kube-apiserver makes
// at start (bootstrap RBAC, system namespaces, …); and objects that only
// the cluster's own field managers (DefaultSystemManagers) ever wrote.
//
// Clean keeps, of each object, the fields that people and their tools
// declared, read from managedFields as structured-merge-diff field sets:
//
//   - an Apply entry (kubectl apply --server-side, Helm 4, plumb, Flux)
//     owns exactly what was applied: kept as it is;
//   - kubectl's client-side apply owns every field of the object it
//     created, defaults included, so its kubectl.kubernetes.io/
//     last-applied-configuration record says what was declared instead;
//   - other Update entries (kubectl create, kubectl edit, a Go client)
//     also own the defaults of the objects they created; their fields are
//     kept except those that hold the server's default (serverDefaults:
//     terminationMessagePath, dnsPolicy, revisionHistoryLimit, …), which
//     the server puts back by itself;
//   - fields only the cluster's managers own (status, the revision
//     annotation, allocated clusterIPs and nodePorts, generated Job
//     selectors) and fields nobody owns (defaults) are left out;
//   - a field owned whole (an atomic list or map, such as a StatefulSet's
//     volumeClaimTemplates) holds whatever the server wrote into it too,
//     whoever owns it: its server defaults are taken out of the value,
//     and objects embedded in it (embedded: the claims of
//     volumeClaimTemplates) lose the status, apiVersion, kind and
//     bookkeeping the server writes into them, which nobody declares.
//
// An object without managedFields gets a conservative clean: bookkeeping,
// status (an embedded object's too) and allocated values out, the rest
// kept. Bookkeeping (uid, resourceVersion, generation, creationTimestamp,
// managedFields, owner references) and kubectl's last-applied record are
// never written.
//
// # Secrets
//
// A Secret's values are never written. Its data keys and a hash of its
// data go into the annotations plumb.dev/data-keys and plumb.dev/data-hash
// (see drift.DataHashAnnotation), so plumb scan still finds a Secret whose
// data changed, and plumb fix refuses to create or change it: the values
// must come from elsewhere.
//
// # The folder
//
// Write names each object's file NAMESPACE/KIND-NAME.yaml (names.go); a
// name that is long or holds anything but lower-case letters, digits,
// '.', '-' and '_' (names of some kinds may hold newlines, escapes,
// colons) is written as a readable part and a hash of the object, and
// kustomization.yaml is written by the YAML encoder, so no name reaches a
// path or a YAML key. It writes into a new folder beside --out and
// renames it into place: a snapshot that fails leaves --out as it was.
// Beside the kustomization it writes MarkerFile, listing the files it
// wrote (marker.go). Replacing a snapshot (--force) needs the marker and
// removes only the files it lists; every other file is kept, links are
// never followed, and a file of someone else's or a link where the
// snapshot writes is refused before anything is written.
//
// This package reads the cluster and writes files; it must not change the
// cluster, and what it writes never holds a Secret's values.
package snapshot
