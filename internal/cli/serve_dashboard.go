package cli

import (
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/cost"
)

// clusterLabels are plumb.yaml's labels by cluster name, for the API and
// the dashboard's filter; none without a configuration file.
func clusterLabels(cfg *config.File) map[string]map[string]string {
	if cfg == nil {
		return nil
	}
	out := map[string]map[string]string{}
	for _, c := range cfg.Clusters {
		out[c.Name] = c.Labels
	}
	return out
}

// pricing is plumb.yaml's pricing; none without a configuration file.
func pricing(cfg *config.File) cost.Pricing {
	if cfg == nil {
		return cost.Pricing{}
	}
	return cfg.Pricing
}
