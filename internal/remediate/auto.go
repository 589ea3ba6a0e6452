package remediate

import (
	"fmt"
	"strings"
	"time"

	"plumb.dev/plumb/internal/plural"

	"plumb.dev/plumb/internal/store"
)

// AutoLimits are the guardrails on what is applied with no person in the
// loop (serve's auto mode), on top of the Guardrails that bind every plan:
// a plan beyond them is not refused but waits for approval. A plan that
// writes a Secret's values always waits, whatever its risk.
type AutoLimits struct {
	// MaxRisk: plans riskier than this wait for approval. Default medium.
	MaxRisk Risk
	// Budget: at most this many objects are fixed per cluster within
	// BudgetWindow; beyond, plans wait for approval (a mass change is a
	// person's call). Default 20.
	Budget int
}

// BudgetWindow is the span AutoLimits.Budget counts fixes over.
const BudgetWindow = time.Minute

// DefaultAutoLimits returns the defaults documented on AutoLimits.
func DefaultAutoLimits() AutoLimits { return AutoLimits{MaxRisk: RiskMedium, Budget: 20} }

// Hold says why plan, for cluster, must wait for approval instead of
// being applied automatically, given the objects fixed there within
// BudgetWindow; "" when it may be applied.
func (l AutoLimits) Hold(plan Plan, cluster string, fixedInWindow int) string {
	for _, s := range plan.Steps {
		if writesSecretValues(s) {
			return fmt.Sprintf("%s: Secret values are never written without a person's approval: waiting for approval", s.Object())
		}
	}
	if r := plan.Risk(); r.Above(l.MaxRisk) {
		return fmt.Sprintf("risk %s is above automatic remediation's limit %s: waiting for approval", r, l.MaxRisk)
	}
	if fixedInWindow >= l.Budget {
		return fmt.Sprintf("automatic remediation fixed %s on cluster %s in the last %s, its limit: waiting for approval", plural.Count(fixedInWindow, "object"), cluster, BudgetWindow)
	}
	return ""
}

// writesSecretValues reports whether s writes a Secret's values: it
// creates, recreates or restores a whole Secret, or puts back a change under its data or
// stringData. A wrong value there (a password a chart renders anew, a
// value rotated on purpose) locks applications out, and nothing can undo
// it: Secret values are never recorded.
func writesSecretValues(s Step) bool {
	if s.Kind != "Secret" || s.APIVersion != "v1" {
		return false
	}
	switch s.Action {
	case store.ActionCreate, store.ActionRecreate, store.ActionRestore:
		return true
	}
	for _, c := range s.Changes {
		if c.Path == ".data" || c.Path == ".stringData" || strings.HasPrefix(c.Path, ".data.") || strings.HasPrefix(c.Path, ".data[") ||
			strings.HasPrefix(c.Path, ".stringData.") || strings.HasPrefix(c.Path, ".stringData[") {
			return true
		}
	}
	return false
}

// Risk is the highest risk of the plan's steps; low for an empty plan.
func (p Plan) Risk() Risk {
	r := RiskLow
	for _, s := range p.Steps {
		r = maxRisk(r, s.Risk)
	}
	return r
}

// Unresolved describes the steps that neither applied nor found the object
// back in sync; "" when there are none.
func Unresolved(rs []Result) string {
	var out []string
	for _, r := range rs {
		switch r.Outcome {
		case store.StepApplied, store.StepInSync, store.StepChanged:
			// Changed: the object moved on; its next event plans again.
		default:
			out = append(out, fmt.Sprintf("%s %s: %s", r.Step.Object(), r.Outcome, r.Message))
		}
	}
	return strings.Join(out, "; ")
}
