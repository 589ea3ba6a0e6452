package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/output"
)

// Formats are the -o values a report can be written in.
var Formats = []string{"table", "json", "yaml", "markdown"}

// Write writes r in format (one of Formats; "" is table). now is the
// reference time for ages in the table and Markdown.
func Write(w io.Writer, r Report, format string, now time.Time) error {
	if done, err := output.Data(w, r, format); done {
		return err
	}
	switch format {
	case "", "table":
		return writeTable(w, r, now)
	case "markdown":
		return writeMarkdown(w, r, now)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, r Report, now time.Time) error {
	if err := writeFindings(w, r, now); err != nil {
		return err
	}
	if len(r.Clusters) < 2 {
		return nil
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "\nCLUSTER\tSTATUS\tOBJECTS\tIN SYNC\tDRIFTED\tMISSING\tUNMANAGED\tERROR")
	for _, c := range r.Clusters {
		s := Summary{}
		if c.Summary != nil {
			s = *c.Summary
		}
		errText := c.Error
		if errText == "" {
			errText = "-"
		}
		if c.Status == StatusUnbound {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\tno binding selects it; not scanned\n", c.Name, c.Status)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.Name, c.Status, s.Objects, s.InSync, s.Drifted, s.Missing, s.Unmanaged, errText)
	}
	return tw.Flush()
}

func writeFindings(w io.Writer, r Report, now time.Time) error {
	if len(r.Findings) == 0 {
		if !r.Healthy() {
			// Never "No drift" beside an error: the result is incomplete.
			_, err := fmt.Fprintf(w, "Incomplete: %d objects in sync, the rest not compared (see the errors).\n", r.Summary.InSync)
			return err
		}
		_, err := fmt.Fprintf(w, "No drift: %d objects in sync.\n", r.Summary.InSync)
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "CLUSTER\tNAMESPACE\tKIND\tNAME\tSTATE\tCHANGED\tWHO\tWHEN")
	for _, f := range r.Findings {
		who, when := attribution(f, now)
		ns := f.Namespace
		if ns == "" {
			ns = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Cluster, ns, kindName(f), f.Name, f.State, changedPaths(f, 3), who, when)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\n"+summaryLine(r))
	return err
}

func writeMarkdown(w io.Writer, r Report, now time.Time) error {
	var b strings.Builder
	b.WriteString("### plumb drift report\n\n" + summaryLine(r) + "\n\n")
	if len(r.Findings) > 0 {
		b.WriteString("| Cluster | Kind | Object | State | Changed | Who | When |\n|---|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			who, when := attribution(f, now)
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s | %s | %s |\n", md(f.Cluster), md(kindName(f)), md(objectName(f)), f.State,
				md(changedPaths(f, 5)), md(who), when)
		}
		for _, f := range r.Findings {
			if len(f.Changes) == 0 || f.State != drift.StateDrifted {
				continue
			}
			fmt.Fprintf(&b, "\n<details><summary>%s <code>%s</code></summary>\n\n| Path | Change | Desired | Live | Who |\n|---|---|---|---|---|\n", md(kindName(f)), md(objectName(f)))
			for _, c := range f.Changes {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", md(c.Path), c.Type, md(short(c.Desired)), md(short(c.Live)), md(c.Manager))
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

// summaryLine is one sentence about the whole report.
func summaryLine(r Report) string {
	s := r.Summary
	line := fmt.Sprintf("%d objects: %d in sync, %d drifted, %d missing", s.Objects, s.InSync, s.Drifted, s.Missing)
	if s.Coverage != nil {
		line += fmt.Sprintf(", %d unmanaged (coverage %.0f%%)", s.Unmanaged, *s.Coverage*100)
	}
	if len(r.Errors) > 0 {
		line += fmt.Sprintf("; %d errors", len(r.Errors))
	}
	return line + "."
}

// attribution names the managers behind a finding's changes and the age of
// the most recent one.
func attribution(f drift.Finding, now time.Time) (who, when string) {
	seen := map[string]bool{}
	var names []string
	var newest *time.Time
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
	who, when = strings.Join(names, ","), "-"
	if who == "" {
		who = "-"
	}
	if newest != nil {
		when = duration.HumanDuration(now.Sub(*newest)) + " ago"
	}
	return who, when
}

func changedPaths(f drift.Finding, max int) string {
	if f.State != drift.StateDrifted {
		return "-"
	}
	var ps []string
	for i, c := range f.Changes {
		if i == max {
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
