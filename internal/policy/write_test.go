package policy

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/table"
)

// TestWriteSARIFLocations: a violation at a file and line is located
// there; one whose line is unknown (kustomize generator output) only at
// its file; one with no source (an admission request) only as its object.
// A rule that fired and was not listed as run is added to the rules.
func TestWriteSARIFLocations(t *testing.T) {
	r := Result{
		Rules: []Rule{{Name: RuleScaleToZero, Severity: SeverityDeny, Description: "scaling to 0"}},
		Violations: []Violation{
			{Rule: RuleScaleToZero, Severity: SeverityDeny, Kind: "Deployment", Namespace: "shop", Name: "web", Message: "m1", Source: &source.Origin{Path: `deploy/web.yaml`, Line: 3}},
			{Rule: RuleExposeService, Severity: SeverityWarn, Kind: "Service", Namespace: "shop", Name: "web", Message: "m2", Source: &source.Origin{Path: "kustomize/kustomization.yaml"}},
			{Rule: "no-latest", Severity: SeverityDeny, Kind: "Pod", Name: "debug", Message: "m3", Affected: 2},
		},
	}
	var b bytes.Buffer
	if err := Write(&b, r, "sarif", table.Options{}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rule := range log.Runs[0].Tool.Driver.Rules {
		got = append(got, "rule "+rule.ID+" "+rule.DefaultConfiguration.Level)
	}
	for _, res := range log.Runs[0].Results {
		loc := res.Locations[0]
		where := "nowhere"
		if p := loc.PhysicalLocation; p != nil {
			where = p.ArtifactLocation.URI
			if p.Region != nil {
				where += ":" + strconv.Itoa(p.Region.StartLine)
			}
		}
		got = append(got, strings.Join([]string{res.Level, res.RuleID, log.Runs[0].Tool.Driver.Rules[res.RuleIndex].ID, where, loc.LogicalLocations[0].FullyQualifiedName, res.Message.Text, strconv.Itoa(res.Properties.Affected)}, " | "))
	}
	want := []string{
		"rule scale-to-zero error",
		"rule expose-service warning",
		"rule no-latest error",
		"error | scale-to-zero | scale-to-zero | deploy/web.yaml:3 | Deployment shop/web | Deployment shop/web: m1 | 0",
		"warning | expose-service | expose-service | kustomize/kustomization.yaml | Service shop/web | Service shop/web: m2 | 0",
		"error | no-latest | no-latest | nowhere | Pod debug | Pod debug: m3 | 2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SARIF (-want +got):\n%s", diff)
	}
}

// TestWriteJUnitEscapes: messages with XML's special characters stay
// well-formed, and a violation without a source has no file attribute.
func TestWriteJUnitEscapes(t *testing.T) {
	r := Result{Violations: []Violation{{Rule: "r", Severity: SeverityDeny, Kind: "ConfigMap", Name: "x", Message: `a <b> & "c"`}}}
	var b bytes.Buffer
	if err := Write(&b, r, "junit", table.Options{}); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	c := doc.Suites[0].Cases[0]
	if doc.Failures != 1 || c.Failure == nil || c.Failure.Message != `a <b> & "c"` || c.File != "" || strings.Contains(b.String(), `file=`) {
		t.Errorf("junit:\n%s", b.String())
	}
}

// TestWriteTable: check's table has kubectl's --no-headers, colours
// severities only when asked, and fits a terminal's width by shortening
// the message, source and names, never the severity or the rule.
func TestWriteTable(t *testing.T) {
	r := Result{Violations: []Violation{
		{Rule: RuleScaleToZero, Severity: SeverityDeny, Kind: "Deployment", Namespace: "shop", Name: "web", Affected: 3,
			Message: "scales the Deployment to 0 replicas, which stops every Pod it runs and takes the service down",
			Source:  &source.Origin{Path: "deploy/overlays/production/europe-west/web-deployment.yaml", Line: 12}},
		{Rule: RuleExposeService, Severity: SeverityWarn, Kind: "Service", Namespace: "shop", Name: "web", Message: "exposes port 80 outside the cluster"},
	}}
	write := func(opts table.Options) []string {
		var b bytes.Buffer
		if err := Write(&b, r, "table", opts); err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	}
	whole := write(table.Options{})
	if len(whole) != 3 || !strings.HasPrefix(whole[0], "SEVERITY") || !strings.Contains(whole[1], "deploy/overlays/production/europe-west/web-deployment.yaml:12") ||
		!strings.Contains(whole[1], "takes the service down") || strings.Contains(strings.Join(whole, ""), "\x1b[") {
		t.Errorf("off a terminal, want the whole table, plain:\n%s", strings.Join(whole, "\n"))
	}
	if got := write(table.Options{NoHeaders: true}); len(got) != 2 || !strings.HasPrefix(got[0], "deny") {
		t.Errorf("--no-headers:\n%s", strings.Join(got, "\n"))
	}
	fitted := write(table.Options{Width: 120})
	for _, l := range fitted {
		if n := len([]rune(l)); n > 120 {
			t.Errorf("a line of %d columns on a terminal of 120:\n%s", n, l)
		}
	}
	if !strings.HasPrefix(fitted[1], "deny") || !strings.Contains(fitted[1], "scale-to-zero") || !strings.Contains(fitted[1], "…") {
		t.Errorf("fitted to 120 columns, want severity and rule whole and an ellipsis:\n%s", strings.Join(fitted, "\n"))
	}
	if got := write(table.Options{Color: true}); !strings.Contains(got[1], "\x1b[1;31mdeny\x1b[0m") || !strings.Contains(got[2], "\x1b[33mwarn\x1b[0m") {
		t.Errorf("in colour, want deny bold red and warn yellow:\n%q", got)
	}
}
