package sourcewatch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestPoll: a group is reported only when one of its sources' versions
// moved; a failed reading keeps the last version and is retried before
// the interval; a source unknown at load time counts as moved once read.
func TestPoll(t *testing.T) {
	var mu sync.Mutex
	versions := map[string]string{"git-a": "c1", "helm-b": "1", "git-c": "c9"}
	failing := map[string]bool{}
	set := func(spec, v string, fail bool) {
		mu.Lock()
		defer mu.Unlock()
		versions[spec], failing[spec] = v, fail
	}
	now := make(chan struct{})
	changed := make(chan int, 10)
	outcomes := make(chan string, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := Poll{
		Groups: [][]string{{"git-a", "helm-b"}, {"git-c"}},
		Seen:   []map[string]string{{"git-a": "c1", "helm-b": "1"}, {}},
		Version: func(_ context.Context, _ int, spec string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if failing[spec] {
				return "", errors.New("unreachable")
			}
			return versions[spec], nil
		},
		Interval: time.Hour,
		Now:      now,
		Observe:  func(group int, outcome string) { outcomes <- outcome },
	}
	go p.Run(ctx, func(i int) { changed <- i })
	expect := func(what string, want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-outcomes:
				if got != w {
					t.Fatalf("%s: outcome %q, want %q", what, got, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no outcome", what)
			}
		}
	}

	now <- struct{}{}
	expect("first reading", Unchanged, Moved) // group 1 was not known at load
	if i := <-changed; i != 1 {
		t.Fatalf("changed group %d, want 1", i)
	}

	set("helm-b", "2", false)
	now <- struct{}{}
	expect("helm-b moved", Moved, Unchanged)
	if i := <-changed; i != 0 {
		t.Fatalf("changed group %d, want 0", i)
	}

	set("git-a", "c2", true) // moved, but cannot be read yet
	now <- struct{}{}
	expect("git-a unreadable", Failed, Unchanged)
	set("git-a", "c2", false)
	expect("retried before the interval", Moved, Unchanged)
	if i := <-changed; i != 0 {
		t.Fatalf("changed group %d, want 0", i)
	}
	select {
	case i := <-changed:
		t.Fatalf("group %d reported with nothing moved", i)
	default:
	}
}
