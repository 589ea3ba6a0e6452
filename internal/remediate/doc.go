// Package remediate puts drift back, safely, for plumb fix and plumb serve
// alike: planning, risk, guardrails, the conflict-safe apply, undo and the
// record of each run are here and nowhere else. Its subpackage queue is
// serve's side: when to plan and apply (approval queue, auto mode, fight
// detection), never how. This package must not watch clusters or keep
// state between calls; it reads the cluster only through drift.Engine, and
// it is the only package that writes to a cluster (write.go).
//
// Every command carries a remediation through one lifecycle, Runner: plan,
// refuse what the guardrails refuse, confirm, apply, record the run and
// say what became of it (store.RunOutcome). plumb fix, serve's remediation queue and
// undo API and plumb agent use it alike, so they record the same runs and
// refuse the same things (an undo of a run already undone, say).
//
// It turns findings into a plan:
// per object, what will change, field by field, with a risk level. Fields
// an out-of-band manager added (an extra env var, label or container) are
// left in place, as kubectl apply leaves the fields it does not own, unless
// Options.RemoveAdded; the plan lists them (Plan.LeftInPlace), because the
// object still differs from its declaration afterwards and a scan says so.
// The guardrails decide whether the plan may be applied at all. Any refusal
// refuses the whole plan, so nothing is half-applied. The refusal names the
// guardrail and the object.
//
// Applying is conflict-safe:
//   - An object is written only at the resourceVersion it was planned at.
//     If it changed since, it is compared again, and it is written only if
//     the new comparison asks for exactly the planned changes. Otherwise it
//     is left alone and reported, so that the person who approved the plan
//     can look again.
//   - Drifted objects are server-side applied as their deploying field
//     manager, first without force. Force is used only when every conflict
//     the server reports is on a field the plan changes, or a forced
//     dry-run leaves the value of every other conflicting field as it is
//     (a partly declared atomic struct the server completes), so values
//     other managers own that the plan does not touch are never changed.
//   - Missing objects are created by server-side apply.
//
// Guardrails bind every plan: a plan any of them refuses is not applied at
// all. AutoLimits bind, on top, what is applied with nobody in the loop
// (serve's auto mode, Mode): a plan beyond them waits for approval.
//
// Risk levels (the highest change decides an object's):
//   - critical: deleting anything, scaling to 0, removing a container,
//     changing a Service selector, any ClusterRole or ClusterRoleBinding
//     change;
//   - high: images, commands and arguments, security contexts, RBAC rules;
//   - medium: resources, env, replicas, and any field not listed here;
//   - low: labels and annotations.
package remediate
