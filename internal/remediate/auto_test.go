package remediate

import (
	"strings"
	"testing"
)

func TestAutoLimitsHold(t *testing.T) {
	plan := func(risks ...Risk) Plan {
		p := newPlan()
		for _, r := range risks {
			p.Steps = append(p.Steps, Step{Risk: r})
		}
		return p
	}
	l := DefaultAutoLimits()
	tests := []struct {
		name  string
		plan  Plan
		fixed int
		want  string // a part of the reason; "" means applied
	}{
		{"low and medium within the budget", plan(RiskLow, RiskMedium), 19, ""},
		{"one high step", plan(RiskLow, RiskHigh), 0, "risk high is above automatic remediation's limit medium"},
		{"budget spent", plan(RiskLow), 20, "fixed 20 objects on cluster prod in the last 1m0s"},
	}
	for _, tt := range tests {
		got := l.Hold(tt.plan, "prod", tt.fixed)
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: Hold = %q, want %q", tt.name, got, tt.want)
		}
	}
	if r := plan().Risk(); r != RiskLow {
		t.Errorf("empty plan risk = %s, want low", r)
	}
}
