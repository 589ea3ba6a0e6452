package cli

import (
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/rollout"
)

// rolloutGate holds serve's auto mode to the configuration's waves, the
// ones plumb fix -c goes by; nil without a rollout.
func rolloutGate(cfg *config.File) *rollout.Gate {
	if cfg == nil || cfg.Rollout == nil {
		return nil
	}
	waves, _ := rollout.Waves(cfg.Rollout, cfg.Clusters)
	return rollout.NewGate(waves)
}
