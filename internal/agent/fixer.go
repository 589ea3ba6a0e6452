package agent

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"plumb.dev/plumb/internal/drift"
)

// pollWait is how long the hub holds the agent's request for fixes.
const pollWait = 25 * time.Second

// Fixer fetches the fixes asked of the agent's cluster on the hub, applies
// each with apply, and reports on it. A fix applied whose report is lost
// is reported again, not applied again.
type Fixer struct {
	base   string
	token  string
	client *http.Client
	apply  func(context.Context, []drift.ObjectKey) FixReport
	logger *slog.Logger
	// done holds the reports not yet taken by the hub; only Start's
	// goroutine uses it.
	done map[int64]FixReport
}

// NewFixer polls the hub at base for cluster's fixes. client's timeout
// must exceed the poll's 25 seconds.
func NewFixer(base, cluster, token string, client *http.Client, logger *slog.Logger, apply func(context.Context, []drift.ObjectKey) FixReport) *Fixer {
	return &Fixer{base: strings.TrimSuffix(base, "/") + "/api/v1/agents/" + url.PathEscape(cluster) + "/fixes",
		token: token, client: client, apply: apply, logger: logger, done: map[int64]FixReport{}}
}

// Start polls until ctx ends.
func (f *Fixer) Start(ctx context.Context) {
	wait := time.Second
	for ctx.Err() == nil {
		if err := f.round(ctx); err != nil && ctx.Err() == nil {
			f.logger.Debug("fixes: cannot reach the hub", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Minute)
			continue
		}
		wait = time.Second
	}
}

// round takes the pending fixes (waiting for one) and works through them.
func (f *Fixer) round(ctx context.Context) error {
	var list struct{ Items []Fix }
	if err := request(ctx, f.client, http.MethodGet, f.base+"?wait="+pollWait.String(), f.token, nil, &list); err != nil {
		return err
	}
	for _, fix := range list.Items {
		rep, ok := f.done[fix.ID]
		if !ok {
			rep = f.apply(ctx, fix.Keys)
			f.done[fix.ID] = rep
			f.logger.Warn("fix applied", "fix", fix.ID, "objects", len(fix.Keys), "run", rep.Run, "err", rep.Error)
		}
		if err := request(ctx, f.client, http.MethodPost, f.base+"/"+strconv.FormatInt(fix.ID, 10)+"/report", f.token, rep, nil); err != nil {
			return err
		}
		delete(f.done, fix.ID)
	}
	return nil
}
