package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"plumb.dev/plumb/internal/event"
)

// ShipperOptions tune a Shipper.
type ShipperOptions struct {
	// Batch bounds the entries of one request. Default 500.
	Batch int
	// Heartbeat: the status is sent this often when nothing else is.
	// Default 10 seconds.
	Heartbeat time.Duration
	// Retry is the first wait after a failed request; it doubles up to
	// a minute. Default 1 second.
	Retry time.Duration
	// Client sends the requests. Default: http.DefaultClient's transport
	// with a 30-second timeout.
	Client *http.Client
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
}

// DefaultShipperOptions returns the defaults documented on ShipperOptions.
func DefaultShipperOptions() ShipperOptions {
	return ShipperOptions{Batch: 500, Heartbeat: 10 * time.Second, Retry: time.Second,
		Client: &http.Client{Timeout: 30 * time.Second}, Logger: slog.New(slog.DiscardHandler)}
}

// Shipper sends an outbox's entries and a cluster's status to the hub.
type Shipper struct {
	url    string
	token  string
	outbox *Outbox
	status func() event.Status
	opts   ShipperOptions
}

// NewShipper ships outbox to the hub at base (https://plumb.example.com)
// as cluster, with the bearer token.
func NewShipper(base, cluster, token string, outbox *Outbox, status func() event.Status, opts ShipperOptions) *Shipper {
	def := DefaultShipperOptions()
	if opts.Batch <= 0 {
		opts.Batch = def.Batch
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = def.Heartbeat
	}
	if opts.Retry <= 0 {
		opts.Retry = def.Retry
	}
	if opts.Client == nil {
		opts.Client = def.Client
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	u := strings.TrimSuffix(base, "/") + "/api/v1/agents/" + url.PathEscape(cluster) + "/observations"
	return &Shipper{url: u, token: token, outbox: outbox, status: status, opts: opts}
}

// Start sends until ctx ends: at once when entries are appended, and a
// heartbeat otherwise; after a failure, again with a growing wait.
func (s *Shipper) Start(ctx context.Context) {
	wait := s.opts.Retry
	down := false
	for {
		err := s.ship(ctx)
		next := s.opts.Heartbeat
		switch {
		case err != nil && ctx.Err() == nil:
			if !down {
				s.opts.Logger.Warn("cannot reach the hub; observations wait in the outbox", "err", err, "pending", s.outbox.Len())
			}
			down, next = true, wait
			wait = min(2*wait, time.Minute)
		case err == nil:
			if down {
				s.opts.Logger.Warn("hub reachable again")
			}
			down, wait = false, s.opts.Retry
			if s.outbox.Len() > 0 {
				continue // the next batch at once
			}
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.outbox.Wake():
			if down {
				// Nothing is gained by asking a hub that is down
				// sooner: wait out the retry.
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// ship sends one batch (maybe empty: the status alone) and forgets what
// the hub acknowledges.
func (s *Shipper) ship(ctx context.Context) error {
	b := Batch{Stream: s.outbox.Stream(), Status: s.status(), Entries: fitting(s.outbox.Pending(s.opts.Batch), MaxBatchBytes/2)}
	var ack Ack
	if err := request(ctx, s.opts.Client, http.MethodPost, s.url, s.token, b, &ack); err != nil {
		return err
	}
	if ack.Stream != b.Stream {
		return fmt.Errorf("POST %s: the hub acknowledged stream %q, not %q", s.url, ack.Stream, b.Stream)
	}
	return s.outbox.Ack(ack.Applied)
}

// fitting is the first of entries whose JSON stays within limit bytes, at
// least one: the hub takes a batch of up to MaxBatchBytes, and one entry
// is at most MaxFinding.
func fitting(entries []Entry, limit int) []Entry {
	size := 0
	for i, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return entries[:max(i, 1)]
		}
		if size += len(b); size > limit && i > 0 {
			return entries[:i]
		}
	}
	return entries
}
