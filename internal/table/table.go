package table

import (
	"io"
	"strings"
	"unicode/utf8"

	"plumb.dev/plumb/internal/termsafe"
)

// padding is the space between columns, kubectl's.
const padding = 3

// ellipsis marks where a shortened cell lost text.
const ellipsis = "…"

// minWidth is the narrowest a shortened column becomes (or its header's
// width, if wider): narrower, its cells would tell nothing apart.
const minWidth = 8

// Shrink says how a column's cells are shortened to fit the width.
type Shrink int

const (
	// Keep never shortens the column.
	Keep Shrink = iota
	// Middle puts the ellipsis in the middle, keeping both ends
	// (names: web-7d9f…-x2k4q).
	Middle
	// Start puts the ellipsis at the start, keeping the end (paths:
	// …containers[name="web"].image, files: …/overlays/prod/web.yaml).
	Start
)

// Color is a cell's colour, as an ANSI SGR parameter.
type Color string

// The colours plumb uses.
const (
	Plain   Color = ""
	Red     Color = "31"
	Green   Color = "32"
	Yellow  Color = "33"
	Blue    Color = "34"
	Magenta Color = "35"
	Cyan    Color = "36"
	BoldRed Color = "1;31"
	Faint   Color = "2"
)

// Paint returns s in colour c as ANSI codes when on, else s itself. s
// must already be escaped.
func Paint(s string, c Color, on bool) string {
	if !on || c == Plain || s == "" {
		return s
	}
	return "\x1b[" + string(c) + "m" + s + "\x1b[0m"
}

// Column is one column of a table.
type Column struct {
	Header string
	// Shrink is how the column is shortened to fit; Keep by default.
	Shrink Shrink
	// Order is when the column is shortened: columns of lower Order are
	// shortened to their minimum before those of a higher one (paths
	// before names). 0 by default.
	Order int
	// Min is the narrowest the column is shortened to; by default 8, or
	// the header's width if wider.
	Min int
}

// Cell is one cell: its text, unescaped, and its colour.
type Cell struct {
	Text  string
	Color Color
}

// Options say how a table is written.
type Options struct {
	// Width is the width, in columns, to fit the table in; 0 (the
	// default, for anything but a terminal) shortens nothing.
	Width int
	// Color writes the cells' colours; off by default.
	Color bool
	// NoHeaders leaves out the header row (kubectl's --no-headers); off
	// by default.
	NoHeaders bool
}

// Table is a table being filled.
type Table struct {
	cols []Column
	rows [][]Cell
}

// New returns an empty table with cols.
func New(cols ...Column) *Table { return &Table{cols: cols} }

// Row adds a row of plain text cells; missing cells are empty and extra
// ones dropped.
func (t *Table) Row(cells ...string) {
	row := make([]Cell, len(cells))
	for i, c := range cells {
		row[i] = Cell{Text: c}
	}
	t.CellRow(row...)
}

// CellRow adds a row of cells.
func (t *Table) CellRow(cells ...Cell) {
	row := make([]Cell, len(t.cols))
	copy(row, cells)
	for i := range row {
		row[i].Text = termsafe.Escape(strings.ReplaceAll(row[i].Text, "\n", " "))
		row[i].Text = strings.ReplaceAll(row[i].Text, "\t", " ")
	}
	t.rows = append(t.rows, row)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Write writes the table to w.
func (t *Table) Write(w io.Writer, opts Options) error {
	rows := t.rows
	if !opts.NoHeaders {
		head := make([]Cell, len(t.cols))
		for i, c := range t.cols {
			head[i] = Cell{Text: c.Header}
		}
		rows = append([][]Cell{head}, rows...)
	}
	widths := make([]int, len(t.cols))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], width(c.Text))
		}
	}
	if opts.Width > 0 {
		t.fit(widths, opts.Width)
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			text := shorten(c.Text, widths[i], t.cols[i].Shrink)
			b.WriteString(Paint(text, c.Color, opts.Color))
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-width(text)+padding))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fit narrows the widths of the columns that may shrink until the table
// fits total, or they are all at their minimum.
func (t *Table) fit(widths []int, total int) {
	used := func() int {
		n := padding * (len(widths) - 1)
		for _, w := range widths {
			n += w
		}
		return n
	}
	floor := func(i int) int {
		if m := t.cols[i].Min; m > 0 {
			return max(m, width(t.cols[i].Header))
		}
		return max(minWidth, width(t.cols[i].Header))
	}
	orders := map[int]bool{}
	for _, c := range t.cols {
		if c.Shrink != Keep {
			orders[c.Order] = true
		}
	}
	for over := used() - total; over > 0; over = used() - total {
		// The widest column of the lowest order that can still shrink.
		best, bestOrder := -1, 0
		for i, c := range t.cols {
			if c.Shrink == Keep || widths[i] <= floor(i) {
				continue
			}
			if best < 0 || c.Order < bestOrder || c.Order == bestOrder && widths[i] > widths[best] {
				best, bestOrder = i, c.Order
			}
		}
		if best < 0 {
			return
		}
		widths[best]--
	}
}

// shorten cuts s to n columns as shrink says, with an ellipsis.
func shorten(s string, n int, shrink Shrink) string {
	if width(s) <= n || shrink == Keep {
		return s
	}
	r := []rune(s)
	keep := n - 1 // the ellipsis takes one column
	if keep < 1 {
		return ellipsis
	}
	if shrink == Start {
		return ellipsis + string(r[len(r)-keep:])
	}
	head := (keep + 1) / 2
	return string(r[:head]) + ellipsis + string(r[len(r)-(keep-head):])
}

// width is the columns s takes: one a rune.
func width(s string) int { return utf8.RuneCountInString(s) }
