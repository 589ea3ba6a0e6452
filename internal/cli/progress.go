package cli

import (
	"sync"
	"time"

	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/progress"
)

// progressTiming says when progress is shown: after a second, redrawn
// every 200ms. Tests shorten it.
var progressTiming = progress.DefaultOptions()

// progressLine starts a progress line on standard error when it is a
// terminal; it is nil otherwise (a nil line shows nothing).
func (g *globalOptions) progressLine() *progress.Line {
	width, ok := terminalWidth(g.rawErr)
	if !ok {
		return nil
	}
	opts := progressTiming
	opts.Width = width
	return progress.Start(g.rawErr, opts)
}

// scanProgress is fleet.Options.Progress drawing each cluster's count on
// line ("prod-eu: 1,240 of 2,000 objects compared"); nil when line is.
func scanProgress(line *progress.Line) func(cluster string, compared, total int) {
	if line == nil {
		return nil
	}
	return func(cluster string, compared, total int) {
		line.Set(cluster, cluster+": "+progress.Count(compared)+" of "+progress.Count(total)+" "+plural.Noun(total, "object")+" compared")
	}
}

// bakeCountdown is rollout.Options.Baking showing the time left of a
// wave's bake on standard error ("bake canary: 2m30s left"), when it is a
// terminal; nil otherwise.
func (g *globalOptions) bakeCountdown() func(wave string, left time.Duration) {
	if _, ok := terminalWidth(g.rawErr); !ok {
		return nil
	}
	var mu sync.Mutex // guards line
	var line *progress.Line
	return func(wave string, left time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if left <= 0 {
			if line != nil {
				line.Stop()
				line = nil
			}
			return
		}
		if line == nil {
			line = g.progressLine()
		}
		line.Set("bake", "bake "+wave+": "+progress.Left(left)+" left")
	}
}
