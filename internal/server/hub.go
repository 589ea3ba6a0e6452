package server

import (
	"sync"

	"plumb.dev/plumb/internal/event"
)

// Hub fans finding changes out to stream subscribers. A subscriber that
// does not keep up loses events rather than slowing detection down.
type Hub struct {
	mu sync.Mutex
	// subs and closed guarded by mu.
	subs   map[chan event.Event]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan event.Event]struct{}{}} }

// Publish sends e to every subscriber without blocking.
func (h *Hub) Publish(e event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default: // slow subscriber: drop
		}
	}
}

// Subscribe returns a channel of events and a function to stop.
// The channel is closed when the hub closes.
func (h *Hub) Subscribe() (<-chan event.Event, func()) {
	ch := make(chan event.Event, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Close ends every subscription: streams end so the server can shut down.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
