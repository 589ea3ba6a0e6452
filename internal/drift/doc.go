// Package drift compares declared objects with a live cluster and explains
// every difference: what changed, how, who did it, and when.
//
// # How an object is compared
//
// For each declared object the engine lists the live object (one paged LIST
// per kind and namespace, never one GET per object) and then:
//
//  1. Finds the deployer from what it applied, never from a manager's
//     name (chooseDeployer): the main-resource managedFields entry that
//     owns kubectl's last-applied-configuration annotation, else the one
//     that owns the most declared fields, then Apply over Update, then the
//     most recent. That is "kubectl" after kubectl apply --server-side,
//     "kubectl-client-side-apply" after kubectl apply, "helm" after a Helm
//     install, a GitOps controller's manager, "plumb" when nobody owns a
//     declared field.
//  2. Runs a cheap local check: every declared field already has its
//     declared value live, and (for an Apply manager) the manager owns no
//     field the source stopped declaring. If so, a dry-run cannot find a
//     change, and none is made.
//  3. Otherwise confirms with the server: a server-side apply dry-run of the
//     declared object as the deploying manager, with force, at the listed
//     resourceVersion (a conflict means the object changed; it is read again
//     and compared again). The server applies its defaults, normalises
//     quantities, runs mutating webhooks and CRD schema defaulting, and
//     drops fields the deploying manager no longer sends, exactly as a real
//     apply would. The dry-run result and the live object are compared as
//     structured-merge-diff typed values (from the server's OpenAPI), so
//     list elements are matched by their keys: a field that differs is
//     modified, one the live object lacks is removed, one only the live
//     object has is added.
//  4. Adds the fields that out-of-band managers (outOfBand: kubectl's
//     imperative commands, k9s, the Dashboard, or any manager's
//     server-side apply, when it is not the deployer) own and the source
//     does not declare: an extra env var, label or container. Server-side
//     apply keeps another manager's fields, so only managedFields reveal
//     them. Where such a field could have a server default, a dry-run
//     replace of the declaration alone says what the server would set
//     (againstDefaults): a field holding its default is not drift, one
//     changed from its default is modified (desired: the default).
//     A dry-run the server refuses for validation (the declaration no
//     longer fits the live object) falls back to the local comparison
//     and marks the finding Replace.
//  5. Drops changes the ignore rules cover (DefaultIgnoreRules, the
//     .spec.replicas of an object a HorizontalPodAutoscaler targets, and
//     the user's rules, by kind, path and manager).
//
// # Attribution
//
// A modified or added field is attributed to the managedFields entry that
// owns it live (manager, operation, subresource, time): kubectl scale shows
// as manager "kubectl" on subresource "scale", kubectl set image as
// "kubectl-set". A removed field has no owner any more, and managedFields
// keep no record of who removed it, so it is left unattributed rather than
// guessed; audit logs are the source for that.
//
// # Cache
//
// Comparisons are cached by (UID, resourceVersion, hash of the declared
// object), before ignore rules, so an object that did not change is never
// dry-run again by the same process (plumb serve keeps one cache).
//
// # Secrets
//
// Secrets are compared like any object, but every value under data or
// stringData, and kubectl's last-applied annotation, is replaced by
// "(redacted)" in changes and diffs; no value is logged or stored. A
// Secret declared without values (plumb snapshot writes them so; see
// DataHashAnnotation) is compared by the hash and keys its annotations
// hold: a changed value is .data modified, a key added or removed is named,
// and the rest of the Secret is compared as usual (IsValueless).
//
// It must not change a cluster (its only requests are reads and dry-runs),
// print, or keep history, and what it reports never holds a Secret's
// values: they are masked before a Finding leaves the package.
package drift
