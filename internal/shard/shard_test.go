package shard

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

// watching records which replica watches which cluster, and fails the test
// the moment two replicas watch one cluster.
type watching struct {
	t  *testing.T
	mu sync.Mutex
	by map[string]string // cluster → replica
}

func (w *watching) replica(id string) (start, stop func(string)) {
	start = func(cl string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if other, ok := w.by[cl]; ok {
			w.t.Errorf("%s starts watching %s while %s watches it", id, cl, other)
		}
		w.by[cl] = id
	}
	stop = func(cl string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.by[cl] != id {
			w.t.Errorf("%s stops watching %s, which %s watches", id, cl, w.by[cl])
		}
		delete(w.by, cl)
	}
	return start, stop
}

// counts says how many clusters each replica watches, and how many are
// watched at all.
func (w *watching) counts() (map[string]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, id := range w.by {
		out[id]++
	}
	return out, len(w.by)
}

// TestReplicasSplitTheFleet: three replicas split twelve clusters, each
// watched by exactly one; every replica knows who holds each; a replica
// that crashes (stops renewing, gives nothing back) has its clusters
// taken by the others within 30 s; one that stops cleanly hands them over
// at once; one that joins takes its share.
func TestReplicasSplitTheFleet(t *testing.T) {
	ns := env.Namespace(t)
	var clusters []string
	for i := range 12 {
		clusters = append(clusters, fmt.Sprintf("prod-%02d", i))
	}
	w := &watching{t: t, by: map[string]string{}}
	type replica struct {
		c      *Coordinator
		cancel context.CancelFunc
		done   chan struct{}
	}
	run := func(id string, releaseOnStop bool) *replica {
		start, stop := w.replica(id)
		c, err := New(env.Clientset, clusters, start, stop, Options{Namespace: ns, Identity: id, ReleaseOnStop: releaseOnStop,
			Status: func(cl string) string { return "watched by " + id }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{c: c, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(r.done); c.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a, b := run("plumb-a", true), run("plumb-b", false)
	c := run("plumb-c", true)
	spread := func(n int) func() bool {
		return func() bool {
			per, all := w.counts()
			if all != len(clusters) || len(per) != n {
				return false
			}
			for _, k := range per {
				if k == 0 {
					return false
				}
			}
			return true
		}
	}
	testwait.For(t, 30*time.Second, "three replicas share the twelve clusters", spread(3))
	testwait.For(t, 10*time.Second, "four clusters each", func() bool {
		per, _ := w.counts()
		return per["plumb-a"] == 4 && per["plumb-b"] == 4 && per["plumb-c"] == 4
	})

	// Any replica answers for the whole fleet.
	testwait.For(t, 10*time.Second, "every replica knows every holder", func() bool {
		for _, r := range []*replica{a, b, c} {
			hs := r.c.Holders()
			for _, cl := range clusters {
				if hs[cl].Identity == "" || hs[cl].Status != "watched by "+hs[cl].Identity {
					return false
				}
			}
		}
		return true
	})

	// b crashes: it stops renewing and gives nothing back.
	b.cancel()
	<-b.done
	moved := testwait.For(t, 30*time.Second, "b's clusters move to a and c", spread(2))
	t.Logf("failover after a crash: %s", moved.Round(100*time.Millisecond))

	// c stops cleanly: its clusters move at once.
	c.cancel()
	<-c.done
	moved = testwait.For(t, 10*time.Second, "c hands its clusters to a", spread(1))
	t.Logf("handover after a clean stop: %s", moved.Round(100*time.Millisecond))

	// d joins: it takes its share from a.
	run("plumb-d", true)
	testwait.For(t, 30*time.Second, "d takes its share", spread(2))

	leases, err := env.Clientset.CoordinationV1().Leases(ns).List(context.Background(), metav1.ListOptions{LabelSelector: roleLabel + "=" + roleCluster})
	if err != nil || len(leases.Items) != len(clusters) {
		t.Errorf("%d cluster Leases, %v; want one per cluster", len(leases.Items), err)
	}
}

// TestAssignIsEvenAndStable: every replica holds its share (the loads
// differ by one at most), and when a replica leaves, few clusters of the
// others move.
func TestAssignIsEvenAndStable(t *testing.T) {
	var clusters []string
	for i := range 40 {
		clusters = append(clusters, fmt.Sprintf("cluster-%02d", i))
	}
	before := Assign(clusters, []string{"r1", "r2", "r3"})
	per := map[string]int{}
	for _, r := range before {
		per[r]++
	}
	for r, n := range per {
		if n < 13 || n > 14 {
			t.Errorf("%s holds %d of 40 clusters; want 13 or 14", r, n)
		}
	}
	after := Assign(clusters, []string{"r3", "r1"}) // any order
	moved := 0
	for _, cl := range clusters {
		if before[cl] != "r2" && after[cl] != before[cl] {
			moved++
		}
	}
	if moved > 8 {
		t.Errorf("%d clusters of r1 and r3 moved when r2 left; want few", moved)
	}
	if len(after) != 40 || len(Assign(clusters, nil)) != 0 {
		t.Errorf("assigned %d of 40 clusters; with no replica, %d", len(after), len(Assign(clusters, nil)))
	}
}

func TestLeaseName(t *testing.T) {
	for in, want := range map[string]string{"prod-eu": "plumb-cluster-prod-eu"} {
		if got := LeaseName(in); got != want {
			t.Errorf("LeaseName(%q) = %q, want %q", in, got, want)
		}
	}
	if a, b := LeaseName("Prod_EU"), LeaseName("prod-eu"); a == b {
		t.Errorf("Prod_EU and prod-eu share the Lease %s", a)
	}
	if n := LeaseName("arn:aws:eks:eu-west-1:123456789012:cluster/a-very-long-cluster-name-indeed"); len(n) > 63 {
		t.Errorf("%s is longer than a DNS label", n)
	}
}
