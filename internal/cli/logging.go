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
//
// With summarise (a command that runs once, at -v 0), warnings are held
// back and summarised when it ends (warnings.Flush), and klog's lines
// (client-go's, apimachinery's) are not printed: the command's own errors
// say what failed. warnings is nil otherwise.
func newLogger(w io.Writer, verbosity int, summarise bool) (logger *slog.Logger, warnings *warningSummary) {
	level := slog.LevelWarn
	switch {
	case verbosity >= 2:
		// klog's V(n) arrives as slog level -n: -v 6 must let V(6), where
		// client-go logs requests, through.
		level = min(slog.LevelDebug, slog.Level(-verbosity))
	case verbosity == 1:
		level = slog.LevelInfo
	}
	var handler slog.Handler = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	summarise = summarise && verbosity == 0
	if summarise {
		warnings = newWarningSummary(handler)
		handler = warnings
	}
	logger = slog.New(handler)

	// Route klog (client-go, apimachinery) into the same handler, at the same
	// verbosity, so there is one log stream with one format; or nowhere,
	// for a command that summarises.
	if summarise {
		klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	} else {
		klog.SetSlogLogger(logger)
	}
	var fs flag.FlagSet
	klog.InitFlags(&fs)
	_ = fs.Set("v", strconv.Itoa(verbosity))
	return logger, warnings
}
