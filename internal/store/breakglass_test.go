package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBreakGlassRecords keeps break-glass writes, groups and reasons with
// commas and quotes included, newest first, paged, in both databases.
func TestBreakGlassRecords(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *DB) {
		ctx := context.Background()
		s := open()
		at := time.UnixMilli(time.Now().UnixMilli()).UTC()
		first := BreakGlass{Time: at, Cluster: "prod", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", UID: "u1",
			User: "alice", Groups: []string{"sre", "team,payments"}, Reason: `incident 42: "traffic", spike`, Operation: "UPDATE",
			Paths: []string{".spec.replicas"}, Source: "deploy/web.yaml:1"}
		if _, err := s.RecordBreakGlass(ctx, &first); err != nil {
			t.Fatal(err)
		}
		second := BreakGlass{Time: at.Add(time.Second), Cluster: "prod", APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "flags",
			User: "bob", Operation: "DELETE", Source: "deploy/flags.yaml:3"}
		if _, err := s.RecordBreakGlass(ctx, &second); err != nil {
			t.Fatal(err)
		}
		second.Groups, second.Paths = []string{}, []string{}
		got, err := s.BreakGlasses(ctx, BreakGlassFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]BreakGlass{second, first}, got); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
		if page, err := s.BreakGlasses(ctx, BreakGlassFilter{Before: second.ID, Limit: 1}); err != nil || len(page) != 1 || page[0].ID != first.ID {
			t.Errorf("the page before %d: %+v %v", second.ID, page, err)
		}
	})
}
