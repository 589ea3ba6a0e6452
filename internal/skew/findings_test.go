package skew

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

func TestFromFindings(t *testing.T) {
	image := func(live string) drift.Change {
		return drift.Change{Path: imagePath, Type: drift.ChangeModified, Desired: "api:1.4.2", Live: live}
	}
	replicas := drift.Change{Path: ".spec.replicas", Type: drift.ChangeModified, Desired: int64(3), Live: int64(5)}
	prod := map[string]string{"env": "prod"}
	dev := map[string]string{"env": "dev"}
	cluster := func(name string, labels map[string]string, fs ...[]drift.Finding) Cluster {
		c := Cluster{Name: name, Labels: labels}
		for _, f := range fs {
			c.Result.Findings = append(c.Result.Findings, f...)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		clusters []Cluster
		groupBy  string
		want     []Group
	}{{
		name: "a cluster drifted, the others as declared",
		clusters: []Cluster{cluster("eu", prod), cluster("us", prod, drifted("Deployment", "api", image("api:1.4.0"))),
			cluster("ap", prod)},
		want: []Group{{Name: "all", Clusters: []string{"eu", "us", "ap"}, Objects: []Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api",
			Differences: []Difference{{Path: imagePath, Values: map[string]any{"eu": "api:1.4.2", "us": "api:1.4.0", "ap": "api:1.4.2"}, Drifted: []string{"us"}}}}}}},
	}, {
		name: "every cluster drifted the same way: drift, not skew; different ways: skew",
		clusters: []Cluster{cluster("eu", prod, drifted("Deployment", "api", replicas, image("api:1.4.0"))),
			cluster("us", prod, drifted("Deployment", "api", replicas, image("api:1.4.1")))},
		want: []Group{{Name: "all", Clusters: []string{"eu", "us"}, Objects: []Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api",
			Differences: []Difference{{Path: imagePath, Values: map[string]any{"eu": "api:1.4.0", "us": "api:1.4.1"}, Drifted: []string{"eu", "us"}}}}}}},
	}, {
		name:    "grouped by a label: only clusters that should match are compared",
		groupBy: "env",
		clusters: []Cluster{cluster("eu", prod), cluster("us", prod, drifted("Deployment", "api", replicas)),
			cluster("dev", dev, drifted("Deployment", "web", replicas)), cluster("lab", nil, drifted("Deployment", "api", replicas))},
		want: []Group{
			{Name: "env=dev", Clusters: []string{"dev"}, Objects: []Object{}},
			{Name: "env=prod", Clusters: []string{"eu", "us"}, Objects: []Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "api",
				Differences: []Difference{{Path: ".spec.replicas", Values: map[string]any{"eu": int64(3), "us": int64(5)}, Drifted: []string{"us"}}}}}},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromFindings(tc.clusters, tc.groupBy)
			if d := cmp.Diff(tc.want, got.Groups); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
