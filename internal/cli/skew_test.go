package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSkewJSON runs plumb skew -o json over two real API servers bound to
// the same source, one of them drifted: the document is the published
// SkewReport (docs/schemas/skew.schema.json), with the field where they
// differ; grouped so that no group has two clusters, it is still one,
// with no objects rather than null.
func TestSkewJSON(t *testing.T) {
	cfg, _ := skewedFleet(t)
	code, out, stderr := run(t, "skew", "-c", cfg, "-o", "json")
	var r struct {
		APIVersion, Kind string
		Groups           []struct {
			Clusters []string
			Objects  []struct {
				Kind, Name  string
				Differences []struct {
					Path    string
					Values  map[string]any
					Drifted []string
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("skew -o json: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "skew", out)
	found := false
	for _, g := range r.Groups {
		for _, o := range g.Objects {
			for _, d := range o.Differences {
				if o.Kind == "Deployment" && o.Name == "web" && d.Path == ".spec.replicas" && d.Values["prod-us"] == float64(5) && strings.Join(d.Drifted, ",") == "prod-us" {
					found = true
				}
			}
		}
	}
	if r.APIVersion != "plumb.dev/v1alpha1" || r.Kind != "SkewReport" || !found {
		t.Errorf("skew -o json: want a SkewReport with web's replicas differing on prod-us\n%s", out)
	}

	code, out, stderr = run(t, "skew", "-c", cfg, "--group-by", "region", "-o", "yaml")
	if !strings.Contains(out, "kind: SkewReport") || !strings.Contains(out, "objects: []") {
		t.Errorf("skew --group-by region -o yaml: exit %d, want groups with no objects\n%s\n%s", code, out, stderr)
	}
	requireSchema(t, "skew", out)
}
