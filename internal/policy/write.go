package policy

import (
	"fmt"
	"io"
	"strings"

	"plumb.dev/plumb/internal/plural"

	"k8s.io/cli-runtime/pkg/printers"

	"plumb.dev/plumb/internal/output"
)

// Formats are the -o values a check result can be written in.
var Formats = []string{"table", "json", "yaml", "markdown"}

// ResultKind is the kind of the check result (apiVersion APIVersion), as
// the scan report has one (report.Kind).
const ResultKind = "CheckResult"

// Result is what plumb check prints:
// {"apiVersion": ..., "kind": "CheckResult", "violations": [...]}.
type Result struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Violations []Violation `json:"violations"`
}

// Write writes r in format (one of Formats; "" is table).
func Write(w io.Writer, r Result, format string) error {
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	r.APIVersion, r.Kind = APIVersion, ResultKind
	if done, err := output.Data(w, r, format); done {
		return err
	}
	switch format {
	case "", "table":
		return writeTable(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, r Result) error {
	if len(r.Violations) == 0 {
		_, err := fmt.Fprintln(w, "No guardrail fired.")
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "SEVERITY\tRULE\tKIND\tNAMESPACE\tNAME\tAFFECTED\tMESSAGE")
	for _, v := range r.Violations {
		ns := v.Namespace
		if ns == "" {
			ns = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", v.Severity, v.Rule, v.Kind, ns, v.Name, v.Affected, v.Message)
	}
	return tw.Flush()
}

// writeMarkdown writes a pull-request comment.
func writeMarkdown(w io.Writer, r Result) error {
	if len(r.Violations) == 0 {
		_, err := fmt.Fprintln(w, "**plumb check**: no guardrail fired.")
		return err
	}
	deny := 0
	for _, v := range r.Violations {
		if v.Severity == SeverityDeny {
			deny++
		}
	}
	fmt.Fprintf(w, "**plumb check**: %d denied, %s.\n\n", deny, plural.Count(len(r.Violations)-deny, "warning"))
	fmt.Fprintln(w, "| | rule | object | affected | why |")
	fmt.Fprintln(w, "|---|---|---|---:|---|")
	for _, v := range r.Violations {
		mark := "⚠️ warn"
		if v.Severity == SeverityDeny {
			mark = "⛔ deny"
		}
		obj := v.Kind + " " + v.Name
		if v.Namespace != "" {
			obj = v.Kind + " " + v.Namespace + "/" + v.Name
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %d | %s |\n", mark, v.Rule, escape(obj), v.Affected, escape(v.Message))
	}
	return nil
}

// escape keeps a cell in its table cell.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
