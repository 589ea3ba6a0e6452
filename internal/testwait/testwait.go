// Package testwait is the one way tests wait for something that happens
// asynchronously (a watcher's finding, a webhook registered, a replica
// taking a Lease): poll a condition until it holds or a deadline passes.
// It is for tests only; nothing in plumb imports it.
package testwait

import (
	"testing"
	"time"
)

// For polls cond every 100 ms until it holds, and returns how long that
// took; if it does not hold within d, the test fails, naming what it
// waited for.
func For(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}
