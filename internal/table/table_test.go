package table

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample() *Table {
	t := New(Column{Header: "NAME", Shrink: Middle, Order: 1}, Column{Header: "STATE"}, Column{Header: "CHANGED", Shrink: Start})
	t.CellRow(Cell{Text: "web-frontend-canary"}, Cell{Text: "drifted", Color: Yellow}, Cell{Text: `.spec.template.spec.containers[name="web"].image`})
	t.Row("db", "missing", "-")
	return t
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"off a terminal nothing is shortened", Options{}, `
NAME                  STATE     CHANGED
web-frontend-canary   drifted   .spec.template.spec.containers[name="web"].image
db                    missing   -
`},
		{"paths shorten first, keeping their end", Options{Width: 60}, `
NAME                  STATE     CHANGED
web-frontend-canary   drifted   …ontainers[name="web"].image
db                    missing   -
`},
		{"then names, in the middle", Options{Width: 36}, `
NAME              STATE     CHANGED
web-fro…-canary   drifted   …].image
db                missing   -
`},
		{"no headers", Options{NoHeaders: true}, `
web-frontend-canary   drifted   .spec.template.spec.containers[name="web"].image
db                    missing   -
`},
		{"colour around padded cells", Options{Color: true, NoHeaders: true, Width: 50}, "\n" +
			"web-frontend-canary   \x1b[33mdrifted\x1b[0m   …name=\"web\"].image\n" +
			"db                    missing   -\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := sample().Write(&b, tt.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(tt.want, "\n"), b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.opts.Width > 0 {
				for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
					if n := width(strings.NewReplacer("\x1b[33m", "", "\x1b[0m", "").Replace(line)); n > tt.opts.Width {
						t.Errorf("line %q is %d wide, over %d", line, n, tt.opts.Width)
					}
				}
			}
		})
	}
}

func TestCellsAreEscaped(t *testing.T) {
	tb := New(Column{Header: "NAME"})
	tb.Row("evil\x1b[2J")
	var b strings.Builder
	if err := tb.Write(&b, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	if want := "NAME\nevil\\x1b[2J\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
