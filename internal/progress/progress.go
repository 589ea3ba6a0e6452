// Package progress shows how far a long command has got, on one line of a
// terminal's standard error, redrawn in place: "prod-eu: 1,240 objects
// compared  prod-us: 310 objects compared", or "bake: 2m30s left". Nothing
// is shown before Options.Delay, so a quick command prints nothing, and
// the line is cleared when it stops, so what follows starts clean.
//
// It must not decide whether standard error is a terminal: callers start
// a Line only when it is.
package progress

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"plumb.dev/plumb/internal/termsafe"
)

// Options say when a line is drawn.
type Options struct {
	// Delay is how long a command runs before its progress is shown; 1s
	// by default.
	Delay time.Duration
	// Interval is the least time between two drawings of the line; 200ms
	// by default.
	Interval time.Duration
	// Width is the terminal's width: a longer line is cut to it, so that
	// it stays one line. 0 (the default) does not cut.
	Width int
}

// DefaultOptions are the defaults documented on Options.
func DefaultOptions() Options { return Options{Delay: time.Second, Interval: 200 * time.Millisecond} }

// Line is a progress line being drawn. It is drawn as it is set, at most
// once an Interval, from Delay after it started.
type Line struct {
	w       io.Writer
	opts    Options
	started time.Time

	mu sync.Mutex // guards parts, order, drawn and shown
	// parts are the line's parts, by key (a cluster's name), in order.
	parts map[string]string
	order []string
	drawn time.Time
	shown bool
}

// Start starts a line on w, a terminal.
func Start(w io.Writer, opts Options) *Line {
	def := DefaultOptions()
	if opts.Delay <= 0 {
		opts.Delay = def.Delay
	}
	if opts.Interval <= 0 {
		opts.Interval = def.Interval
	}
	return &Line{w: w, opts: opts, started: time.Now(), parts: map[string]string{}}
}

// Set sets the part of the line under key, and draws the line when it is
// due; parts are shown in the order they were first set.
func (l *Line) Set(key, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.parts[key]; !ok {
		l.order = append(l.order, key)
	}
	l.parts[key] = text
	if now := time.Now(); now.Sub(l.started) >= l.opts.Delay && now.Sub(l.drawn) >= l.opts.Interval {
		l.draw()
		l.drawn = now
	}
}

// Stop clears the line, if it was shown.
func (l *Line) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shown {
		fmt.Fprint(l.w, "\r\x1b[K")
		l.shown = false
	}
}

// draw draws the line; l.mu is held.
func (l *Line) draw() {
	texts := make([]string, len(l.order))
	for i, k := range l.order {
		texts[i] = l.parts[k]
	}
	line := termsafe.Escape(strings.Join(texts, "  "))
	if r := []rune(line); l.opts.Width > 1 && len(r) >= l.opts.Width {
		line = string(r[:l.opts.Width-2]) + "…"
	}
	// \r goes back to the start of the line; ESC[K clears what is left of
	// a longer line drawn before.
	fmt.Fprint(l.w, "\r"+line+"\x1b[K")
	l.shown = true
}

// Count writes n with thousands separated by commas: 1,240.
func Count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Left writes a time left for people, to the second: 2m30s.
func Left(d time.Duration) string {
	return max(d, 0).Round(time.Second).String()
}
