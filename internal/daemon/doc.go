// Package daemon is plumb's long-running process: what plumb serve and
// plumb agent run once their flags are read. Every part that runs until
// the process stops (a cluster's watcher, the remediation queue, the
// notifier, the API, the audit and admission webhooks, the source
// watchers, the shard coordinator, the agent's shipper and fixer) is a
// Runnable with Start(ctx) error, and Run starts them in one group, as
// controller-runtime's manager does: the first to fail stops the others,
// and its error is the process's. Findings reach the API's stream, the
// notifier and the remediation queue through an event.Bus they subscribe to before
// anything starts.
//
// The package wires parts together; what each part does is its own
// package's (watch, queue, server, notify, audit, admission, shard,
// sourcewatch, agent).
package daemon
