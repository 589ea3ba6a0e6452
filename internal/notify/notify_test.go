package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/watch"
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

func event(tr store.Transition) watch.Event {
	f := &drift.Finding{Cluster: "prod-eu", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", State: drift.StateDrifted,
		Changes: []drift.Change{{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: 2, Live: 5, Manager: "kubectl"}}}
	if tr == store.Resolved {
		f = nil
	}
	return watch.Event{Cluster: "prod-eu", FindingID: "prod-eu/apps/Deployment/shop/web", Transition: tr, Finding: f, At: time.Now()}
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
	hs, ss := httptest.NewServer(hook), httptest.NewServer(slack)
	defer hs.Close()
	defer ss.Close()
	n := New([]Sink{{Webhook, hs.URL}, {Slack, ss.URL}}, Options{Backoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Start(ctx)

	n.Publish(event(store.Opened))
	n.Publish(event(store.Opened))  // a duplicate: not sent again
	n.Publish(event(store.Updated)) // updates are not notified
	n.Publish(event(store.Resolved))

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
	s := httptest.NewServer(bad)
	defer s.Close()
	n := New([]Sink{{Webhook, s.URL}}, Options{Backoff: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Start(ctx)
	n.Publish(event(store.Opened))
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
			e := event(store.Opened)
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
