// Package server is plumb serve's HTTP face: a JSON API under /api/v1
// (clusters, current findings, one finding, event history, a Server-Sent
// Events stream of finding changes, and its OpenAPI document), Prometheus
// metrics at /metrics, and /healthz and /readyz.
//
// It listens on loopback by default. Listening anywhere else requires a
// bearer token, checked on every request but the health probes. Errors are
// JSON: {"code": 404, "reason": "NotFound", "message": "..."}.
//
// It must not compare, store or remediate by itself: it reads the store and
// calls the remediation queue it is given. It answers only for the
// hosts it serves, needs the token when one is set, and refuses
// cross-origin writes.
package server
