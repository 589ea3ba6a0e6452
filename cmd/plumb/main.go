// Command plumb keeps Kubernetes clusters true to their declared state.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"plumb.dev/plumb/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
