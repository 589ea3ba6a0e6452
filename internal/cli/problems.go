package cli

import (
	"fmt"
	"io"

	"plumb.dev/plumb/internal/report"
)

// printProblems writes a report's errors and unreachable clusters to the
// error stream, kubectl-style, one line each.
func printProblems(w io.Writer, r report.Report) {
	for _, c := range r.Clusters {
		if c.Status != report.StatusOK && c.Status != report.StatusUnbound {
			fmt.Fprintf(w, "error: cluster %s %s: %s\n", c.Name, c.Status, c.Error)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e.Error())
	}
}
