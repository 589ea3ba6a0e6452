package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Rollout orders a fleet's remediation in waves: plumb fix -c and serve's
// auto mode fix the clusters of one wave, bake, and only then go on.
type Rollout struct {
	// Waves in order. A cluster belongs to the first wave whose selector
	// matches it; a cluster no wave selects is not fixed.
	Waves []Wave `yaml:"waves"`
}

// Wave is one step of a rollout.
type Wave struct {
	// Name names the wave in output and history. Required, unique.
	Name string `yaml:"name"`
	// Clusters selects the wave's clusters by label; empty selects all
	// clusters no earlier wave took.
	Clusters Selector `yaml:"clusters"`
	// MaxParallel bounds how many of the wave's clusters are fixed at
	// once. Default 1.
	MaxParallel int `yaml:"maxParallel"`
	// Bake is how long the wave's clusters are watched for drift after
	// they are fixed, before the next wave starts (a Go duration). Default
	// 0: no bake.
	Bake Duration `yaml:"bake"`
	line int
}

// Duration is a Go duration written as a string: 30s, 2m, 1h30m.
type Duration struct{ time.Duration }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: want a duration such as 30s or 2m: %w", n.Line, err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Duration = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Selector returns the wave's cluster selector.
func (w Wave) Selector() labels.Selector { return w.Clusters.Selector() }

// Selector returns s as a labels.Selector; one that is not valid selects
// nothing (Validate reports it).
func (s Selector) Selector() labels.Selector {
	sel, err := metav1.LabelSelectorAsSelector(s.LabelSelector())
	if err != nil {
		return labels.Nothing()
	}
	return sel
}

// Line is the line the wave is declared on.
func (w Wave) Line() int { return w.line }

func (r *Rollout) setDefaults() {
	if r == nil {
		return
	}
	for i := range r.Waves {
		if r.Waves[i].MaxParallel == 0 {
			r.Waves[i].MaxParallel = 1
		}
	}
}

// validate reports what is wrong with the rollout, each problem with its
// line.
func (r *Rollout) validate(f *File) []error {
	if r == nil {
		return nil
	}
	var errs []error
	add := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
	if len(f.Clusters) == 0 {
		errs = append(errs, fmt.Errorf("rollout: needs clusters to roll out to"))
	}
	if len(r.Waves) == 0 {
		errs = append(errs, fmt.Errorf("rollout: needs at least one wave"))
	}
	names := map[string]bool{}
	for i, w := range r.Waves {
		switch {
		case w.Name == "":
			add(w.line, "rollout.waves[%d]: name is required", i)
		case names[w.Name]:
			add(w.line, "rollout.waves[%d]: duplicate name %q", i, w.Name)
		}
		names[w.Name] = true
		if _, err := metav1.LabelSelectorAsSelector(w.Clusters.LabelSelector()); err != nil {
			add(w.line, "rollout.waves[%d]: clusters selector: %v", i, err)
		}
		if w.MaxParallel < 0 {
			add(w.line, "rollout.waves[%d]: maxParallel must not be negative", i)
		}
		if w.Bake.Duration < 0 {
			add(w.line, "rollout.waves[%d]: bake must not be negative", i)
		}
	}
	return errs
}

// recordRolloutLines notes the line of each wave, for error messages.
func recordRolloutLines(doc *yaml.Node, cfg *Config) {
	if cfg.Rollout == nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "rollout" || m.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		r := m.Content[i+1]
		for j := 0; j+1 < len(r.Content); j += 2 {
			if r.Content[j].Value != "waves" {
				continue
			}
			for k, item := range r.Content[j+1].Content {
				if k < len(cfg.Rollout.Waves) {
					cfg.Rollout.Waves[k].line = item.Line
				}
			}
		}
	}
}
