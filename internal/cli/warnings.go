package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/termsafe"
)

// summariseAnnotation marks a command that runs once and ends (scan, diff,
// fix, ...): at -v 0 its warnings are summarised when it ends, one line
// per kind of warning, instead of one log line each.
const summariseAnnotation = "plumb.dev/summarise-warnings"

// warningSummary is a slog handler that holds back warnings and writes
// each kind once, when Flush is called, with how many resources it was
// about and why ("warning: not searched for unmanaged objects (25 kinds):
// forbidden"). Other records go on to next.
type warningSummary struct {
	next slog.Handler
	*summary
}

// summary is the state every handler derived from one warningSummary
// shares.
type summary struct {
	mu sync.Mutex // guards groups and order
	// groups are the warnings held back, by message.
	groups map[string]*warningGroup
	order  []string
}

// warningGroup is one message's warnings.
type warningGroup struct {
	count int
	// first are the first warning's attributes, shown when it is alone.
	first     []string
	resources map[string]bool
	reasons   map[string]bool
}

func newWarningSummary(next slog.Handler) *warningSummary {
	return &warningSummary{next: next, summary: &summary{groups: map[string]*warningGroup{}}}
}

func (h *warningSummary) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *warningSummary) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[r.Message]
	if g == nil {
		g = &warningGroup{resources: map[string]bool{}, reasons: map[string]bool{}}
		h.groups[r.Message] = g
		h.order = append(h.order, r.Message)
	}
	g.count++
	r.Attrs(func(a slog.Attr) bool {
		if g.count == 1 {
			g.first = append(g.first, a.Key+"="+a.Value.String())
		}
		switch a.Key {
		case "resource", "kind":
			g.resources[a.Value.String()] = true
		case "err":
			g.reasons[reason(a.Value.Any())] = true
		}
		return true
	})
	return nil
}

func (h *warningSummary) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &warningSummary{next: h.next.WithAttrs(attrs), summary: h.summary}
}

func (h *warningSummary) WithGroup(name string) slog.Handler {
	return &warningSummary{next: h.next.WithGroup(name), summary: h.summary}
}

// Flush writes the warnings held back, one line per message, and forgets
// them.
func (h *warningSummary) Flush(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, msg := range h.order {
		g := h.groups[msg]
		line := "warning: " + msg
		if g.count == 1 {
			// Alone, a warning is said in full.
			if len(g.first) > 0 {
				line += ": " + strings.Join(g.first, " ")
			}
			fmt.Fprintln(w, termsafe.Escape(line))
			continue
		}
		switch {
		case len(g.resources) > 0:
			line += " (" + plural.Count(len(g.resources), "kind") + ")"
		case g.count > 1:
			line += " (" + plural.Count(g.count, "time") + ")"
		}
		if len(g.reasons) > 0 {
			reasons := make([]string, 0, len(g.reasons))
			for r := range g.reasons {
				reasons = append(reasons, r)
			}
			sort.Strings(reasons)
			if len(reasons) > 3 {
				reasons = append(reasons[:3], "…")
			}
			line += ": " + strings.Join(reasons, "; ")
		}
		fmt.Fprintln(w, termsafe.Escape(line)+"; -v 1 lists each")
	}
	h.groups, h.order = map[string]*warningGroup{}, nil
}

// reason is why an error happened, in a word where the API server gave
// one (forbidden, not found), else its text.
func reason(v any) string {
	err, ok := v.(error)
	if !ok {
		return fmt.Sprint(v)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if r := apierrors.ReasonForError(err); r != "" {
			return strings.ToLower(string(r))
		}
	}
	return err.Error()
}

// warningWriter prints the API server's warnings (a deprecated API, an
// unknown field) once each, as kubectl does, instead of client-go's log
// lines.
func warningWriter(w io.Writer) rest.WarningHandler {
	return rest.NewWarningWriter(w, rest.WarningWriterOptions{Deduplicate: true})
}
