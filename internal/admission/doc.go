// Package admission is plumb serve's validating admission webhook: drift
// prevention. The API server sends it each UPDATE, PATCH (an UPDATE to
// admission) and DELETE of the kinds the sources declare; it denies (or, in
// warn mode, warns about) a write that would change a field a source
// declares, unless plumb itself, the object's declared deployer or an
// exempt user makes it, or the object carries the break-glass annotation.
// Decisions come from the watchers' declarations in memory: a review
// makes no request to any API server.
//
// It also makes the webhook's serving certificate and keeps the
// ValidatingWebhookConfiguration named plumb current on each cluster
// (Registration).
//
// It must not decide about objects or fields no source declares, block a
// cluster when plumb is down (the configuration's failurePolicy is
// Ignore), or put a Secret's values in a message.
package admission
