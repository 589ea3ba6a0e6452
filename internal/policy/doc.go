// Package policy holds plumb's guardrails against catastrophic changes:
// given what a change does to each object (create, update or delete, with
// the object before and after), its rules say which changes are denied and
// which only warned about, and how many objects each one takes with it.
//
// The built-in rules (Builtins) are on by default, each with a name that
// turns it off: deleting a CustomResourceDefinition, a Namespace, a
// PersistentVolumeClaim or a PersistentVolume; scaling a workload to 0;
// changing a field the server will not change in place (a selector, a
// StatefulSet's volumeClaimTemplates); removing every resource request and
// limit of a container; RBAC that grants every verb or resource or binds
// cluster-admin; exposing a Service as LoadBalancer or NodePort; and
// privileged or hostPath pods.
//
// It must not read sources or contact a cluster: callers hand it the
// changes, and, where a rule counts what a change takes along (a
// Namespace's objects, a CRD's custom resources), a Counter that does.
package policy
