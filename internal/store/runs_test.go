package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunsRecordedAndRead(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		first := &Run{StartedAt: t0, FinishedAt: t0.Add(2 * time.Second), User: "alice", Command: "fix", Outcome: "applied",
			Clusters: []string{"prod"}, Objects: 2, Plan: json.RawMessage(`{"steps":[1,2]}`),
			Steps: []RunStep{
				{Cluster: "prod", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Action: "apply", Outcome: "applied",
					Before: json.RawMessage(`{"spec":{"replicas":5}}`), After: json.RawMessage(`{"spec":{"replicas":2}}`)},
				{Cluster: "prod", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cfg", Action: "create", Outcome: "applied",
					After: json.RawMessage(`{"data":{"a":"b"}}`)},
			}}
		id1, err := s.RecordRun(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		second := &Run{StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(time.Minute), User: "bob", Command: "undo", UndoOf: id1,
			Outcome: "refused", Clusters: []string{"prod", "staging"}}
		id2, err := s.RecordRun(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if id2 <= id1 {
			t.Fatalf("ids %d then %d: want increasing", id1, id2)
		}
		s.Close()

		// Reopened: the history survives.
		s = open()
		defer s.Close()
		runs, err := s.Runs(ctx, RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want := []Run{
			{ID: id2, StartedAt: second.StartedAt, FinishedAt: second.FinishedAt, User: "bob", Command: "undo", UndoOf: id1, Outcome: "refused", Clusters: []string{"prod", "staging"}},
			{ID: id1, StartedAt: first.StartedAt, FinishedAt: first.FinishedAt, User: "alice", Command: "fix", Outcome: "applied", Clusters: []string{"prod"}, Objects: 2},
		}
		if d := cmp.Diff(want, runs); d != "" {
			t.Errorf("runs (-want +got):\n%s", d)
		}
		page, err := s.Runs(ctx, RunFilter{Before: id2, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 1 || page[0].ID != id1 {
			t.Errorf("page before %d: %+v", id2, page)
		}

		got, err := s.Run(ctx, id1)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(first, got); d != "" {
			t.Errorf("run %d (-want +got):\n%s", id1, d)
		}
		if _, err := s.Run(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("run 999: %v, want ErrNotFound", err)
		}
	})
}
