package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/termsafe"
)

// DiffOptions tune WriteDiff.
type DiffOptions struct {
	// Color adds ANSI colours, as for a terminal. Default false.
	Color bool
	// Context is the number of unchanged lines around each change. Default 3.
	Context int
	// Clusters names each finding's cluster in its headers
	// (live/CLUSTER/apps.v1.Deployment.shop.web), so that the diffs of one
	// object in several clusters can be told apart. Default false.
	Clusters bool
	// LeftInPlace returns the changes of a finding that plumb fix leaves as
	// they are without --remove-added (remediate.LeftInPlace); they are
	// noted above the object's diff, in the words of fix's plan. Default:
	// no notes.
	LeftInPlace func(drift.Finding) []drift.Change
}

// WriteDiff writes a unified diff per finding, from the live object to what
// putting it back would leave (kubectl diff's direction): "-" lines are
// live, "+" lines desired. A missing object is all "+", an unmanaged one
// all "-". The "+++" header names the declaration's provenance.
// managedFields are never shown and Secrets are masked.
//
// A field added out of band is a "-" line: it is not declared. plumb fix
// leaves such fields in place unless --remove-added, so when
// opts.LeftInPlace names them, "#" lines above the object's "---" header
// say so and list them (above it, so that the output stays a diff that
// patch tools read).
func WriteDiff(w io.Writer, findings []drift.Finding, opts DiffOptions) error {
	if opts.Context == 0 {
		opts.Context = 3
	}
	for _, f := range findings {
		live, err := toYAML(f.Live)
		if err != nil {
			return err
		}
		desired, err := toYAML(f.Desired)
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(f.APIVersion, "/", ".") + "." + f.Kind + "."
		if f.Namespace != "" {
			name += f.Namespace + "."
		}
		name += f.Name
		if opts.Clusters {
			name = f.Cluster + "/" + name
		}
		// The desired side's header names where it is declared, in the
		// slot after a tab that diff tools keep for a file's date.
		from := ""
		if f.Source != nil {
			from = f.Source.String()
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: lines(live), B: lines(desired),
			FromFile: "live/" + name, ToFile: "desired/" + name, ToDate: from, Context: opts.Context,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if text != "" && opts.LeftInPlace != nil {
			text = leftNote(opts.LeftInPlace(f)) + text
		}
		// Names and values came from clusters and sources: their control
		// characters are escaped before plumb's own colours go around them.
		if err := writeColored(w, termsafe.Escape(text), opts.Color); err != nil {
			return err
		}
	}
	return nil
}

// leftNote is the "#" lines that list the fields plumb fix leaves.
func leftNote(left []drift.Change) string {
	if len(left) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# plumb fix: %s:\n", LeftSummary(len(left)))
	for _, c := range left {
		fmt.Fprintf(&b, "#   %s\n", LeftField(c))
	}
	return b.String()
}

// LeftSummary says how many added fields plumb fix leaves in place, and
// what removes them, in the words the plan and the diff share.
func LeftSummary(n int) string {
	if n == 1 {
		return "1 added field left in place (--remove-added removes it)"
	}
	return fmt.Sprintf("%d added fields left in place (--remove-added removes them)", n)
}

// LeftField names one field left in place and who added it, as the plan
// and the diff list it. Values are not shown: the diff has them, and a
// Secret's are never shown.
func LeftField(c drift.Change) string {
	if c.Manager == "" {
		return c.Path + "  [added]"
	}
	return c.Path + "  [added by " + c.Manager + "]"
}

// lines splits text into lines, each with its newline. Unlike
// difflib.SplitLines it adds no empty line at the end, so that a missing
// or unmanaged object's diff is all "+" or all "-" lines ("@@ -0,0 +1,N @@").
func lines(text string) []string {
	if text == "" {
		return nil
	}
	out := strings.SplitAfter(text, "\n")
	if out[len(out)-1] == "" {
		return out[:len(out)-1]
	}
	out[len(out)-1] += "\n"
	return out
}

func toYAML(u *unstructured.Unstructured) (string, error) {
	if u == nil {
		return "", nil
	}
	b, err := yaml.Marshal(u.Object)
	return string(b), err
}

const (
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

func writeColored(w io.Writer, text string, color bool) error {
	if !color {
		_, err := io.WriteString(w, text)
		return err
	}
	bw := bufio.NewWriter(w)
	for _, line := range strings.SplitAfter(text, "\n") {
		c := ""
		switch {
		case strings.HasPrefix(line, "---"), strings.HasPrefix(line, "+++"):
			c = ansiBold
		case strings.HasPrefix(line, "@@"):
			c = ansiCyan
		case strings.HasPrefix(line, "-"):
			c = ansiRed
		case strings.HasPrefix(line, "+"):
			c = ansiGreen
		}
		if c == "" || line == "" {
			bw.WriteString(line)
			continue
		}
		body := strings.TrimSuffix(line, "\n")
		bw.WriteString(c + body + ansiReset)
		if body != line {
			bw.WriteString("\n")
		}
	}
	return bw.Flush()
}
