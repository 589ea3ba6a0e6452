package event

import (
	"sync"
)

// Bus hands every published event to each subscriber, in the order they
// subscribed, on the publisher's goroutine: a subscriber must not block
// (the API's stream, the notifier and the remediation queue keep what
// they get). Subscribers register before the first Publish; the set is
// fixed from then on, so no part misses an event because it subscribed
// late.
type Bus struct {
	mu     sync.Mutex
	subs   []func(Event)
	sealed bool
}

// Subscribe adds f. It panics after the first Publish: a part that
// subscribes late would miss events, which is a wiring mistake.
func (b *Bus) Subscribe(f func(Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sealed {
		panic("event: Subscribe after the bus started publishing")
	}
	b.subs = append(b.subs, f)
}

// Publish hands e to every subscriber.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	b.sealed = true
	subs := b.subs
	b.mu.Unlock()
	for _, f := range subs {
		f(e)
	}
}
