package agent

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/store"
)

func TestReceiverAppliesEachEntryOnce(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var published []event.Event
	r, err := NewReceiver(ctx, st, st, func(e event.Event) { published = append(published, e) }, ReceiverOptions{Reserved: []string{"local"}})
	if err != nil {
		t.Fatal(err)
	}
	key := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}
	at := time.Now().Truncate(time.Millisecond)
	drifted := &drift.Finding{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api", State: drift.StateDrifted,
		Changes: []drift.Change{{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: 2, Live: 3, Manager: "kubectl-scale"}}}
	opened := Entry{Seq: 1, Kind: KindObserve, Key: key, Finding: drifted, At: at}
	resolved := Entry{Seq: 2, Kind: KindObserve, Key: key, By: "kubectl-scale", At: at.Add(time.Second)}
	reopened := Entry{Seq: 3, Kind: KindObserve, Key: key, Finding: drifted, At: at.Add(2 * time.Second)}

	apply := func(b Batch) Ack {
		t.Helper()
		ack, err := r.Apply(ctx, "edge", b)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	apply(Batch{Stream: "s1", Entries: []Entry{opened, resolved}})
	// The answer was lost: the agent sends both again, and the next.
	if ack := apply(Batch{Stream: "s1", Entries: []Entry{opened, resolved, reopened}}); ack.Applied != 3 {
		t.Errorf("applied %d, want 3", ack.Applied)
	}
	evs, err := st.Events(ctx, store.EventFilter{Filter: store.Filter{Cluster: "edge"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].ResolvedAt != nil || evs[1].ResolvedAt == nil || len(published) != 3 {
		t.Errorf("events = %+v, published %d; want one resolved and one open event, three transitions", evs, len(published))
	}

	// A receiver made again (the hub restarted) knows where it was.
	r, err = NewReceiver(ctx, st, st, nil, ReceiverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ss := r.Statuses(); len(ss) != 1 || ss[0].Name != "edge" || ss[0].State != event.StateDisconnected || !ss[0].Agent {
		t.Errorf("statuses after a restart = %+v, want edge, disconnected", ss)
	}
	if ack := apply(Batch{Stream: "s1", Entries: []Entry{reopened}}); ack.Applied != 3 {
		t.Errorf("applied %d after a restart, want 3", ack.Applied)
	}
	if _, err := r.Apply(ctx, "edge", Batch{Stream: "s1", Entries: []Entry{{Seq: 5, Kind: KindObserve, Key: key, At: at}}}); !errors.Is(err, ErrRefused) {
		t.Errorf("entry 5 after 3: %v, want refused", err)
	}
	// A new stream (the agent lost its disk) starts again at 1.
	if ack := apply(Batch{Stream: "s2", Entries: []Entry{{Seq: 1, Kind: KindObserve, Key: key, By: "x", At: at.Add(3 * time.Second)}}}); ack.Applied != 1 || ack.Stream != "s2" {
		t.Errorf("new stream: %+v", ack)
	}
	if ss := r.Statuses(); len(ss) != 1 || ss[0].State == event.StateDisconnected {
		t.Errorf("statuses after a batch = %+v, want edge connected", ss)
	}
	if _, err := (&Receiver{opts: ReceiverOptions{Reserved: []string{"local"}}}).Apply(ctx, "local", Batch{Stream: "s"}); !errors.Is(err, ErrRefused) {
		t.Errorf("a batch for the hub's own cluster: %v, want refused", err)
	}
	evs, _ = st.Events(ctx, store.EventFilter{Filter: store.Filter{Cluster: "edge"}})
	if len(evs) != 2 || evs[0].ResolvedAt == nil {
		t.Errorf("events after all = %+v, want both resolved", evs)
	}
}

func TestReceiverKeepsFixesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := NewReceiver(ctx, st, st, nil, ReceiverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := drift.ObjectKey{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "api"}
	// The agent is waiting when the fix is asked for.
	got := make(chan []Fix, 1)
	go func() {
		fs, err := r.PendingFixes(ctx, "edge", 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- fs
	}()
	time.Sleep(50 * time.Millisecond)
	asked, err := r.RequestFix(ctx, "edge", []string{"edge/apps/Deployment/shop/api"}, []drift.ObjectKey{key})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case fs := <-got:
		if len(fs) != 1 || fs[0].ID != asked.ID || fs[0].Keys[0] != key {
			t.Fatalf("long poll = %+v, want the fix asked for", fs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll did not end when a fix was asked for")
	}

	// The hub restarts: the fix is still pending, and its report lands once.
	r, err = NewReceiver(ctx, st, st, nil, ReceiverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fs, _ := r.PendingFixes(ctx, "edge", 0); len(fs) != 1 {
		t.Fatalf("pending after a restart = %+v, want the fix", fs)
	}
	rep := FixReport{Run: 7, Results: []FixResult{{Object: "Deployment shop/api", Outcome: "applied"}}}
	if f, err := r.Report(ctx, "edge", asked.ID, rep); err != nil || f.State != FixApplied || f.FinishedAt == nil {
		t.Fatalf("report: %+v %v", f, err)
	}
	if f, err := r.Report(ctx, "edge", asked.ID, FixReport{Error: "again"}); err != nil || f.State != FixApplied || f.Run != 7 {
		t.Errorf("a report sent again: %+v %v, want the first one kept", f, err)
	}
	if fs, _ := r.Fixes(ctx, "edge", true); len(fs) != 0 {
		t.Errorf("pending after the report = %+v", fs)
	}
	if _, err := r.Report(ctx, "other", asked.ID, rep); !errors.Is(err, ErrNotFound) {
		t.Errorf("a report on another cluster's fix: %v, want not found", err)
	}
}
