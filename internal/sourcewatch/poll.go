package sourcewatch

import (
	"context"
	"maps"
	"time"
)

// DefaultInterval is how often Poll reads the remote sources' versions.
const DefaultInterval = time.Minute

// retryAfter is the first wait before a failed reading is tried again.
const retryAfter = 500 * time.Millisecond

// Poll watches sources that are not files: a Git ref, a live Helm release.
// It reads each one's version (a commit, a revision), which costs one small
// request and no load, and tells its caller which groups have a source whose
// version moved. A source whose version cannot be read is reported and
// keeps its last version: it is not loaded again until it can be read.
type Poll struct {
	// Groups are the remote sources each group is read from.
	Groups [][]string
	// Seen are the versions each group was loaded at, read before the
	// load. A missing entry (it could not be read then) makes the first
	// reading a change.
	Seen []map[string]string
	// Version reads a source's version for a group (Helm releases are read
	// from the group's own cluster).
	Version func(ctx context.Context, group int, spec string) (string, error)
	// Interval is how often to read; zero means DefaultInterval.
	Interval time.Duration
	// Now asks for a reading at once (a push webhook). It may be nil.
	Now <-chan struct{}
	// Warn reports a source whose version cannot be read.
	Warn func(spec string, err error)
	// Observe, if set, is told the outcome of each group's reading:
	// Unchanged, Moved or Failed.
	Observe func(group int, outcome string)
}

// Outcomes of a group's reading.
const (
	Unchanged = "unchanged" // every source is where it was: nothing is loaded
	Moved     = "moved"     // some source moved: the group is loaded again
	Failed    = "failed"    // some source could not be read, none moved
)

// Run reads every interval and on Now, and calls changed with each group
// whose versions moved, until ctx is done.
func (p Poll) Run(ctx context.Context, changed func(group int)) {
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	seen := make([]map[string]string, len(p.Groups))
	for i := range seen {
		seen[i] = map[string]string{}
		if i < len(p.Seen) && p.Seen[i] != nil {
			seen[i] = maps.Clone(p.Seen[i])
		}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	// A failed reading is tried again sooner than the interval, backing
	// off: a network blip, or a Helm upgrade caught between marking the old
	// revision superseded and the new one deployed.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.Now:
		case <-retry.C:
		}
		anyFailed := false
		for i, specs := range p.Groups {
			if len(specs) == 0 {
				continue
			}
			moved, failed := false, false
			for _, spec := range specs {
				v, err := p.Version(ctx, i, spec)
				if err != nil {
					if ctx.Err() == nil && p.Warn != nil {
						p.Warn(spec, err)
					}
					failed = true
					continue
				}
				if old := seen[i][spec]; old != v {
					moved = true
					seen[i][spec] = v
				}
			}
			if ctx.Err() != nil {
				return
			}
			outcome := Unchanged
			switch {
			case moved:
				outcome = Moved
				changed(i)
			case failed:
				outcome = Failed
			}
			anyFailed = anyFailed || failed
			if p.Observe != nil {
				p.Observe(i, outcome)
			}
		}
		if !anyFailed {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, retryAfter), interval)
		retry.Reset(backoff)
	}
}
