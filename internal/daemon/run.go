package daemon

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Runnable is a part that runs until ctx ends. It returns nil when it
// stopped because ctx ended, and an error when it cannot go on.
type Runnable interface {
	Start(ctx context.Context) error
}

// RunnableFunc makes a function a Runnable.
type RunnableFunc func(ctx context.Context) error

// Start calls f.
func (f RunnableFunc) Start(ctx context.Context) error { return f(ctx) }

// forever makes a part that returns nothing a Runnable.
func forever(f func(ctx context.Context)) Runnable {
	return RunnableFunc(func(ctx context.Context) error { f(ctx); return nil })
}

// Run starts every part and waits until all have returned. The first
// error ends ctx for the others, and Run returns it once they stopped.
func Run(ctx context.Context, parts ...Runnable) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, p := range parts {
		g.Go(func() error { return p.Start(ctx) })
	}
	return g.Wait()
}
