// Package notify tells people about drift: a generic JSON webhook and a
// Slack-compatible incoming webhook, sent when a finding opens and when it
// resolves, when a remediation needs a person (it waits for approval,
// was refused, failed, or stopped because something fights it), and when
// a cluster's sources stop loading cleanly and when they load again.
// Notifications are deduplicated, rate-limited per sink, and retried with
// exponential backoff; a failure is logged and counted and never slows
// detection or remediation down, because publishing only queues.
//
// It must not block whoever publishes to it, and never sends a Secret's
// values (findings arrive masked).
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	"plumb.dev/plumb/internal/plural"

	"golang.org/x/time/rate"

	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Kind is a sink's payload format.
type Kind string

const (
	// Webhook posts the event as JSON (see Payload).
	Webhook Kind = "webhook"
	// Slack posts {"text": "..."} to a Slack incoming webhook.
	Slack Kind = "slack"
)

// Sink is one destination.
type Sink struct {
	Kind Kind
	URL  string
}

// Options tune the notifier.
type Options struct {
	// PerMinute limits notifications per sink. Default 30.
	PerMinute int
	// Retries after the first attempt. Default 5.
	Retries int
	// Backoff is the first retry's delay, doubling each time. Default 1s.
	Backoff time.Duration
	// Queue bounds notifications waiting to be sent; beyond it they are
	// dropped and counted. Default 1000.
	Queue int
	// Client sends the requests. Default: a client with a 10s timeout.
	Client *http.Client
	// Logger and Metrics; both optional.
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// HoldOpened delays the notification of an opened finding by this
	// much, for the audit webhook to name the users behind its changes
	// (they arrive in a batch after the watch event): an update within the
	// hold replaces the finding notified, and once every change with a
	// manager names its user it goes at once. Default 0: no hold.
	HoldOpened time.Duration
}

// Payload is what the generic webhook receives: either a finding's event
// or a remediation, with a line for people.
type Payload struct {
	APIVersion  string             `json:"apiVersion"`
	Kind        string             `json:"kind"`
	Event       *event.Event       `json:"event,omitempty"`
	Remediation *queue.Remediation `json:"remediation,omitempty"`
	Sources     *SourceReport      `json:"sources,omitempty"`
	Summary     string             `json:"summary"`
}

// SourceReport says what is wrong with a cluster's sources: the errors of
// their last load, and how many declarations it kept from an earlier load
// because of them. No errors: they load cleanly again.
type SourceReport struct {
	Cluster          string         `json:"cluster"`
	Errors           []source.Error `json:"errors"`
	KeptDeclarations int            `json:"keptDeclarations"`
}

// signature is what makes two reports the same news.
func (r SourceReport) signature() string {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// message is one notification to send: exactly one field is set.
type message struct {
	event       *event.Event
	remediation *queue.Remediation
	sources     *SourceReport
}

// about names what a message is about, for logs.
func (m message) about() string {
	switch {
	case m.event != nil:
		return m.event.FindingID
	case m.sources != nil:
		return "the sources of " + m.sources.Cluster
	}
	return fmt.Sprintf("remediation %d of %s", m.remediation.ID, m.remediation.FindingID)
}

// Notifier queues and sends notifications.
type Notifier struct {
	sinks []Sink
	opts  Options
	queue chan message

	mu sync.Mutex
	// last and held guarded by mu: the last transition notified per
	// finding, and opened findings held for their users (HoldOpened).
	last map[string]store.Transition
	held map[string]*event.Event
	// sources guarded by mu: the signature of the last source report
	// notified per cluster.
	sources map[string]string
}

// New returns a notifier for sinks; Start sends.
func New(sinks []Sink, opts Options) *Notifier {
	if opts.PerMinute <= 0 {
		opts.PerMinute = 30
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Queue <= 0 {
		opts.Queue = 1000
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{sinks: sinks, opts: opts, queue: make(chan message, opts.Queue), last: map[string]store.Transition{}, held: map[string]*event.Event{},
		sources: map[string]string{}}
}

// Publish queues e if it is worth a notification; it never blocks.
func (n *Notifier) Publish(e event.Event) {
	if len(n.sinks) == 0 {
		return
	}
	n.mu.Lock()
	if held := n.held[e.FindingID]; held != nil {
		switch e.Transition {
		case store.Updated:
			held.Finding = e.Finding // the users, once the audit batch came
			if named(e) {
				n.release(e.FindingID)
			}
		case store.Resolved:
			n.release(e.FindingID)
		}
	}
	if e.Transition != store.Opened && e.Transition != store.Resolved || n.last[e.FindingID] == e.Transition {
		n.mu.Unlock()
		return
	}
	n.last[e.FindingID] = e.Transition
	if e.Transition == store.Opened && n.opts.HoldOpened > 0 && !named(e) {
		n.held[e.FindingID] = &e
		n.mu.Unlock()
		time.AfterFunc(n.opts.HoldOpened, func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			if n.held[e.FindingID] == &e {
				n.release(e.FindingID)
			}
		})
		return
	}
	n.mu.Unlock()
	n.enqueue(message{event: &e})
}

// release queues the held notification of finding id. Callers hold mu.
func (n *Notifier) release(id string) {
	e := n.held[id]
	delete(n.held, id)
	n.enqueue(message{event: e})
}

// named reports whether every change of e's finding that has a manager
// also names its user.
func named(e event.Event) bool {
	if e.Finding == nil {
		return true
	}
	for _, c := range e.Finding.Changes {
		if c.Manager != "" && c.User == nil {
			return false
		}
	}
	return true
}

// PublishRemediation queues a notification that r needs a person; it
// never blocks. The remediation queue calls it once each time a remediation enters
// the pending, refused, fighting or failed state, so it is not
// deduplicated again here.
func (n *Notifier) PublishRemediation(r queue.Remediation) {
	if len(n.sinks) == 0 {
		return
	}
	n.enqueue(message{remediation: &r})
}

// PublishSources queues a notification that r's cluster's sources no
// longer load cleanly, load with other errors, or load cleanly again; a
// report that says what the last one said is not sent again. It never
// blocks.
func (n *Notifier) PublishSources(r SourceReport) {
	if len(n.sinks) == 0 {
		return
	}
	sig := r.signature()
	n.mu.Lock()
	same := n.sources[r.Cluster] == sig
	n.sources[r.Cluster] = sig
	n.mu.Unlock()
	if !same {
		n.enqueue(message{sources: &r})
	}
}

func (n *Notifier) enqueue(m message) {
	select {
	case n.queue <- m:
	default:
		n.count("all", "dropped")
		n.opts.Logger.Warn("notification queue full; dropped", "about", m.about())
	}
}

// Start sends queued notifications until ctx ends, one worker per sink so
// a slow sink does not hold the others.
func (n *Notifier) Start(ctx context.Context) {
	chans := make([]chan message, len(n.sinks))
	var wg sync.WaitGroup
	for i, s := range n.sinks {
		chans[i] = make(chan message, n.opts.Queue)
		limiter := rate.NewLimiter(rate.Every(time.Minute/time.Duration(n.opts.PerMinute)), n.opts.PerMinute)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range chans[i] {
				if err := limiter.Wait(ctx); err != nil {
					return
				}
				n.deliver(ctx, s, m)
			}
		}()
	}
	defer func() {
		for _, c := range chans {
			close(c)
		}
		wg.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-n.queue:
			for i := range n.sinks {
				select {
				case chans[i] <- m:
				default:
					n.count(string(n.sinks[i].Kind), "dropped")
				}
			}
		}
	}
}

// deliver sends one notification with retries.
func (n *Notifier) deliver(ctx context.Context, s Sink, m message) {
	body, err := payload(s.Kind, m)
	if err != nil {
		n.count(string(s.Kind), "failed")
		return
	}
	delay := n.opts.Backoff
	for attempt := 0; ; attempt++ {
		err = n.post(ctx, s.URL, body)
		if err == nil {
			n.count(string(s.Kind), "sent")
			return
		}
		var perm permanentError
		if attempt == n.opts.Retries || errors.As(err, &perm) {
			n.count(string(s.Kind), "failed")
			n.opts.Logger.Warn("notification failed", "sink", s.Kind, "to", redactURL(s.URL), "about", m.about(), "attempts", attempt+1, "err", redactErr(err))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// redactURL is a sink's URL as it may be logged: scheme and host. The
// path and query of a Slack or webhook URL are its secret.
func redactURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.Host == "" {
		return "(a URL that does not parse)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// redactErr is err without the URL a failed request names in it.
func redactErr(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, redactURL(ue.URL), ue.Err)
	}
	return err
}

// permanentError is a response that retrying will not change (4xx).
type permanentError struct{ code int }

func (p permanentError) Error() string { return fmt.Sprintf("HTTP %d", p.code) }

func (n *Notifier) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanentError{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "plumb")
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return permanentError{resp.StatusCode}
}

func (n *Notifier) count(sink, outcome string) {
	if n.opts.Metrics != nil {
		n.opts.Metrics.Notifications.WithLabelValues(sink, outcome).Inc()
	}
}

// payload renders m for a sink.
func payload(k Kind, m message) ([]byte, error) {
	var text string
	switch {
	case m.event != nil:
		text = Summary(*m.event)
	case m.sources != nil:
		text = SourceSummary(*m.sources)
	default:
		text = RemediationSummary(*m.remediation)
	}
	if k == Slack {
		return json.Marshal(map[string]string{"text": text})
	}
	return json.Marshal(Payload{APIVersion: "plumb.dev/v1alpha1", Kind: "Notification", Event: m.event, Remediation: m.remediation, Sources: m.sources, Summary: text})
}

// SourceSummary is one line about a cluster's sources, for people.
func SourceSummary(r SourceReport) string {
	if len(r.Errors) == 0 {
		return fmt.Sprintf("plumb: the sources of %s load cleanly again", r.Cluster)
	}
	msg := fmt.Sprintf("plumb: the sources of %s do not load: %s", r.Cluster, r.Errors[0].Error())
	if len(r.Errors) > 1 {
		msg += " (" + plural.Count(len(r.Errors), "error") + " in all)"
	}
	switch {
	case r.KeptDeclarations == 1:
		msg += "; 1 declaration is kept as last loaded until the source is fixed"
	case r.KeptDeclarations > 1:
		msg += fmt.Sprintf("; %s %s kept as last loaded until the source is fixed", plural.Count(r.KeptDeclarations, "declaration"), plural.Noun(r.KeptDeclarations, "is", "are"))
	}
	return msg
}

// RemediationSummary is one line about a remediation that needs a person.
func RemediationSummary(r queue.Remediation) string {
	obj := strings.TrimPrefix(r.FindingID, r.Cluster+"/")
	if len(r.Plan.Steps) > 0 {
		obj = r.Plan.Steps[0].Object()
	}
	head := fmt.Sprintf("plumb: %s on %s: remediation %d", obj, r.Cluster, r.ID)
	switch r.State {
	case queue.StatePending:
		return fmt.Sprintf("%s waits for approval (%s); approve it with POST /api/v1/remediations/%d/approve?hash=%s", head, r.Reason, r.ID, r.Hash)
	case queue.StateFighting:
		msg := head + " stopped: the object keeps being changed back"
		if len(r.Managers) > 0 {
			msg += " by " + strings.Join(r.Managers, ", ")
		}
		return fmt.Sprintf("%s (%s)", msg, r.Reason)
	}
	return fmt.Sprintf("%s %s: %s", head, r.State, r.Reason)
}

// Summary is one line about an event, for people.
func Summary(e event.Event) string {
	obj := strings.TrimPrefix(e.FindingID, e.Cluster+"/")
	if e.Finding != nil {
		obj = e.Finding.Kind + " " + e.Finding.Name
		if e.Finding.Namespace != "" {
			obj = e.Finding.Kind + " " + e.Finding.Namespace + "/" + e.Finding.Name
		}
	}
	if e.Transition == store.Resolved {
		return fmt.Sprintf("plumb: %s on %s is back in sync", obj, e.Cluster)
	}
	var parts []string
	for i, c := range e.Finding.Changes {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Finding.Changes)-3))
			break
		}
		p := c.Path + " " + string(c.Type)
		switch {
		case c.User != nil && c.Manager != "":
			p += " by " + c.User.String() + " (" + c.Manager + ")"
		case c.Manager != "":
			p += " by " + c.Manager
		}
		parts = append(parts, p)
	}
	msg := fmt.Sprintf("plumb: %s on %s %s", obj, e.Cluster, e.Finding.State)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}
