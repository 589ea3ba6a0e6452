package event

import (
	"slices"
	"testing"
)

// TestBusDeliversToEverySubscriberInOrder, and refuses a subscriber that
// comes after the first event (it would have missed it).
func TestBusDeliversToEverySubscriberInOrder(t *testing.T) {
	var b Bus
	var got []string
	b.Subscribe(func(e Event) { got = append(got, "api:"+e.FindingID) })
	b.Subscribe(func(e Event) { got = append(got, "scheduler:"+e.FindingID) })
	b.Publish(Event{FindingID: "a"})
	b.Publish(Event{FindingID: "b"})
	if want := []string{"api:a", "scheduler:a", "api:b", "scheduler:b"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Subscribe after Publish: want a panic, the subscriber would miss events")
		}
	}()
	b.Subscribe(func(Event) {})
}
