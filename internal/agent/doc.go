// Package agent carries a cluster's observations from plumb agent, which
// watches a cluster the hub cannot reach, to the hub (plumb serve), over
// connections the agent opens.
//
// On the agent, Recorder stands in for the store a watcher writes to: it
// records every observation that changes a finding in a local store (the
// agent's own history, which a restart restores from) and first appends it
// to an Outbox, a journal on disk that is fsync'd before the watcher goes
// on. Shipper sends the outbox's entries to the hub in order, in batches,
// with the cluster's status; each entry has a sequence number, and the hub
// answers with the last one it applied, up to which the outbox forgets.
// When the hub is down the entries wait on disk, however long.
//
// On the hub, Receiver applies a batch through the same store.Writer as a
// watched cluster's findings, entry by entry, and keeps the last applied
// sequence number per cluster in the store, so a batch sent again after a
// lost answer applies nothing twice. It lists the agents' clusters with the
// status they sent and when they were last heard from.
//
// Fixes go the other way over the agent's own requests: a person asks the
// hub to fix some findings of an agent's cluster (Receiver.RequestFix),
// the agent's Fixer long-polls for them, applies them in its cluster with
// its own planner and guardrails, and reports each object's outcome.
package agent
