package agent

import (
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/source"
)

// Kind is what an entry asks the hub's store to do.
type Kind string

const (
	// KindObserve is store.Writer.Observe.
	KindObserve Kind = "observe"
	// KindRelocate is store.Writer.Relocate.
	KindRelocate Kind = "relocate"
)

// Entry is one observation of the agent's cluster, as journaled and sent.
type Entry struct {
	// Seq numbers the entries of one stream from 1, without gaps.
	Seq  int64           `json:"seq"`
	Kind Kind            `json:"kind"`
	Key  drift.ObjectKey `json:"key"`
	// Finding is the object's finding (KindObserve); nil when in sync.
	Finding *drift.Finding `json:"finding,omitempty"`
	// By says what resolved the finding (KindObserve, Finding nil).
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
	// Origin is the object's new declaration (KindRelocate).
	Origin *source.Origin `json:"origin,omitempty"`
}

// Batch is what the agent sends: POST /api/v1/agents/{cluster}/observations.
type Batch struct {
	// Stream names the agent's outbox; a new one (its state was lost)
	// starts its sequence numbers again.
	Stream string `json:"stream"`
	// Status is the cluster's status as the agent's watcher sees it.
	Status  event.Status `json:"status"`
	Entries []Entry      `json:"entries"`
}

// Ack is the hub's answer: the last entry of the stream it has applied.
type Ack struct {
	Stream  string `json:"stream"`
	Applied int64  `json:"applied"`
}
