package rollout

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/store"
)

func TestWavesAndRemaining(t *testing.T) {
	clusters := []config.Cluster{
		{Name: "eu-canary", Labels: map[string]string{"tier": "canary"}},
		{Name: "eu", Labels: map[string]string{"env": "prod"}},
		{Name: "us", Labels: map[string]string{"env": "prod", "tier": "canary"}},
		{Name: "lab", Labels: map[string]string{"env": "dev"}},
	}
	r := &config.Rollout{Waves: []config.Wave{
		{Name: "canary", Clusters: config.Selector{MatchLabels: map[string]string{"tier": "canary"}}, MaxParallel: 1, Bake: config.Duration{Duration: time.Minute}},
		{Name: "empty", Clusters: config.Selector{MatchLabels: map[string]string{"env": "none"}}},
		{Name: "prod", Clusters: config.Selector{MatchLabels: map[string]string{"env": "prod"}}, MaxParallel: 5},
	}}
	waves, unassigned := Waves(r, clusters)
	want := []Wave{
		{Name: "canary", Clusters: []string{"eu-canary", "us"}, MaxParallel: 1, Bake: time.Minute},
		{Name: "prod", Clusters: []string{"eu"}, MaxParallel: 5},
	}
	if diff := cmp.Diff(want, waves); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lab"}, unassigned); diff != "" {
		t.Errorf("unassigned (-want +got):\n%s", diff)
	}

	row := func(wave, cluster string, s Status) store.RunWave {
		return store.RunWave{Wave: wave, Cluster: cluster, Status: string(s)}
	}
	for name, tc := range map[string]struct {
		recorded []store.RunWave
		want     []string
	}{
		"canary drifted": {[]store.RunWave{row("canary", "eu-canary", StatusFixed), row("canary", "us", StatusDrifted), row("prod", "eu", StatusPending)}, []string{"canary", "prod"}},
		"prod failed":    {[]store.RunWave{row("canary", "eu-canary", StatusFixed), row("canary", "us", StatusFixed), row("prod", "eu", StatusFailed)}, []string{"prod"}},
		"all fixed":      {[]store.RunWave{row("canary", "eu-canary", StatusFixed), row("canary", "us", StatusFixed), row("prod", "eu", StatusFixed)}, nil},
	} {
		var got []string
		for _, w := range Remaining(waves, tc.recorded) {
			got = append(got, w.Name)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: remaining (-want +got):\n%s", name, diff)
		}
	}
}

func TestGate(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := NewGate([]Wave{{Name: "canary", Clusters: []string{"c0"}, Bake: time.Minute}, {Name: "rest", Clusters: []string{"c1", "c2"}}})
	for name, tc := range map[string]struct {
		cluster string
		canary  ClusterState
		want    string
		after   time.Duration
	}{
		"canary first":        {"c0", ClusterState{}, "", 0},
		"canary not compared": {"c1", ClusterState{}, "cluster c0 is not compared in full yet", 2 * time.Second},
		"canary has drift":    {"c1", ClusterState{Ready: true, Outstanding: "drift to fix"}, "cluster c0: drift to fix", 2 * time.Second},
		"canary baking":       {"c2", ClusterState{Ready: true, LastFix: now.Add(-20 * time.Second)}, "waiting for wave canary to bake", 40 * time.Second},
		"canary baked":        {"c2", ClusterState{Ready: true, LastFix: now.Add(-time.Minute)}, "", 0},
		"canary never fixed":  {"c1", ClusterState{Ready: true}, "", 0},
		"cluster in no wave":  {"c9", ClusterState{Ready: true}, "in no wave", 0},
	} {
		reason, after := g.Hold(tc.cluster, now, func(c string) ClusterState {
			if c != "c0" {
				t.Errorf("%s: asked about %s, want only the canary c0", name, c)
			}
			return tc.canary
		})
		if (tc.want == "") != (reason == "") || !strings.Contains(reason, tc.want) || after != tc.after {
			t.Errorf("%s: Hold = %q, %s; want %q, %s", name, reason, after, tc.want, tc.after)
		}
	}
}

// quietFleet fixes every cluster and finds no drift: a rollout that only
// bakes.
type quietFleet struct{}

func (quietFleet) Fix(context.Context, string) error                 { return nil }
func (quietFleet) Drifted(context.Context, string) ([]string, error) { return nil, nil }

// TestBakeCountdown: while a wave bakes, Baking hears the time left,
// falling, and 0 when the bake ends.
func TestBakeCountdown(t *testing.T) {
	var mu sync.Mutex
	var heard []time.Duration
	opts := Options{Interval: 100 * time.Millisecond, Baking: func(wave string, left time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if wave != "canary" {
			t.Errorf("baking heard wave %q", wave)
		}
		heard = append(heard, left)
	}}
	res := Run(context.Background(), []Wave{{Name: "canary", Clusters: []string{"eu"}, MaxParallel: 1, Bake: 2500 * time.Millisecond}}, quietFleet{}, opts)
	if res.Stopped != "" {
		t.Fatalf("stopped: %s", res.Stopped)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) < 3 || heard[len(heard)-1] != 0 {
		t.Fatalf("heard %v: want a countdown of at least 3, ending with 0", heard)
	}
	if heard[0] > 2500*time.Millisecond || heard[0] < 2*time.Second || heard[1] >= heard[0] {
		t.Errorf("heard %v: want it to start near 2.5s and fall", heard)
	}
}
