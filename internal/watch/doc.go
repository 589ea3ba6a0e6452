// Package watch keeps one cluster's findings current as the cluster
// changes: it watches the kinds the sources declare and re-diffs an object
// from the watch event that changed it, in well under a second.
//
// Each (resource, namespace) the sources touch has a client-go Reflector
// (list, then watch; relist on 410 Gone; retry with backoff while the API
// server is away) feeding a store that keeps no objects: an event only
// queues the object's key with its newest version, a worker compares it
// with the drift engine (whose cache makes an unchanged object free), and
// the outcome goes to the history store and to subscribers. Memory per
// tracked object is a key and a resourceVersion, not the object.
//
// With Options.Unmanaged, every other namespaced kind the cluster serves
// is watched metadata-only in the same namespaces, for objects no source
// declares: one watch per namespace and kind, or, beyond
// Options.UnmanagedClusterWideAfter namespaces, one per kind for the whole
// cluster whose objects outside those namespaces are dropped on arrival.
// Reported objects are remembered by resource and namespace, whichever
// watch saw them, so switching between the two resolves nothing.
// Discovery is read again whenever a CustomResourceDefinition changes (a
// metadata-only watch of them) and at each resync, so a kind installed
// meanwhile is covered at once.
//
// A periodic resync (default 10 minutes) rescans everything through the
// engine's cache as a safety net; it costs the LIST requests and no
// dry-runs for objects that did not change.
//
// The package does not decide what drift is (package drift does), store
// history itself (it writes through Store) or remediate (package
// remediate's serve side listens to its events).
//
// Where things are:
//   - watch.go: the Watcher, its options, status and readiness, Start;
//   - listwatch.go: one reflector per group, with paged lists and the
//     reachability it reports;
//   - eventstore.go: the reflector's store, which queues keys, keeps no
//     objects, and finds what a full list lacked;
//   - worker.go: the work queue and the workers that compare and record;
//   - reload.go: resolving declarations to resources, restoring open
//     findings from the store at start, and reloading changed sources;
//   - unmanaged.go and kinds.go: metadata-only watches of undeclared kinds,
//     and the discovery (and CRD watch) that says which kinds exist;
//   - resync.go: the periodic safety-net rescan.
package watch
