package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"plumb.dev/plumb/internal/drift"
)

// Outcome is what happened to one step.
type Outcome string

const (
	OutcomeApplied Outcome = "applied"
	// OutcomeChanged: the object changed since it was planned and now
	// needs other changes; it was left alone.
	OutcomeChanged Outcome = "changed-since-planned"
	// OutcomeConflict: other managers own fields the plan does not change.
	OutcomeConflict Outcome = "conflict"
	OutcomeFailed   Outcome = "failed"
)

// Result is one step's outcome.
type Result struct {
	Step    Step    `json:"step"`
	Outcome Outcome `json:"outcome"`
	Message string  `json:"message,omitempty"`
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// DryRun runs every write as a server-side dry-run.
	DryRun bool
}

// Apply carries out an unrefused plan, step by step. A step that fails
// does not stop the others; each has its outcome.
func (p *Planner) Apply(ctx context.Context, plan Plan, opts ApplyOptions) ([]Result, error) {
	if plan.Refused() {
		return nil, errors.New("the plan was refused by a guardrail; nothing applied")
	}
	out := make([]Result, 0, len(plan.Steps))
	for _, st := range plan.Steps {
		outcome, msg := p.applyStep(ctx, st, opts)
		out = append(out, Result{Step: st, Outcome: outcome, Message: msg})
	}
	return out, nil
}

// maxReplans bounds how often a step whose object keeps changing (to the
// same drift) is re-checked.
const maxReplans = 3

func (p *Planner) applyStep(ctx context.Context, st Step, opts ApplyOptions) (Outcome, string) {
	rv := st.ResourceVersion
	for range maxReplans {
		_, err := p.engine.Apply(ctx, st.target, drift.ApplyOptions{Manager: st.Manager, ResourceVersion: rv, DryRun: opts.DryRun})
		var conflicts *drift.Conflicts
		switch {
		case err == nil:
			return OutcomeApplied, ""
		case errors.As(err, &conflicts):
			outside := outsidePlan(conflicts.Fields, st)
			if len(outside) == 0 {
				// Every conflict is a field the plan puts back: take it over.
				_, err = p.engine.Apply(ctx, st.target, drift.ApplyOptions{Manager: st.Manager, ResourceVersion: rv, Force: true, DryRun: opts.DryRun})
				if err == nil {
					return OutcomeApplied, fmt.Sprintf("took over %s", strings.Join(conflicts.Fields, ", "))
				}
				if !errors.Is(err, drift.ErrChanged) {
					return OutcomeFailed, err.Error()
				}
				break // changed since planned: compare again below
			}
			// The server checks ownership before the resourceVersion: a
			// conflict may only mean the object changed since planned.
			live, gerr := p.engine.Get(ctx, st.target)
			if gerr != nil {
				return OutcomeFailed, gerr.Error()
			}
			if live == nil || live.GetResourceVersion() == rv {
				return OutcomeConflict, "other managers own fields the plan does not change: " + strings.Join(outside, ", ")
			}
		case !errors.Is(err, drift.ErrChanged):
			return OutcomeFailed, err.Error()
		}
		// Changed since planned: compare again; go on only if the plan
		// still says exactly what to do.
		live, err := p.engine.Get(ctx, st.target)
		if err != nil {
			return OutcomeFailed, err.Error()
		}
		f, err := p.engine.CompareLive(ctx, st.target, live, nil)
		if err != nil {
			return OutcomeFailed, err.Error()
		}
		if f == nil {
			return OutcomeApplied, "already back in sync"
		}
		again, ok := p.step(*f, st.target)
		if !ok || !sameChanges(again.Changes, st.Changes) {
			return OutcomeChanged, "the object changed since it was planned; run plumb fix again to see the new plan"
		}
		rv = again.ResourceVersion
	}
	return OutcomeChanged, "the object kept changing while it was being put back"
}

// outsidePlan returns the conflicting fields the step does not change.
func outsidePlan(fields []string, st Step) []string {
	planned := map[string]bool{}
	for _, c := range st.Changes {
		planned[normalisePath(c.Path)] = true
	}
	var out []string
	for _, f := range fields {
		if !planned[normalisePath(f)] {
			out = append(out, f)
		}
	}
	return out
}

// normalisePath writes map keys the way the server's conflict messages do:
// .metadata.annotations["a.b/c"] becomes .metadata.annotations.a.b/c.
func normalisePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.HasPrefix(p[i:], `["`) {
			if end := strings.Index(p[i+2:], `"]`); end >= 0 {
				b.WriteString("." + p[i+2:i+2+end])
				i += end + 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func sameChanges(a, b []Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Type != b[i].Type || fmt.Sprint(a[i].Desired) != fmt.Sprint(b[i].Desired) {
			return false
		}
	}
	return true
}
