package cli

import (
	"flag"
	"io"
	"log/slog"
	"strconv"

	"k8s.io/klog/v2"
)

// newLogger builds the one slog logger of a plumb process. verbosity follows
// kubectl's -v: 0 shows warnings and errors, 1 adds progress, 2 and more add
// debug detail, and from 6 on client-go logs every request it makes.
func newLogger(w io.Writer, verbosity int) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case verbosity >= 2:
		// klog's V(n) arrives as slog level -n: -v 6 must let V(6), where
		// client-go logs requests, through.
		level = min(slog.LevelDebug, slog.Level(-verbosity))
	case verbosity == 1:
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))

	// Route klog (client-go, apimachinery) into the same handler, at the same
	// verbosity, so there is one log stream with one format.
	klog.SetSlogLogger(logger)
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	return logger
}
