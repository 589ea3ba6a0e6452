package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/output"
	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/table"
	"plumb.dev/plumb/internal/termsafe"
)

// Formats are the -o values a report can be written in, besides
// kubectl's jsonpath=TEMPLATE and jsonpath-file=FILE (output.IsTemplate).
var Formats = []string{"table", "wide", "name", "json", "yaml", "markdown"}

// WriteOptions say how a report is written.
type WriteOptions struct {
	// Format is one of Formats or a JSONPath template; "" (the default)
	// is "table".
	Format string
	// Now is the reference time for ages in the table; time.Now() by
	// default.
	Now time.Time
	// Table says how tables are fitted and coloured: the zero value (the
	// default) writes them whole and plain, as off a terminal.
	Table table.Options
}

// DefaultWriteOptions are a table, at the time it is called.
func DefaultWriteOptions() WriteOptions { return WriteOptions{Now: time.Now()} }

// Write writes r as opts say. Tables ("table", "wide") escape what they
// print themselves, around their colours: w may be the terminal itself.
func Write(w io.Writer, r Report, opts WriteOptions) error {
	if done, err := output.Data(w, r, opts.Format); done {
		return err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	switch opts.Format {
	case "", "table":
		return writeTable(w, r, opts, false)
	case "wide":
		return writeTable(w, r, opts, true)
	case "name":
		return writeNames(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	}
	return fmt.Errorf("unknown output format %q (want one of %s, jsonpath=TEMPLATE or jsonpath-file=FILE)", opts.Format, strings.Join(Formats, ", "))
}

// ValidFormat checks an -o value before anything is scanned: one of
// Formats, or a JSONPath template that parses.
func ValidFormat(format string) error {
	if output.IsTemplate(format) {
		_, err := output.Template(format)
		return err
	}
	if format != "" && !slices.Contains(Formats, format) {
		return fmt.Errorf("--output %q is not supported by scan; use %s, jsonpath=TEMPLATE or jsonpath-file=FILE", format, strings.Join(Formats, ", "))
	}
	return nil
}

// stateColor is the colour of a finding's state, and of a cluster's status.
func stateColor(s string) table.Color {
	switch s {
	case string(drift.StateDrifted):
		return table.Yellow
	case string(drift.StateMissing), string(StatusError), string(StatusUnreachable):
		return table.Red
	case string(drift.StateUnmanaged):
		return table.Magenta
	case string(StatusOK), "in sync":
		return table.Green
	case string(StatusUnbound):
		return table.Faint
	}
	return table.Plain
}

// stateText is a finding's state as the table shows it: "(unconfirmed)"
// after a verdict the server-side dry-run did not confirm.
func stateText(f drift.Finding) string {
	if f.Unconfirmed {
		return string(f.State) + " (unconfirmed)"
	}
	return string(f.State)
}

func writeTable(w io.Writer, r Report, opts WriteOptions, wide bool) error {
	if err := writeFindings(w, r, opts, wide); err != nil {
		return err
	}
	if len(r.Clusters) < 2 {
		return nil
	}
	t := table.New(
		table.Column{Header: "CLUSTER", Shrink: table.Middle, Order: 1},
		table.Column{Header: "STATUS"},
		table.Column{Header: "OBJECTS"}, table.Column{Header: "IN SYNC"}, table.Column{Header: "DRIFTED"},
		table.Column{Header: "MISSING"}, table.Column{Header: "UNMANAGED"},
		table.Column{Header: "ERROR", Shrink: table.Start},
	)
	if wide {
		opts.Table.Width = 0
	}
	for _, c := range r.Clusters {
		s := Summary{}
		if c.Summary != nil {
			s = *c.Summary
		}
		errText := c.Error
		if errText == "" {
			errText = "-"
		}
		status := table.Cell{Text: string(c.Status), Color: stateColor(string(c.Status))}
		if c.Status == StatusUnbound {
			t.CellRow(table.Cell{Text: c.Name}, status, table.Cell{Text: "-"}, table.Cell{Text: "-"}, table.Cell{Text: "-"},
				table.Cell{Text: "-"}, table.Cell{Text: "-"}, table.Cell{Text: "no binding selects it; not scanned"})
			continue
		}
		n := func(i int) table.Cell { return table.Cell{Text: strconv.Itoa(i)} }
		t.CellRow(table.Cell{Text: c.Name}, status, n(s.Objects), n(s.InSync), n(s.Drifted), n(s.Missing), n(s.Unmanaged), table.Cell{Text: errText})
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return t.Write(w, opts.Table)
}

func writeFindings(w io.Writer, r Report, opts WriteOptions, wide bool) error {
	if len(r.Findings) == 0 {
		if !r.Healthy() {
			// Never "No drift" beside an error: the result is incomplete.
			_, err := fmt.Fprintf(w, "Incomplete: %s in sync, the rest not compared (see the errors).\n", plural.Count(r.Summary.InSync, "object"))
			return err
		}
		_, err := fmt.Fprintf(w, "No drift: %s in sync.\n", plural.Count(r.Summary.InSync, "object"))
		return err
	}
	cols := []table.Column{
		{Header: "CLUSTER", Shrink: table.Middle, Order: 2},
		{Header: "NAMESPACE", Shrink: table.Middle, Order: 2},
		{Header: "KIND", Shrink: table.Middle, Order: 3},
		{Header: "NAME", Shrink: table.Middle, Order: 2},
		{Header: "STATE"},
		// Paths shorten first, at their start: the end names the field.
		{Header: "CHANGED", Shrink: table.Start, Min: 24},
		{Header: "WHO", Shrink: table.Middle, Order: 1, Min: 12},
		{Header: "WHEN"},
	}
	changed := 3
	if wide {
		// -o wide: every changed path, when as a time, where each object
		// is declared, and nothing shortened.
		cols = append(cols, table.Column{Header: "SOURCE"})
		changed = -1
		opts.Table.Width = 0
	}
	t := table.New(cols...)
	for _, f := range r.Findings {
		who, when := attribution(f, opts.Now)
		if wide {
			who, when = attributionAt(f)
		}
		ns := f.Namespace
		if ns == "" {
			ns = "-"
		}
		row := []table.Cell{{Text: f.Cluster}, {Text: ns}, {Text: kindName(f)}, {Text: f.Name},
			{Text: stateText(f), Color: stateColor(string(f.State))}, {Text: changedPaths(f, changed)}, {Text: who}, {Text: when}}
		if wide {
			row = append(row, table.Cell{Text: origin(f)})
		}
		t.CellRow(row...)
	}
	if err := t.Write(w, opts.Table); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\n"+summaryLine(r))
	return err
}

// origin is where a finding's object is declared, FILE:LINE; "-" for an
// object no source declares.
func origin(f drift.Finding) string {
	if f.Source == nil || f.Source.Path == "" {
		return "-"
	}
	if f.Source.Line > 0 {
		return f.Source.Path + ":" + strconv.Itoa(f.Source.Line)
	}
	return f.Source.Path
}

// writeNames writes each object found, once, as kubectl -o name does:
// kind.group/name (deployment.apps/web, configmap/flags).
func writeNames(w io.Writer, r Report) error {
	seen := map[string]bool{}
	var b strings.Builder
	for _, f := range r.Findings {
		name := output.ResourceName(f.APIVersion, f.Kind, f.Name)
		if !seen[name] {
			seen[name] = true
			b.WriteString(termsafe.Escape(name) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdown writes the report for a pull-request comment. Times are
// absolute, in UTC: a comment is read long after it was written, when
// "5m ago" no longer holds.
func writeMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	b.WriteString("### plumb drift report\n\n" + summaryLine(r) + "\n\n")
	if len(r.Findings) > 0 {
		b.WriteString("| Cluster | Kind | Object | State | Changed | Who | When |\n|---|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			who, when := attributionAt(f)
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s | %s |\n", md(f.Cluster), md(kindName(f)), md(objectName(f)), stateText(f),
				md(changedPaths(f, 5)), md(who), when)
		}
		for _, f := range r.Findings {
			if len(f.Changes) == 0 || f.State != drift.StateDrifted {
				continue
			}
			fmt.Fprintf(&b, "\n<details><summary>%s <code>%s</code></summary>\n\n| Path | Change | Desired | Live | Who | When |\n|---|---|---|---|---|---|\n", md(kindName(f)), md(objectName(f)))
			for _, c := range f.Changes {
				when := "-"
				if c.Time != nil {
					when = Timestamp(*c.Time)
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", md(c.Path), c.Type, md(short(c.Desired)), md(short(c.Live)), md(c.Manager), when)
			}
			b.WriteString("\n</details>\n")
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n**Errors**\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", md(e.Error()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Timestamp is an absolute time for people, in UTC with its zone:
// 2026-12-05 14:03:11 UTC.
func Timestamp(t time.Time) string { return t.UTC().Format(time.DateTime + " MST") }

// summaryLine is one sentence about the whole report.
func summaryLine(r Report) string {
	s := r.Summary
	line := fmt.Sprintf("%s: %d in sync, %d drifted, %d missing", plural.Count(s.Objects, "object"), s.InSync, s.Drifted, s.Missing)
	if s.Coverage != nil {
		line += fmt.Sprintf(", %d unmanaged (coverage %.0f%%)", s.Unmanaged, *s.Coverage*100)
	}
	if len(r.Errors) > 0 {
		line += "; " + plural.Count(len(r.Errors), "error")
	}
	return line + "."
}

// attribution names the managers behind a finding's changes and the age of
// the most recent one.
func attribution(f drift.Finding, now time.Time) (who, when string) {
	who, newest := managers(f)
	when = "-"
	if newest != nil {
		when = duration.HumanDuration(now.Sub(*newest)) + " ago"
	}
	return who, when
}

// attributionAt is attribution with the time of the most recent change,
// absolute (Timestamp).
func attributionAt(f drift.Finding) (who, when string) {
	who, newest := managers(f)
	when = "-"
	if newest != nil {
		when = Timestamp(*newest)
	}
	return who, when
}

// managers names the managers behind a finding's changes, and the time of
// the most recent one (nil when none has a time).
func managers(f drift.Finding) (who string, newest *time.Time) {
	seen := map[string]bool{}
	var names []string
	for _, c := range f.Changes {
		if c.Manager != "" && !seen[c.Manager] {
			seen[c.Manager] = true
			names = append(names, c.Manager)
		}
		if c.Time != nil && (newest == nil || c.Time.After(*newest)) {
			newest = c.Time
		}
	}
	sort.Strings(names)
	who = strings.Join(names, ",")
	if who == "" {
		who = "-"
	}
	return who, newest
}

// changedPaths lists a finding's changed paths, at most max of them (all
// when max is negative).
func changedPaths(f drift.Finding, max int) string {
	if f.State != drift.StateDrifted {
		return "-"
	}
	var ps []string
	for i, c := range f.Changes {
		if max >= 0 && i == max {
			ps = append(ps, fmt.Sprintf("+%d more", len(f.Changes)-max))
			break
		}
		ps = append(ps, c.Path)
	}
	return strings.Join(ps, " ")
}

func kindName(f drift.Finding) string {
	if g, _, ok := strings.Cut(f.APIVersion, "/"); ok {
		return f.Kind + "." + g
	}
	return f.Kind
}

func objectName(f drift.Finding) string {
	if f.Namespace == "" {
		return f.Name
	}
	return f.Namespace + "/" + f.Name
}

// short renders a value for a table cell.
func short(v any) string {
	if v == nil {
		return "-"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
