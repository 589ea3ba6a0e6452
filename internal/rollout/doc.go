// Package rollout fixes a fleet in waves, as plumb.yaml's rollout section
// orders them: the clusters of one wave (canary first) are fixed, at most
// MaxParallel at a time; then the wave bakes, its clusters rescanned until
// Bake has passed; the next wave starts only if every cluster of the wave
// was fixed and no new drift appeared in them meanwhile. A rollout that
// stops says why, and which waves are left for a resume.
//
// It decides the order and when to stop, never how a cluster is fixed or
// scanned: the caller's Fleet does that (plumb fix -c, serve's auto mode).
package rollout
