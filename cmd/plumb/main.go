// Command plumb keeps Kubernetes clusters true to their declared state.
//
// It must stay thin: it builds the root command (package cli), runs it
// under the name it was invoked as (kubectl-plumb as a kubectl plugin),
// and exits with its code; nothing else happens here.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"plumb.dev/plumb/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.ExecuteAs(ctx, filepath.Base(os.Args[0]), os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
