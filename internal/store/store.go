package store

import (
	"context"
	"errors"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

// Transition is what one observation did to a finding's history.
type Transition string

const (
	// Unchanged: the object is as it was last observed.
	Unchanged Transition = "unchanged"
	// Opened: the object started to differ; a new event.
	Opened Transition = "opened"
	// Updated: it still differs, in another way.
	Updated Transition = "updated"
	// Resolved: it is back in sync; its event is closed.
	Resolved Transition = "resolved"
)

// Writer records observations.
type Writer interface {
	// Observe records the state of one object: f is its finding, or nil
	// when it is in sync. by says what resolved it, when it did.
	Observe(ctx context.Context, cluster string, key drift.ObjectKey, f *drift.Finding, by string, at time.Time) (Transition, error)
	// Relocate records that an object with a finding is now declared at
	// origin (a new commit, a new release revision) with the same
	// declaration, so that the finding stands as it is. It does nothing
	// when the object has no finding.
	Relocate(ctx context.Context, cluster string, key drift.ObjectKey, origin source.Origin) error
	// Prune deletes resolved events that ended before t.
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// Reader answers questions about the present and the past.
type Reader interface {
	// Findings lists current findings, filtered.
	Findings(ctx context.Context, f Filter) ([]Finding, error)
	// Finding returns one current finding by id, or ErrNotFound.
	Finding(ctx context.Context, id string) (*Finding, error)
	// Events lists events, newest first, filtered and paged.
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// OpenKeys lists the objects with an open finding in a cluster.
	OpenKeys(ctx context.Context, cluster string) ([]drift.ObjectKey, error)
}

// Filter narrows Findings. Empty fields match everything.
type Filter struct {
	Cluster, Namespace, Kind, Manager string
	State                             drift.State
}

// EventFilter narrows and pages Events.
type EventFilter struct {
	Filter
	// Since and Until bound opened_at; zero means unbounded.
	Since, Until time.Time
	// Before pages: only events with an id below it. 0 starts at the newest.
	Before int64
	// Limit bounds the page. Default 100, at most 1000.
	Limit int
}

// Finding is a current finding with its history's bookkeeping.
type Finding struct {
	ID string `json:"id"`
	drift.Finding
	FirstSeen  time.Time `json:"firstSeen"`
	LastChange time.Time `json:"lastChange"`
	EventID    int64     `json:"eventId"`
}

// Event is one finding's life, open or resolved.
type Event struct {
	ID         int64          `json:"id"`
	FindingID  string         `json:"findingId"`
	Cluster    string         `json:"cluster"`
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Namespace  string         `json:"namespace,omitempty"`
	Name       string         `json:"name"`
	State      drift.State    `json:"state"`
	Changes    []drift.Change `json:"changes"`
	Managers   []string       `json:"managers"`
	OpenedAt   time.Time      `json:"openedAt"`
	UpdatedAt  time.Time      `json:"updatedAt"`
	Updates    int            `json:"updates"`
	ResolvedAt *time.Time     `json:"resolvedAt,omitempty"`
	ResolvedBy string         `json:"resolvedBy,omitempty"`
}

// FindingID names a finding: cluster/group/kind/namespace/name.
func FindingID(cluster string, k drift.ObjectKey) string {
	return cluster + "/" + k.Group + "/" + k.Kind + "/" + k.Namespace + "/" + k.Name
}

// NameUsers puts on each change of findings (a scan's) the user that plumb
// serve recorded for the same change, when r holds its finding: the same
// field, manager and managedFields time. It changes nothing else, and
// findings r does not hold are left as they are.
func NameUsers(ctx context.Context, r Reader, findings []drift.Finding) error {
	for i := range findings {
		f := &findings[i]
		stored, err := r.Finding(ctx, FindingID(f.Cluster, f.Key()))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		for j := range f.Changes {
			c := &f.Changes[j]
			for _, s := range stored.Changes {
				if s.User != nil && s.Path == c.Path && s.Manager == c.Manager && sameTime(s.Time, c.Time) {
					c.User = s.User
					break
				}
			}
		}
	}
	return nil
}

func sameTime(a, b *time.Time) bool { return a != nil && b != nil && a.Equal(*b) }
