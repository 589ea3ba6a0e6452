package termsafe

import (
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"web":                    "web",
		"ünïcode ✓ 名前":           "ünïcode ✓ 名前",
		"line\n\tindented":       "line\n\tindented",
		"x\x1b[2Jy":              `x\x1b[2Jy`,
		"\x1b]0;owned\x07":       `\x1b]0;owned\x07`,
		"carriage\rreturn":       `carriage\x0dreturn`,
		"del\x7f":                `del\x7f`,
		"c1 \u009b31m":           `c1 \u009b31m`,
		"bad \xff utf8":          `bad \xff utf8`,
		"bell\a and backspace\b": `bell\x07 and backspace\x08`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriter: a rune split across writes passes whole; escapes are
// written as text.
func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	s := "名\x1b[2J前"
	for i := 0; i < len(s); i++ {
		if n, err := w.Write([]byte{s[i]}); n != 1 || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if got, want := b.String(), `名\x1b[2J前`; got != want {
		t.Errorf("written %q, want %q", got, want)
	}
}
