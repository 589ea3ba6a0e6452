// Package report turns scan results into what people and machines read:
// the JSON/YAML report (a contract, documented in docs/report.md), a
// kubectl-style table, Markdown for pull-request comments, and unified
// diffs like kubectl diff's.
//
// It must not compute drift or contact a cluster: it formats results it is
// given.
package report
