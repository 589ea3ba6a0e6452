package rollout

import (
	"fmt"
	"time"
)

// Gate holds continuous remediation (serve's auto mode) to a rollout's
// wave order: a cluster is fixed only once every cluster of the earlier
// waves is watched in full, has no fix outstanding, and has baked since
// its last fix. So a drift across the fleet is fixed in the canary
// clusters first, and in the rest only after the canaries held.
type Gate struct {
	waves []Wave
	wave  map[string]int
}

// NewGate returns a gate for waves (see Waves).
func NewGate(waves []Wave) *Gate {
	g := &Gate{waves: waves, wave: map[string]int{}}
	for i, w := range waves {
		for _, c := range w.Clusters {
			g.wave[c] = i
		}
	}
	return g
}

// ClusterState is what the gate asks of a cluster of an earlier wave.
type ClusterState struct {
	// Ready: every declared object was compared once.
	Ready bool
	// Outstanding says which fix is not done ("" when none): drift
	// waiting to be fixed, a fix that failed, an object that keeps
	// drifting back.
	Outstanding string
	// LastFix is when plumb last fixed something in it; zero for never.
	LastFix time.Time
}

// Hold says why cluster may not be fixed at now ("" when it may), and
// when to ask again (0: not before something changes). state describes
// another cluster.
func (g *Gate) Hold(cluster string, now time.Time, state func(cluster string) ClusterState) (string, time.Duration) {
	k, ok := g.wave[cluster]
	if !ok {
		return fmt.Sprintf("cluster %s is in no wave of the rollout: not fixed automatically", cluster), 0
	}
	const again = 2 * time.Second
	for _, w := range g.waves[:k] {
		for _, c := range w.Clusters {
			st := state(c)
			switch {
			case !st.Ready:
				return fmt.Sprintf("waiting for wave %s: cluster %s is not compared in full yet", w.Name, c), again
			case st.Outstanding != "":
				return fmt.Sprintf("waiting for wave %s: cluster %s: %s", w.Name, c, st.Outstanding), again
			case !st.LastFix.IsZero() && now.Before(st.LastFix.Add(w.Bake)):
				until := st.LastFix.Add(w.Bake)
				return fmt.Sprintf("waiting for wave %s to bake: cluster %s was fixed at %s, bakes until %s",
					w.Name, c, st.LastFix.Format(time.TimeOnly), until.Format(time.TimeOnly)), until.Sub(now)
			}
		}
	}
	return "", 0
}

// Wave names the wave cluster belongs to; "" for none.
func (g *Gate) Wave(cluster string) string {
	k, ok := g.wave[cluster]
	if !ok {
		return ""
	}
	return g.waves[k].Name
}
