package skew

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/cli-runtime/pkg/printers"

	"plumb.dev/plumb/internal/output"
)

// Formats are the -o values a skew report can be written in.
var Formats = []string{"table", "json", "yaml"}

// Found reports whether any group has skew.
func (r Report) Found() bool {
	for _, g := range r.Groups {
		if len(g.Objects) > 0 {
			return true
		}
	}
	return false
}

// Write writes r in format (one of Formats; "" is table).
func Write(w io.Writer, r Report, format string) error {
	if done, err := output.Data(w, r, format); done {
		return err
	}
	switch format {
	case "", "table":
		return writeTable(w, r)
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeTable(w io.Writer, r Report) error {
	if !r.Found() {
		var names []string
		for _, g := range r.Groups {
			names = append(names, fmt.Sprintf("%s (%d clusters)", g.Name, len(g.Clusters)))
		}
		_, err := fmt.Fprintf(w, "No skew: clusters match in %s.\n", strings.Join(names, ", "))
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "GROUP\tKIND\tNAMESPACE\tNAME\tPATH\tVALUES")
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			ns := o.Namespace
			if ns == "" {
				ns = "-"
			}
			if len(o.MissingOn) > 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\tmissing on %s\n", g.Name, o.Kind, ns, o.Name, "-", strings.Join(o.MissingOn, ","))
			}
			for _, d := range o.Differences {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, o.Kind, ns, o.Name, d.Path, values(d))
			}
		}
	}
	return tw.Flush()
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
