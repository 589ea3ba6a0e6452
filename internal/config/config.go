package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"plumb.dev/plumb/internal/drift"
)

// APIVersion and Kind identify a plumb configuration file.
const (
	APIVersion = "plumb.dev/v1alpha1"
	Kind       = "Config"
)

// Config is plumb.yaml.
type Config struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Ignore     []IgnoreRule `yaml:"ignore"`
}

// IgnoreRule is drift.IgnoreRule as written in the file.
type IgnoreRule struct {
	Kinds    []string `yaml:"kinds"`
	Paths    []string `yaml:"paths"`
	Managers []string `yaml:"managers"`
	Reason   string   `yaml:"reason"`

	line int
}

// File is a loaded configuration.
type File struct {
	Path   string
	Ignore []drift.IgnoreRule
}

// Load reads, decodes strictly and validates the file at path.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg Config
	var node yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&node); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	if err := strict.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	recordLines(&node, &cfg)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f := &File{Path: path}
	for _, r := range cfg.Ignore {
		f.Ignore = append(f.Ignore, drift.IgnoreRule{Kinds: r.Kinds, Paths: r.Paths, Managers: r.Managers, Reason: r.Reason})
	}
	return f, nil
}

// Validate checks what strict decoding cannot.
func (c *Config) Validate() error {
	var errs []error
	if c.APIVersion != APIVersion {
		errs = append(errs, fmt.Errorf("apiVersion %q: want %s", c.APIVersion, APIVersion))
	}
	if c.Kind != Kind {
		errs = append(errs, fmt.Errorf("kind %q: want %s", c.Kind, Kind))
	}
	for i, r := range c.Ignore {
		if len(r.Paths) == 0 && len(r.Managers) == 0 {
			errs = append(errs, fmt.Errorf("line %d: ignore[%d]: needs paths or managers", r.line, i))
		}
		for _, p := range r.Paths {
			if _, err := drift.ParsePath(p); err != nil {
				errs = append(errs, fmt.Errorf("line %d: ignore[%d]: %w", r.line, i, err))
			}
		}
	}
	return errors.Join(errs...)
}

// recordLines notes the line of each ignore rule, for error messages.
func recordLines(doc *yaml.Node, cfg *Config) {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "ignore" || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range m.Content[i+1].Content {
			if j < len(cfg.Ignore) {
				cfg.Ignore[j].line = item.Line
			}
		}
	}
}
