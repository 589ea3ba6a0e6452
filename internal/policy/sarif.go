package policy

import (
	"encoding/json"
	"io"
	"path/filepath"

	"plumb.dev/plumb/internal/buildinfo"
)

// SARIF 2.1.0 (OASIS), the subset plumb check writes: one run, one
// reportingDescriptor per rule that ran, one result per violation.
// GitHub code scanning, GitLab and Azure DevOps read it.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	ShortDescription     *sarifMessage      `json:"shortDescription,omitempty"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifMessage    `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties sarifProperties `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifProperties carry what SARIF has no field for.
type sarifProperties struct {
	Affected int `json:"affected"`
}

// level is SARIF's name for a severity: a denial is an error, a warning
// a warning.
func (s Severity) level() string {
	if s == SeverityDeny {
		return "error"
	}
	return "warning"
}

// writeSARIF writes r as a SARIF 2.1.0 log. A violation's location is the
// file and line that declare its object, and the object itself as a
// logical location; a rule that fired and is not among r.Rules (the
// server's immutable-field refusal with the rule list empty) is added.
func writeSARIF(w io.Writer, r Result) error {
	driver := sarifDriver{Name: "plumb", Version: buildinfo.Get().Version, InformationURI: "https://plumb.dev", Rules: []sarifRule{}}
	index := map[string]int{}
	add := func(name string, sev Severity, desc string) {
		if _, ok := index[name]; ok {
			return
		}
		rule := sarifRule{ID: name, DefaultConfiguration: sarifConfiguration{Level: sev.level()}}
		if desc != "" {
			rule.ShortDescription = &sarifMessage{Text: desc}
		}
		index[name] = len(driver.Rules)
		driver.Rules = append(driver.Rules, rule)
	}
	for _, rule := range r.Rules {
		add(rule.Name, rule.Severity, rule.Description)
	}
	results := []sarifResult{}
	for _, v := range r.Violations {
		add(v.Rule, v.Severity, "")
		loc := sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: v.object(), Kind: "resource"}}}
		if v.Source != nil && v.Source.Path != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(v.Source.Path)}}
			if v.Source.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: v.Source.Line}
			}
		}
		results = append(results, sarifResult{
			RuleID: v.Rule, RuleIndex: index[v.Rule], Level: v.Severity.level(),
			Message:    sarifMessage{Text: v.object() + ": " + v.Message},
			Locations:  []sarifLocation{loc},
			Properties: sarifProperties{Affected: v.Affected},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{{Tool: sarifTool{Driver: driver}, Results: results}}})
}
