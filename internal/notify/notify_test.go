package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/store"
)

// receiver is a real HTTP endpoint that records bodies and answers with
// the given status codes in turn (then 200).
type receiver struct {
	mu     sync.Mutex
	bodies []string
	codes  []int
	calls  int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	code := http.StatusOK
	if len(r.codes) > 0 {
		code, r.codes = r.codes[0], r.codes[1:]
	}
	if code == http.StatusOK {
		r.bodies = append(r.bodies, string(b))
	}
	w.WriteHeader(code)
}

func (r *receiver) snapshot() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...), r.calls
}

func findingEvent(tr store.Transition) event.Event {
	f := &drift.Finding{Cluster: "prod-eu", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", State: drift.StateDrifted,
		Changes: []drift.Change{{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: 2, Live: 5, Manager: "kubectl"}}}
	if tr == store.Resolved {
		f = nil
	}
	return event.Event{Cluster: "prod-eu", FindingID: "prod-eu/apps/Deployment/shop/web", Transition: tr, Finding: f, At: time.Now()}
}

// url serves r on loopback until the test ends.
func url(t *testing.T, r *receiver) string {
	t.Helper()
	s := httptest.NewServer(r)
	t.Cleanup(s.Close)
	return s.URL
}

// started returns a notifier for sinks, sending until the test ends, with
// retries 10 ms apart.
func started(t *testing.T, sinks []Sink) *Notifier {
	t.Helper()
	n := New(sinks, Options{Backoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go n.Start(ctx)
	return n
}

func waitCalls(t *testing.T, r *receiver, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		bodies, calls := r.snapshot()
		if calls >= n {
			return bodies
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls, want %d", calls, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookAndSlack(t *testing.T) {
	hook, slack := &receiver{}, &receiver{codes: []int{500, 503}} // Slack fails twice, then accepts
	n := started(t, []Sink{{Webhook, url(t, hook)}, {Slack, url(t, slack)}})

	n.Publish(findingEvent(store.Opened))
	n.Publish(findingEvent(store.Opened))  // a duplicate: not sent again
	n.Publish(findingEvent(store.Updated)) // updates are not notified
	n.Publish(findingEvent(store.Resolved))

	bodies := waitCalls(t, hook, 2)
	var p Payload
	if err := json.Unmarshal([]byte(bodies[0]), &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != "Notification" || p.Event.Transition != store.Opened || p.Summary != "plumb: Deployment shop/web on prod-eu drifted: .spec.replicas modified by kubectl" {
		t.Errorf("webhook payload = %+v", p)
	}
	if !strings.Contains(bodies[1], `"transition":"resolved"`) || !strings.Contains(bodies[1], "back in sync") {
		t.Errorf("second webhook body = %s", bodies[1])
	}
	slackBodies := waitCalls(t, slack, 4) // 2 failures retried, then 2 successes
	if len(slackBodies) != 2 || !strings.HasPrefix(slackBodies[0], `{"text":"plumb: Deployment shop/web on prod-eu drifted`) {
		t.Errorf("slack bodies = %q", slackBodies)
	}
	time.Sleep(50 * time.Millisecond)
	if _, calls := hook.snapshot(); calls != 2 {
		t.Errorf("webhook called %d times, want 2 (no duplicates)", calls)
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	bad := &receiver{codes: []int{400, 400, 400}}
	n := started(t, []Sink{{Webhook, url(t, bad)}})
	n.Publish(findingEvent(store.Opened))
	waitCalls(t, bad, 1)
	time.Sleep(100 * time.Millisecond)
	if _, calls := bad.snapshot(); calls != 1 {
		t.Errorf("a 400 was retried: %d calls", calls)
	}
}

func TestPublishNeverBlocks(t *testing.T) {
	// No Start: nothing drains the queue.
	n := New([]Sink{{Webhook, "http://127.0.0.1:1"}}, Options{Queue: 2})
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			e := findingEvent(store.Opened)
			e.FindingID += string(rune('a' + i%26))
			n.Publish(e)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Publish blocked on a full queue")
	}
}

// TestRemediationNotifications: a remediation that needs a person reaches
// both sinks, the webhook with the remediation itself and no event, Slack
// with a line that says what to do.
func TestRemediationNotifications(t *testing.T) {
	hook, slack := &receiver{}, &receiver{}
	n := started(t, []Sink{{Webhook, url(t, hook)}, {Slack, url(t, slack)}})

	step := remediate.Step{Cluster: "prod-eu", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Risk: remediate.RiskHigh}
	pending := queue.Remediation{ID: 7, FindingID: "prod-eu/apps/Deployment/shop/web", Cluster: "prod-eu", Mode: remediate.ModeAuto, State: queue.StatePending,
		Reason: "risk high is above automatic remediation's limit medium: waiting for approval", Plan: remediate.Plan{Steps: []remediate.Step{step}}}
	fighting := pending
	fighting.ID, fighting.State, fighting.Managers, fighting.Reason = 8, queue.StateFighting, []string{"kubectl-scale", "hpa"}, "drifted again 3 times within 10m0s"
	n.PublishRemediation(pending)
	n.PublishRemediation(fighting)

	bodies := waitCalls(t, hook, 2)
	var p Payload
	if err := json.Unmarshal([]byte(bodies[0]), &p); err != nil {
		t.Fatal(err)
	}
	if p.Event != nil || p.Remediation == nil || p.Remediation.ID != 7 || p.Remediation.State != queue.StatePending || len(p.Remediation.Plan.Steps) != 1 {
		t.Errorf("webhook payload = %s", bodies[0])
	}
	wantPending := "plumb: Deployment shop/web on prod-eu: remediation 7 waits for approval (risk high is above automatic remediation's limit medium: waiting for approval); approve it with POST /api/v1/remediations/7/approve?hash=" + pending.Hash
	if p.Summary != wantPending {
		t.Errorf("summary = %q\nwant %q", p.Summary, wantPending)
	}
	texts := waitCalls(t, slack, 2)
	var fight struct{ Text string }
	if err := json.Unmarshal([]byte(texts[1]), &fight); err != nil {
		t.Fatal(err)
	}
	if want := "plumb: Deployment shop/web on prod-eu: remediation 8 stopped: the object keeps being changed back by kubectl-scale, hpa (drifted again 3 times within 10m0s)"; fight.Text != want {
		t.Errorf("slack text = %q\nwant %q", fight.Text, want)
	}
}

// TestHoldOpenedForUsers: with HoldOpened, an opened finding is notified
// with the users an update brings within the hold, at once when every
// change names one; without an update it goes when the hold ends.
func TestHoldOpenedForUsers(t *testing.T) {
	held := func(hold time.Duration) (*Notifier, *receiver) {
		r := &receiver{}
		n := New([]Sink{{Webhook, url(t, r)}}, Options{Backoff: 10 * time.Millisecond, HoldOpened: hold})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go n.Start(ctx)
		return n, r
	}

	// A minute's hold: only the update can release it within waitCalls' 5 s.
	n, r := held(time.Minute)
	n.Publish(findingEvent(store.Opened))
	time.Sleep(100 * time.Millisecond)
	if _, calls := r.snapshot(); calls != 0 {
		t.Fatal("an opened finding went out before its users")
	}
	named := findingEvent(store.Updated)
	named.Finding.Changes[0].User = &drift.User{Name: "jane@example.com"}
	n.Publish(named)
	bodies := waitCalls(t, r, 1)
	if !strings.Contains(bodies[0], `"transition":"opened"`) || !strings.Contains(bodies[0], "by jane@example.com (kubectl)") {
		t.Errorf("the held notification: %s", bodies[0])
	}

	// Users that never come: it goes when the hold ends, not before.
	n, r = held(time.Second)
	began := time.Now()
	n.Publish(findingEvent(store.Opened))
	waitCalls(t, r, 1)
	if d := time.Since(began); d < time.Second {
		t.Errorf("sent after %s, within the hold", d)
	}
}

// TestFailuresNeverLogTheSecretURL: a Slack or webhook URL's path is its
// secret; a failed delivery logs the host only, for an HTTP error and for
// a sink that cannot be reached.
func TestFailuresNeverLogTheSecretURL(t *testing.T) {
	const secret = "T000/B000/XXXXsecretXXXX"
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	t.Cleanup(refusing.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // nothing listens there any more
	var log syncLog
	n := New([]Sink{{Slack, refusing.URL + "/services/" + secret}, {Webhook, gone.URL + "/hooks/" + secret + "?token=" + secret}},
		Options{Backoff: time.Millisecond, Retries: 1, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go n.Start(ctx)
	n.Publish(findingEvent(store.Opened))
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(log.String(), "notification failed") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("two failures not logged:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out := log.String(); strings.Contains(out, "secret") || !strings.Contains(out, refusing.URL+"/…") {
		t.Errorf("the log names the secret, or not the host:\n%s", out)
	}
}

// syncLog is a log destination written from the notifier's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
