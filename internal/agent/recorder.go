package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
)

// Local is what the agent keeps of its own cluster's history.
type Local interface {
	watch.Store
	Finding(ctx context.Context, id string) (*store.Finding, error)
}

// Recorder is the store an agent's watcher writes to: every observation
// that may change a finding is appended to the outbox (and fsync'd) before
// it is recorded locally, so that nothing the local store holds is missing
// from the outbox, even if the agent dies in between. An object in sync
// with no finding, and a finding observed again as it is, are recorded
// locally only.
type Recorder struct {
	Local  Local
	Outbox *Outbox
}

var _ watch.Store = (*Recorder)(nil)

// Observe implements store.Writer.
func (r *Recorder) Observe(ctx context.Context, cluster string, key drift.ObjectKey, f *drift.Finding, by string, at time.Time) (store.Transition, error) {
	same, err := r.recorded(ctx, cluster, key, f)
	if err != nil {
		return "", err
	}
	if !same {
		if err := r.Outbox.Append(Entry{Kind: KindObserve, Key: key, Finding: f, By: by, At: at}); err != nil {
			return "", err
		}
	}
	return r.Local.Observe(ctx, cluster, key, f, by, at)
}

// recorded reports whether the local store already holds f for key as it
// is (or holds nothing, and f is nil).
func (r *Recorder) recorded(ctx context.Context, cluster string, key drift.ObjectKey, f *drift.Finding) (bool, error) {
	old, err := r.Local.Finding(ctx, store.FindingID(cluster, key))
	if errors.Is(err, store.ErrNotFound) {
		return f == nil, nil
	}
	if err != nil || f == nil {
		return false, err
	}
	if old.State != f.State || !sameJSON(old.Changes, f.Changes) || !sameJSON(old.Source, f.Source) {
		return false, nil
	}
	return true, nil
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Relocate implements store.Writer.
func (r *Recorder) Relocate(ctx context.Context, cluster string, key drift.ObjectKey, origin source.Origin) error {
	if err := r.Outbox.Append(Entry{Kind: KindRelocate, Key: key, Origin: &origin, At: time.Now()}); err != nil {
		return err
	}
	return r.Local.Relocate(ctx, cluster, key, origin)
}

// Prune implements store.Writer: the local history only; the hub prunes
// its own.
func (r *Recorder) Prune(ctx context.Context, before time.Time) (int64, error) {
	return r.Local.Prune(ctx, before)
}

// OpenKeys implements watch.Store.
func (r *Recorder) OpenKeys(ctx context.Context, cluster string) ([]drift.ObjectKey, error) {
	return r.Local.OpenKeys(ctx, cluster)
}
