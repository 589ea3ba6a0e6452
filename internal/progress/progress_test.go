package progress

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// buffer is a writer safe to read while a Line writes.
type buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestQuickCommandShowsNothing(t *testing.T) {
	var b buffer
	l := Start(&b, Options{Delay: time.Hour})
	l.Set("prod-eu", "prod-eu: 3 objects compared")
	l.Stop()
	if b.String() != "" {
		t.Errorf("a command done before the delay printed %q", b.String())
	}
}

func TestLineIsRedrawnAndCleared(t *testing.T) {
	var b buffer
	l := Start(&b, Options{Delay: time.Millisecond, Interval: time.Nanosecond, Width: 40})
	time.Sleep(2 * time.Millisecond)
	l.Set("prod-eu", "prod-eu: "+Count(1240)+" objects compared")
	l.Set("prod-us", "prod-us: "+Count(12)+" objects compared")
	l.Stop()
	out := b.String()
	if !strings.Contains(out, "\rprod-eu: 1,240 objects compared  prod-…\x1b[K") {
		t.Errorf("the line is not drawn in place, cut to the width: %q", out)
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("the line is not cleared at the end: %q", out)
	}
}

func TestCountAndLeft(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1240: "1,240", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Left(150*time.Second + 300*time.Millisecond); got != "2m30s" {
		t.Errorf("Left = %q, want 2m30s", got)
	}
	if got := Left(-time.Second); got != "0s" {
		t.Errorf("Left(-1s) = %q, want 0s", got)
	}
}
