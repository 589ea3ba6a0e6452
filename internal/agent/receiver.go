package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/store"
)

// Cursors is where the hub keeps its place in each agent's outbox, and
// the fixes asked of agents.
type Cursors interface {
	AgentCursor(ctx context.Context, cluster string) (store.AgentCursor, error)
	SetAgentCursor(ctx context.Context, c store.AgentCursor) error
	AgentCursors(ctx context.Context) ([]store.AgentCursor, error)
	AddAgentFix(ctx context.Context, cluster, state, fix string) (int64, error)
	SetAgentFix(ctx context.Context, id int64, state, fix string) error
	AgentFixes(ctx context.Context, cluster, state string) ([]store.AgentFix, error)
}

// ReceiverOptions tune a Receiver.
type ReceiverOptions struct {
	// Timeout: an agent not heard from for this long is disconnected.
	// Default 30 seconds (three of the agent's default heartbeats).
	Timeout time.Duration
	// Reserved are the clusters the hub watches itself; an agent may not
	// send under their names.
	Reserved []string
}

// ErrRefused wraps the reasons a batch is refused as a whole (a cluster
// the hub watches itself, entries missing), as against the store failing.
var ErrRefused = errors.New("refused")

// ErrNotFound is returned for a fix that does not exist.
var ErrNotFound = errors.New("not found")

// Receiver applies agents' batches on the hub.
type Receiver struct {
	st      store.Writer
	cursors Cursors
	publish func(event.Event)
	opts    ReceiverOptions

	// mu guards agents and fixAdded, and serializes the batches (one at a
	// time in all: they are small, and a store write each) and the fixes'
	// reports. fixAdded is closed (and made again) when a fix is
	// requested.
	mu       sync.Mutex
	agents   map[string]*agentState
	fixAdded chan struct{}
	// closed is closed by Close.
	closed    chan struct{}
	closeOnce sync.Once
}

type agentState struct {
	status   event.Status
	lastSeen time.Time
	// heard: a batch came since this hub started.
	heard bool
}

// NewReceiver applies batches to st, keeps its place in cursors and
// publishes each transition as a watcher would.
func NewReceiver(ctx context.Context, st store.Writer, cursors Cursors, publish func(event.Event), opts ReceiverOptions) (*Receiver, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	r := &Receiver{st: st, cursors: cursors, publish: publish, opts: opts, agents: map[string]*agentState{}, fixAdded: make(chan struct{}), closed: make(chan struct{})}
	// The agents heard from before a restart are listed, disconnected,
	// until they are heard from again.
	cs, err := cursors.AgentCursors(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent cursors: %w", err)
	}
	for _, c := range cs {
		r.agents[c.Cluster] = &agentState{status: event.Status{Name: c.Cluster}, lastSeen: c.SeenAt}
	}
	return r, nil
}

// Apply applies the entries of b the hub has not applied yet, in order,
// and returns the last one applied. An entry is recorded as applied right
// after it is: should the hub stop in between, the one entry applied again
// is the last word on its object, which the store finds unchanged.
func (r *Receiver) Apply(ctx context.Context, cluster string, b Batch) (Ack, error) {
	if slices.Contains(r.opts.Reserved, cluster) {
		return Ack{}, fmt.Errorf("%w: cluster %s is watched by the hub itself, not by an agent", ErrRefused, cluster)
	}
	if b.Stream == "" {
		return Ack{}, fmt.Errorf("%w: cluster %s: the batch names no stream", ErrRefused, cluster)
	}
	if err := validate(b); err != nil {
		return Ack{}, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.cursors.AgentCursor(ctx, cluster)
	if err != nil {
		return Ack{}, err
	}
	if c.Stream != b.Stream {
		// The agent's outbox is new (its disk was lost or replaced): its
		// numbers start again.
		c = store.AgentCursor{Cluster: cluster, Stream: b.Stream}
	}
	now := time.Now()
	c.SeenAt = now
	for _, e := range b.Entries {
		if e.Seq <= c.Applied {
			continue // applied before; its answer was lost
		}
		if e.Seq != c.Applied+1 {
			return Ack{}, fmt.Errorf("%w: cluster %s: entry %d follows %d: entries are missing", ErrRefused, cluster, e.Seq, c.Applied)
		}
		if err := r.apply(ctx, cluster, e); err != nil {
			return Ack{}, fmt.Errorf("cluster %s: entry %d: %w", cluster, e.Seq, err)
		}
		c.Applied = e.Seq
		if err := r.cursors.SetAgentCursor(ctx, c); err != nil {
			return Ack{}, err
		}
	}
	if len(b.Entries) == 0 {
		if err := r.cursors.SetAgentCursor(ctx, c); err != nil {
			return Ack{}, err
		}
	}
	status := b.Status
	status.Name = cluster
	r.agents[cluster] = &agentState{status: status, lastSeen: now, heard: true}
	return Ack{Stream: c.Stream, Applied: c.Applied}, nil
}

func (r *Receiver) apply(ctx context.Context, cluster string, e Entry) error {
	switch e.Kind {
	case KindObserve:
		if e.Finding != nil {
			e.Finding.Cluster = cluster
		}
		tr, err := r.st.Observe(ctx, cluster, e.Key, e.Finding, e.By, e.At)
		if err != nil {
			return err
		}
		if tr != store.Unchanged && r.publish != nil {
			r.publish(event.Event{Cluster: cluster, FindingID: store.FindingID(cluster, e.Key), Transition: tr, Finding: e.Finding, At: e.At})
		}
		return nil
	case KindRelocate:
		if e.Origin == nil {
			return fmt.Errorf("relocate without an origin")
		}
		return r.st.Relocate(ctx, cluster, e.Key, *e.Origin)
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
}

// Close ends the long polls for fixes (the server is shutting down).
func (r *Receiver) Close() { r.closeOnce.Do(func() { close(r.closed) }) }

// Known reports whether an agent has sent anything for cluster.
func (r *Receiver) Known(cluster string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.agents[cluster] != nil
}

// Statuses lists the agents' clusters, by name: the status each last
// sent, and whether it was heard from within the timeout.
func (r *Receiver) Statuses() []event.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]event.Status, 0, len(r.agents))
	for _, a := range r.agents {
		s := a.status
		s.Agent = true
		if !a.lastSeen.IsZero() {
			seen := a.lastSeen
			s.LastSeen = &seen
		}
		if !a.heard || time.Since(a.lastSeen) > r.opts.Timeout {
			s.State = event.StateDisconnected
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b event.Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}
