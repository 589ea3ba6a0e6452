// Package queue is plumb serve's remediation queue: each drifted object's
// remediation, applied at once (auto mode) or held, for approval, refused,
// fighting, waiting for its rollout wave or failed, and the undo API. It is
// the serve side of package remediate and decides only when: the approval
// queue, auto mode and fight detection. Planning, risk, the
// guardrails (remediate.Guardrails, and remediate.AutoLimits for what is
// applied with nobody in the loop), the conflict-safe apply and the run
// record are package remediate's, the same code plumb fix uses; this
// package must not plan, judge risk or write to a cluster by itself.
//
// Each declared object has a mode (remediate.Mode) from the source (in a
// fleet, the binding) that declares it:
//
//   - off (the default): findings are only reported;
//   - approve: a finding gets a plan that waits, through the API, for a
//     person to approve or reject it;
//   - auto: a finding is put back at once, under the guardrails.
//
// Plans are made from the watcher's finding, without asking the cluster
// again, and applied by package remediate, conflict-safe as plumb fix is:
// an object is written only at the version that was compared, or after it
// is compared again and the plan still holds. Every plan that changed
// something, or tried to, is recorded in the store as a run.
//
// The guardrails decide, per plan, what is applied automatically, what
// waits for approval and what is refused. A plan the planner's guardrails
// refuse (a protected namespace, a risk above the approval limit) is
// refused in every mode. In auto mode a plan beyond Options.Auto (riskier
// than medium, or beyond 20 objects fixed on the cluster in the last
// minute, by default) waits for approval instead of being applied.
//
// Auto mode detects fighting: when an object drifts again after being
// fixed, FightRounds times within FightWindow (by default 3 times in 10
// minutes), something keeps changing it back, a controller or a person.
// plumb stops fixing it, keeps its finding open, and reports which
// managers made the changes. It fixes the object again only once it has
// been back in sync.
//
// Remediations that wait (pending, refused, fighting, failed) are kept in
// memory: after a restart they are made again from the first comparisons.
// Each time one enters such a state, Options.Notify hears of it, so a
// person can be told (package notify) instead of polling the API.
package queue
