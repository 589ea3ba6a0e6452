package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/store"
)

// Wave is one wave of a rollout with its clusters, in the file's order.
type Wave struct {
	Name     string
	Clusters []string
	// MaxParallel bounds how many clusters are fixed at once; at least 1.
	MaxParallel int
	// Bake is how long the wave is watched for drift once fixed.
	Bake time.Duration
}

// Waves assigns clusters to the rollout's waves: each cluster to the first
// wave whose selector matches it. Unassigned are the clusters no wave
// selects; they are not fixed. A wave that selects no cluster is left out.
func Waves(r *config.Rollout, clusters []config.Cluster) (waves []Wave, unassigned []string) {
	taken := map[string]bool{}
	for _, w := range r.Waves {
		wave := Wave{Name: w.Name, MaxParallel: max(w.MaxParallel, 1), Bake: w.Bake.Duration}
		for _, c := range clusters {
			if !taken[c.Name] && w.Selector().Matches(labels.Set(c.Labels)) {
				taken[c.Name] = true
				wave.Clusters = append(wave.Clusters, c.Name)
			}
		}
		if len(wave.Clusters) > 0 {
			waves = append(waves, wave)
		}
	}
	for _, c := range clusters {
		if !taken[c.Name] {
			unassigned = append(unassigned, c.Name)
		}
	}
	return waves, unassigned
}

// Remaining are the waves a resumed rollout still has to do: waves from
// the first one the record does not show fixed in full. A wave that
// stopped is done again, with fresh plans.
func Remaining(waves []Wave, recorded []store.RunWave) []Wave {
	for i, w := range waves {
		for _, c := range w.Clusters {
			if !slices.ContainsFunc(recorded, func(r store.RunWave) bool {
				return r.Wave == w.Name && r.Cluster == c && r.Status == string(StatusFixed)
			}) {
				return waves[i:]
			}
		}
	}
	return nil
}

// Status is how far one cluster of a wave got.
type Status string

const (
	StatusPending Status = "pending"
	StatusFixed   Status = "fixed"
	StatusFailed  Status = "failed"
	// StatusDrifted: fixed, then new drift appeared while the wave baked.
	StatusDrifted Status = "drifted"
)

// Fleet fixes and scans clusters for a rollout.
type Fleet interface {
	// Fix plans and applies one cluster's fix. An error, or a fix not
	// applied in full, fails the wave.
	Fix(ctx context.Context, cluster string) error
	// Drifted returns the objects that differ from their declaration in
	// cluster now, each as a key such as "Deployment shop/web".
	Drifted(ctx context.Context, cluster string) ([]string, error)
}

// Options tune a rollout.
type Options struct {
	// Interval is how often a baking wave is rescanned; its last scan is
	// when the bake ends. Default 2s.
	Interval time.Duration
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
	// Baking, when set, is called about every second while a wave bakes,
	// with the time left, and once with 0 when its bake ends (a
	// countdown). Default: nil.
	Baking func(wave string, left time.Duration)
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{Interval: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)}
}

// Result is what a rollout did: one entry per cluster of every wave, in
// wave order, with Stopped saying why it stopped early ("" when every
// wave was fixed and baked).
type Result struct {
	Clusters []store.RunWave
	Stopped  string
	// Left are the waves not finished, the stopped one first.
	Left []string
}

// Run fixes waves in order. It stops after a wave in which a cluster
// failed, or in which new drift appeared while it baked; the waves after
// it stay pending. Run returns early only when ctx ends, with the rollout
// marked stopped.
func Run(ctx context.Context, waves []Wave, f Fleet, opts Options) Result {
	def := DefaultOptions()
	if opts.Interval <= 0 {
		opts.Interval = def.Interval
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	var res Result
	for _, w := range waves {
		for _, c := range w.Clusters {
			res.Clusters = append(res.Clusters, store.RunWave{Wave: w.Name, Cluster: c, Status: string(StatusPending)})
		}
	}
	at := 0 // index in res.Clusters of the wave's first cluster
	for i, w := range waves {
		rows := res.Clusters[at : at+len(w.Clusters)]
		at += len(w.Clusters)
		if why := fixWave(ctx, w, rows, f, opts); why != "" {
			res.Stopped = fmt.Sprintf("wave %s: %s", w.Name, why)
		} else if why := bake(ctx, w, rows, f, opts); why != "" {
			res.Stopped = fmt.Sprintf("wave %s: %s", w.Name, why)
		}
		if res.Stopped != "" {
			for _, l := range waves[i:] {
				res.Left = append(res.Left, l.Name)
			}
			opts.Logger.Warn("rollout stopped", "wave", w.Name, "reason", res.Stopped)
			return res
		}
		opts.Logger.Info("wave done", "wave", w.Name, "clusters", len(w.Clusters))
	}
	return res
}

// fixWave fixes the wave's clusters, at most MaxParallel at once, and
// says why the wave failed ("" when it did not).
func fixWave(ctx context.Context, w Wave, rows []store.RunWave, f Fleet, opts Options) string {
	var g errgroup.Group
	g.SetLimit(max(w.MaxParallel, 1))
	for i := range rows {
		g.Go(func() error {
			r := &rows[i]
			if ctx.Err() != nil {
				r.Message = ctx.Err().Error()
				return nil
			}
			r.StartedAt = time.Now()
			err := f.Fix(ctx, r.Cluster)
			r.FinishedAt = time.Now()
			r.Status = string(StatusFixed)
			if err != nil {
				r.Status, r.Message = string(StatusFailed), err.Error()
			}
			opts.Logger.Info("cluster fixed", "wave", w.Name, "cluster", r.Cluster, "err", err)
			return nil
		})
	}
	_ = g.Wait()
	var failed []string
	for _, r := range rows {
		if r.Status != string(StatusFixed) {
			failed = append(failed, r.Cluster)
		}
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err().Error()
	case len(failed) == 1:
		return fmt.Sprintf("cluster %s failed", failed[0])
	case len(failed) > 1:
		return fmt.Sprintf("clusters %v failed", failed)
	}
	return ""
}

// countdown calls baking with the time left until end every second, until
// the function it returns is called; that calls baking once more with 0.
func countdown(wave string, end time.Time, baking func(string, time.Duration)) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			baking(wave, time.Until(end))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		baking(wave, 0)
	}
}

// bake rescans the wave's clusters until w.Bake has passed, and says
// which new drift appeared ("" when none did). Drift that was there right
// after the fix (what the fix could not or would not put back) is the
// baseline; anything beyond it stops the rollout.
func bake(ctx context.Context, w Wave, rows []store.RunWave, f Fleet, opts Options) string {
	if w.Bake <= 0 {
		return ""
	}
	end := time.Now().Add(w.Bake)
	if opts.Baking != nil {
		stop := countdown(w.Name, end, opts.Baking)
		defer stop()
	}
	baseline := make([]map[string]bool, len(rows))
	scan := func(first bool) string {
		var mu sync.Mutex // guards why
		var why []string
		var g errgroup.Group
		g.SetLimit(max(w.MaxParallel, 1))
		for i := range rows {
			g.Go(func() error {
				keys, err := f.Drifted(ctx, rows[i].Cluster)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					rows[i].Status, rows[i].Message = string(StatusFailed), "while baking: "+err.Error()
					why = append(why, fmt.Sprintf("cluster %s could not be scanned: %v", rows[i].Cluster, err))
					return nil
				}
				if first {
					baseline[i] = map[string]bool{}
					for _, k := range keys {
						baseline[i][k] = true
					}
					return nil
				}
				var fresh []string
				for _, k := range keys {
					if !baseline[i][k] {
						fresh = append(fresh, k)
					}
				}
				if len(fresh) > 0 {
					rows[i].Status = string(StatusDrifted)
					rows[i].Message = fmt.Sprintf("new drift while baking: %v", fresh)
					why = append(why, fmt.Sprintf("cluster %s drifted while baking: %v", rows[i].Cluster, fresh))
				}
				return nil
			})
		}
		_ = g.Wait()
		slices.Sort(why)
		switch len(why) {
		case 0:
			return ""
		case 1:
			return why[0]
		}
		return fmt.Sprintf("%s, and %d more", why[0], len(why)-1)
	}
	if why := scan(true); why != "" {
		return why
	}
	interval := min(opts.Interval, w.Bake)
	for {
		wait := min(interval, time.Until(end))
		if wait > 0 {
			select {
			case <-ctx.Done():
				return "stopped while baking: " + ctx.Err().Error()
			case <-time.After(wait):
			}
		}
		if why := scan(false); why != "" {
			return why
		}
		if !time.Now().Before(end) {
			return ""
		}
	}
}
