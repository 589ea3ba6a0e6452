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
)

// DiffOptions tune WriteDiff.
type DiffOptions struct {
	// Color adds ANSI colours, as for a terminal. Default false.
	Color bool
	// Context is the number of unchanged lines around each change. Default 3.
	Context int
}

// WriteDiff writes a unified diff per finding, from the live object to what
// putting it back would leave (kubectl diff's direction): "-" lines are
// live, "+" lines desired. A missing object is all "+", an unmanaged one
// all "-". The "+++" header names the declaration's provenance.
// managedFields are never shown and Secrets are masked.
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
		// The desired side's header names where it is declared, in the
		// slot after a tab that diff tools keep for a file's date.
		from := ""
		if f.Source != nil {
			from = f.Source.String()
		}
		text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(live), B: difflib.SplitLines(desired),
			FromFile: "live/" + name, ToFile: "desired/" + name, ToDate: from, Context: opts.Context,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := writeColored(w, text, opts.Color); err != nil {
			return err
		}
	}
	return nil
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
