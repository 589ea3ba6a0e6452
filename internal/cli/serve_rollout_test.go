package cli

import (
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/store"
)

// TestServeAutoFixesInWaves: a drift across the fleet when serve starts in
// auto mode is fixed in the canary first; the rest wait (state waiting)
// until the canary has baked, then are fixed too.
func TestServeAutoFixesInWaves(t *testing.T) {
	const bake = 4 * time.Second
	cfg, namespaces := rolloutFleetConfig(t, 3, "auto", `rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}, bake: 4s}
    - {name: rest, clusters: {}, maxParallel: 2}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
		env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	}
	base, _ := startServe(t, "-c", cfg, "--store", storeFor(t))

	sawWaiting := false
	deadline := time.Now().Add(90 * time.Second)
	for {
		fixed := 0
		for _, ns := range namespaces {
			if webReplicas(t, ns) == "2" && settingsMode(t, ns) == "fast" {
				fixed++
			}
		}
		for _, r := range remediations(t, base, "waiting") {
			if r.State == "waiting" && r.Cluster != "c0" && strings.Contains(r.Reason, "wave canary") {
				sawWaiting = true
			}
		}
		if fixed == len(namespaces) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s, %d of %d clusters fixed; remediations %+v", fixed, len(namespaces), remediations(t, base, ""))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sawWaiting {
		t.Error("no remediation of the rest was ever seen waiting for wave canary")
	}
	var canaryDone time.Time
	var rest []time.Time
	for _, r := range runsOf(t, base) {
		if len(r.Clusters) != 1 || r.Outcome != "applied" {
			t.Fatalf("run %d: clusters %v, outcome %s; want one cluster, applied", r.ID, r.Clusters, r.Outcome)
		}
		var whole store.Run
		getJSON(t, base+"/api/v1/runs/"+itoa(r.ID), &whole)
		wantWave := map[bool]string{true: "canary", false: "rest"}[r.Clusters[0] == "c0"]
		if len(whole.Waves) != 1 || whole.Waves[0].Wave != wantWave || whole.Waves[0].Cluster != r.Clusters[0] || whole.Waves[0].Status != "fixed" {
			t.Errorf("run %d in %s: waves %+v; want %s, fixed", r.ID, r.Clusters[0], whole.Waves, wantWave)
		}
		if r.Clusters[0] == "c0" {
			if r.FinishedAt.After(canaryDone) {
				canaryDone = r.FinishedAt
			}
		} else {
			rest = append(rest, r.StartedAt)
		}
	}
	if canaryDone.IsZero() || len(rest) == 0 {
		t.Fatalf("canary done at %s, %d runs in the rest; want both", canaryDone, len(rest))
	}
	for _, at := range rest {
		if at.Before(canaryDone.Add(bake - 10*time.Millisecond)) {
			t.Errorf("the rest was fixed at %s, before the canary (fixed at %s) baked for %s", at, canaryDone, bake)
		}
	}
}
