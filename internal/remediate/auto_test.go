package remediate

import (
	"strings"
	"testing"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

func TestAutoLimitsHold(t *testing.T) {
	plan := func(risks ...Risk) Plan {
		p := newPlan()
		for _, r := range risks {
			p.Steps = append(p.Steps, Step{Risk: r})
		}
		return p
	}
	secret := func(action store.StepAction, paths ...string) Plan {
		p := newPlan()
		st := Step{APIVersion: "v1", Kind: "Secret", Namespace: "prod", Name: "db", Action: action, Risk: RiskLow}
		for _, path := range paths {
			st.Changes = append(st.Changes, Change{Change: drift.Change{Path: path}, Risk: RiskLow})
		}
		p.Steps = append(p.Steps, st)
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
		{"a Secret's value", secret(store.ActionApply, ".data.password"), 0, "Secret prod/db: Secret values are never written without a person's approval"},
		{"a Secret's value by key", secret(store.ActionApply, `.stringData["db.password"]`), 0, "Secret values are never written"},
		{"a missing Secret", secret(store.ActionCreate), 0, "Secret values are never written"},
		{"a Secret's label", secret(store.ActionApply, ".metadata.labels.team"), 0, ""},
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
