package policy

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/table"

	"plumb.dev/plumb/internal/output"
)

// Formats are the -o values a check result can be written in.
var Formats = []string{"table", "json", "yaml", "markdown", "sarif", "junit"}

// ResultKind is the kind of the check result (apiVersion APIVersion), as
// the scan report has one (report.Kind).
const ResultKind = "CheckResult"

// Result is what plumb check prints:
// {"apiVersion": ..., "kind": "CheckResult", "violations": [...]}.
type Result struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Violations []Violation `json:"violations"`
	// Rules are the rules that ran, for the formats that list every rule
	// (sarif, junit); they are not part of the JSON document.
	Rules []Rule `json:"-"`
}

// Write writes r in format (one of Formats; "" is table); opts say how
// the table is fitted, coloured and headed.
func Write(w io.Writer, r Result, format string, opts table.Options) error {
	if r.Violations == nil {
		r.Violations = []Violation{}
	}
	r.APIVersion, r.Kind = APIVersion, ResultKind
	if done, err := output.Data(w, r, format); done {
		return err
	}
	switch format {
	case "", "table":
		return writeTable(w, r, opts)
	case "markdown":
		return writeMarkdown(w, r)
	case "sarif":
		return writeSARIF(w, r)
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, r Result, opts table.Options) error {
	if len(r.Violations) == 0 {
		_, err := fmt.Fprintln(w, "No guardrail fired.")
		return err
	}
	t := table.New(
		table.Column{Header: "SEVERITY"},
		table.Column{Header: "RULE"},
		table.Column{Header: "KIND", Shrink: table.Middle, Order: 3},
		table.Column{Header: "NAMESPACE", Shrink: table.Middle, Order: 2},
		table.Column{Header: "NAME", Shrink: table.Middle, Order: 2},
		table.Column{Header: "AFFECTED"},
		table.Column{Header: "SOURCE", Shrink: table.Start, Order: 1},
		table.Column{Header: "MESSAGE", Shrink: table.Middle, Min: 24},
	)
	for _, v := range r.Violations {
		ns := v.Namespace
		if ns == "" {
			ns = "-"
		}
		where := "-"
		if v.Source != nil {
			where = v.Source.String()
		}
		severity := table.Cell{Text: string(v.Severity), Color: table.Yellow}
		if v.Severity == SeverityDeny {
			severity.Color = table.BoldRed
		}
		t.CellRow(severity, table.Cell{Text: v.Rule}, table.Cell{Text: v.Kind}, table.Cell{Text: ns}, table.Cell{Text: v.Name},
			table.Cell{Text: strconv.Itoa(v.Affected)}, table.Cell{Text: where}, table.Cell{Text: v.Message})
	}
	return t.Write(w, opts)
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
	fmt.Fprintln(w, "| | rule | object | affected | why | source |")
	fmt.Fprintln(w, "|---|---|---|---:|---|---|")
	for _, v := range r.Violations {
		mark := "⚠️ warn"
		if v.Severity == SeverityDeny {
			mark = "⛔ deny"
		}
		obj := v.object()
		where := ""
		if v.Source != nil {
			where = "`" + escape(v.Source.String()) + "`"
		}
		fmt.Fprintf(w, "| %s | `%s` | %s | %d | %s | %s |\n", mark, v.Rule, escape(obj), v.Affected, escape(v.Message), where)
	}
	return nil
}

// escape keeps a cell in its table cell.
func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// object names v's object: "Kind namespace/name", or "Kind name".
func (v Violation) object() string {
	if v.Namespace != "" {
		return v.Kind + " " + v.Namespace + "/" + v.Name
	}
	return v.Kind + " " + v.Name
}
