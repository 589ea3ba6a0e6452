package store

import (
	"context"
	"testing"
	"time"
)

func TestAgentCursorsAndFixes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		if c, err := s.AgentCursor(ctx, "edge"); err != nil || c.Stream != "" || c.Applied != 0 {
			t.Fatalf("cursor of an unknown agent: %+v %v", c, err)
		}
		seen := time.UnixMilli(time.Now().UnixMilli())
		for _, applied := range []int64{3, 9} {
			if err := s.SetAgentCursor(ctx, AgentCursor{Cluster: "edge", Stream: "s1", Applied: applied, SeenAt: seen}); err != nil {
				t.Fatal(err)
			}
		}
		if c, err := s.AgentCursor(ctx, "edge"); err != nil || c.Stream != "s1" || c.Applied != 9 || !c.SeenAt.Equal(seen) {
			t.Errorf("cursor = %+v %v, want s1 at 9", c, err)
		}
		if cs, err := s.AgentCursors(ctx); err != nil || len(cs) != 1 {
			t.Errorf("cursors = %+v %v, want one", cs, err)
		}

		id, err := s.AddAgentFix(ctx, "edge", "pending", `{"findings":["a"]}`)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddAgentFix(ctx, "other", "pending", `{}`); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAgentFix(ctx, id, "applied", `{"run":1}`); err != nil {
			t.Fatal(err)
		}
		if fs, err := s.AgentFixes(ctx, "edge", "pending"); err != nil || len(fs) != 0 {
			t.Errorf("pending fixes of edge = %+v %v, want none", fs, err)
		}
		if fs, err := s.AgentFixes(ctx, "edge", ""); err != nil || len(fs) != 1 || fs[0].ID != id || fs[0].State != "applied" || fs[0].Fix != `{"run":1}` {
			t.Errorf("fixes of edge = %+v %v", fs, err)
		}
	})
}
