// Package audit answers "which person made this change": it receives the
// Kubernetes API server's audit events through the audit webhook backend
// (audit.k8s.io/v1 EventList, POSTed in batches) and remembers, per
// object, the recent writes: user, groups, user agent, source IPs, the
// field manager the request wrote as, and when. Drift attribution then
// matches a change's field manager and time (from managedFields) with the
// write that made it (Index.Who).
//
// Only completed, successful writes (create, update, patch, delete) with an
// object are kept, at most MaxPerObject per object and for MaxAge. No
// request or response body is read or kept, whatever the audit policy's
// level, so a Secret's values never reach plumb through here.
//
// It must not judge drift or write to a cluster: it keeps who did what, and
// package drift and plumb serve ask it.
package audit
