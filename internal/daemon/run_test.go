package daemon

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRunStopsEveryPartWhenOneFails: a part that cannot go on ends the
// others' context, and Run returns its error once they all stopped.
func TestRunStopsEveryPartWhenOneFails(t *testing.T) {
	broken := errors.New("store unreachable")
	stopped := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(),
			forever(func(ctx context.Context) { <-ctx.Done(); close(stopped) }),
			RunnableFunc(func(context.Context) error { return broken }),
		)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, broken) {
			t.Errorf("Run = %v, want the failing part's error", err)
		}
		select {
		case <-stopped:
		default:
			t.Error("Run returned before the other part stopped")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a part failed")
	}
}

// TestRunEndsWithItsContext: when ctx ends, every part stops and Run
// returns nil.
func TestRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, forever(func(ctx context.Context) { <-ctx.Done() }), forever(func(ctx context.Context) { <-ctx.Done() }))
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
