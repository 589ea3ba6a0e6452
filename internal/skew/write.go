package skew

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"plumb.dev/plumb/internal/output"
	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/table"
	"plumb.dev/plumb/internal/termsafe"
)

// Formats are the -o values a skew report can be written in, besides
// kubectl's jsonpath=TEMPLATE and jsonpath-file=FILE (output.IsTemplate).
var Formats = []string{"table", "wide", "name", "json", "yaml"}

// Found reports whether any group has skew.
func (r Report) Found() bool {
	for _, g := range r.Groups {
		if len(g.Objects) > 0 {
			return true
		}
	}
	return false
}

// Write writes r in format (one of Formats or a JSONPath template; "" is
// table), tables as opts say ("wide" shortens nothing). Tables escape what
// they print themselves: w may be the terminal itself.
func Write(w io.Writer, r Report, format string, opts table.Options) error {
	if done, err := output.Data(w, r, format); done {
		return err
	}
	switch format {
	case "", "table":
		return writeTable(w, r, opts)
	case "wide":
		opts.Width = 0
		return writeTable(w, r, opts)
	case "name":
		return writeNames(w, r)
	}
	return fmt.Errorf("unknown output format %q (want one of %s, jsonpath=TEMPLATE or jsonpath-file=FILE)", format, strings.Join(Formats, ", "))
}

// writeNames writes each object with skew once, as kubectl -o name does.
func writeNames(w io.Writer, r Report) error {
	seen := map[string]bool{}
	var b strings.Builder
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			if name := output.ResourceName(o.APIVersion, o.Kind, o.Name); !seen[name] {
				seen[name] = true
				b.WriteString(termsafe.Escape(name) + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTable(w io.Writer, r Report, opts table.Options) error {
	if !r.Found() {
		var names []string
		for _, g := range r.Groups {
			names = append(names, fmt.Sprintf("%s (%s)", g.Name, plural.Count(len(g.Clusters), "cluster")))
		}
		_, err := fmt.Fprintf(w, "No skew: clusters match in %s.\n", termsafe.Escape(strings.Join(names, ", ")))
		return err
	}
	t := table.New(
		table.Column{Header: "GROUP", Shrink: table.Middle, Order: 2},
		table.Column{Header: "KIND", Shrink: table.Middle, Order: 3},
		table.Column{Header: "NAMESPACE", Shrink: table.Middle, Order: 2},
		table.Column{Header: "NAME", Shrink: table.Middle, Order: 2},
		table.Column{Header: "PATH", Shrink: table.Start},
		table.Column{Header: "VALUES", Shrink: table.Middle, Order: 1},
	)
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			ns := o.Namespace
			if ns == "" {
				ns = "-"
			}
			if len(o.MissingOn) > 0 {
				t.CellRow(table.Cell{Text: g.Name}, table.Cell{Text: o.Kind}, table.Cell{Text: ns}, table.Cell{Text: o.Name}, table.Cell{Text: "-"},
					table.Cell{Text: "missing on " + strings.Join(o.MissingOn, ","), Color: table.Red})
			}
			for _, d := range o.Differences {
				t.Row(g.Name, o.Kind, ns, o.Name, d.Path, values(d))
			}
		}
	}
	return t.Write(w, opts)
}

// values renders "prod-eu=1.4.2 prod-us=1.4.0*", a star marking clusters
// whose value is not what they declare.
func values(d Difference) string {
	clusters := make([]string, 0, len(d.Values))
	for c := range d.Values {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	drifted := map[string]bool{}
	for _, c := range d.Drifted {
		drifted[c] = true
	}
	var parts []string
	for _, c := range clusters {
		v := "<none>"
		if d.Values[c] != nil {
			b, _ := json.Marshal(d.Values[c])
			v = strings.Trim(string(b), `"`)
		}
		if drifted[c] {
			v += "*"
		}
		parts = append(parts, c+"="+v)
	}
	return strings.Join(parts, " ")
}
