package queue

import (
	"testing"
	"time"
)

func TestWithinKeepsOnlyTheWindow(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ts := []time.Time{now.Add(-11 * time.Minute), now.Add(-10 * time.Minute), now.Add(-9 * time.Minute), now}
	if got := within(ts, now, 10*time.Minute); len(got) != 2 || !got[0].Equal(ts[2]) {
		t.Errorf("within 10m = %v, want the last two", got)
	}
}
