package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/testpostgres"
	"plumb.dev/plumb/internal/testwait"
)

// shardedFleet writes a configuration of n clusters, every one a context
// onto the test API server, each bound to the shop's settings in a
// namespace of its own, and returns it with the namespaces.
func shardedFleet(t *testing.T, n int) (string, []string) {
	t.Helper()
	settings := filepath.Join(mustAbs(t, shop), "config.yaml")
	var clusters, sources, bindings strings.Builder
	var namespaces []string
	for i := range n {
		ns := env.Namespace(t)
		namespaces = append(namespaces, ns)
		env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", settings)
		fmt.Fprintf(&clusters, "  - {name: c%d, kubeconfig: %s, context: %s, labels: {shard: \"%d\"}}\n", i, env.Kubeconfig, env.Context, i)
		fmt.Fprintf(&sources, "  - {name: s%d, path: %s, namespace: %s}\n", i, settings, ns)
		fmt.Fprintf(&bindings, "  - {source: s%d, clusters: {matchLabels: {shard: \"%d\"}}}\n", i, i)
	}
	return writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n"+clusters.String()+
		"sources:\n"+sources.String()+"bindings:\n"+bindings.String()), namespaces
}

type shardedCluster struct {
	Name, Status, Replica string
	Ready                 bool
}

func clustersOf(t *testing.T, base string) []shardedCluster {
	t.Helper()
	var l struct{ Items []shardedCluster }
	getJSON(t, base+"/api/v1/clusters", &l)
	return l.Items
}

// TestServeSharesTheFleet: three replicas of plumb serve with one
// PostgreSQL store and one Lease namespace split six clusters, each watched by exactly one of
// them; any replica's API answers for all six; a replica that stops hands
// its clusters to the others, which then find drift in them.
func TestServeSharesTheFleet(t *testing.T) {
	t.Parallel() // its own namespaces (and API server, where it starts one): it waits more than it works
	cfg, namespaces := shardedFleet(t, 6)
	leases := env.Namespace(t)
	ctx := context.Background()
	pg, err := testpostgres.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	db, err := pg.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bases []string
	var stops []func() int
	for _, id := range []string{"r1", "r2", "r3"} {
		base, stop := startServe(t, "-c", cfg, "--store", db, "--lease-namespace", leases, "--identity", id)
		bases, stops = append(bases, base), append(stops, stop)
	}
	split := func(want int) func() bool {
		return func() bool {
			for _, base := range bases[:want] {
				per := map[string]int{}
				cs := clustersOf(t, base)
				for _, c := range cs {
					if c.Replica == "" || c.Status != "ok" {
						return false
					}
					per[c.Replica]++
				}
				if len(cs) != 6 || len(per) != want {
					return false
				}
				for _, k := range per {
					if k != 6/want {
						return false
					}
				}
			}
			return true
		}
	}
	testwait.For(t, 40*time.Second, "three replicas watch two clusters each, as every replica says", split(3))

	// A change in any cluster is found, and every replica serves it.
	env.Kubectl(t, "", "-n", namespaces[4], "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"LOG_LEVEL":"debug"}}`)
	for _, base := range bases {
		testwait.For(t, 15*time.Second, "the drift in c4, from "+base, func() bool {
			fs := findingsOf(t, base)
			return len(fs) == 1 && fs[0].Cluster == "c4"
		})
	}

	// r3 stops: its clusters move to r1 and r2, which find what changes
	// in them next.
	var gone []string
	for _, c := range clustersOf(t, bases[2]) {
		if c.Replica == "r3" {
			gone = append(gone, c.Name)
		}
	}
	if code := stops[2](); code != 0 {
		t.Errorf("r3 stopped with exit %d", code)
	}
	bases = bases[:2]
	testwait.For(t, 30*time.Second, "r1 and r2 watch three clusters each", split(2))
	i := int(gone[0][1] - '0')
	env.Kubectl(t, "", "-n", namespaces[i], "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"LOG_LEVEL":"trace"}}`)
	testwait.For(t, 15*time.Second, "the drift in "+gone[0]+", which r3 watched", func() bool {
		for _, f := range findingsOf(t, bases[0]) {
			if f.Cluster == gone[0] {
				return true
			}
		}
		return false
	})
}
