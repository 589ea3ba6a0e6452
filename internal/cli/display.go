package cli

import (
	"io"
	"os"
	"strconv"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"plumb.dev/plumb/internal/table"
)

// terminalWidth is w's width in columns when w is a terminal: its size,
// else $COLUMNS (as kubectl falls back to it), else 80. ok is false when w
// is not a terminal: output then goes to a file or a program, and is
// neither fitted nor coloured.
func terminalWidth(w io.Writer) (width int, ok bool) {
	f, isFile := w.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		return cols, true
	}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		return cols, true
	}
	return 80, true
}

// colorAllowed reports whether colour may be used at all: not with
// --no-color, nor when NO_COLOR is set to anything (no-color.org).
func (g *globalOptions) colorAllowed() bool {
	return !g.noColor && os.Getenv("NO_COLOR") == ""
}

// display says how tables are printed on standard output: on a terminal
// fitted to its width and coloured (unless colour is off), elsewhere
// whole and plain.
func (g *globalOptions) display(noHeaders bool) table.Options {
	opts := table.Options{NoHeaders: noHeaders}
	if width, ok := terminalWidth(g.rawOut); ok {
		opts.Width = width
		opts.Color = g.colorAllowed()
	}
	return opts
}

// addNoHeaders adds kubectl's --no-headers to a command that prints tables.
func addNoHeaders(fs *pflag.FlagSet, v *bool) {
	fs.BoolVar(v, "no-headers", false, "Print tables without their header row (as kubectl --no-headers)")
}
