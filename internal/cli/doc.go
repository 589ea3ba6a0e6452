// Package cli is plumb's command line: one cobra command per file, each with
// an options struct that is completed from flags, validated, then run.
//
// Flags follow kubectl: --kubeconfig, --context, -n/--namespace, -o/--output
// and -v for verbosity mean what they mean there. Exit codes are a contract
// scripts rely on:
//
//	0  in sync: nothing drifted
//	1  drift found
//	2  an error stopped the work (bad flags, unreadable source, unreachable cluster)
//
// Commands write results to the injected output stream and logs (slog, with
// klog routed into the same handler) to the error stream, so tests can read
// both.
//
// It must not hold product logic: comparing is package drift's, planning and
// applying package remediate's, and what is printed is package report's;
// a command only turns flags into options, calls them, and maps the
// result to an exit code.
package cli
