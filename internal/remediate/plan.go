package remediate

import (
	"context"
	"fmt"
	"slices"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

// Action is what a step does to an object.
type Action string

const (
	// ActionApply re-applies the declaration over drifted fields.
	ActionApply Action = "apply"
	// ActionCreate creates a missing object.
	ActionCreate Action = "create"
)

// Change is one field a step puts back, with its risk.
type Change struct {
	drift.Change
	Risk Risk `json:"risk"`
}

// Step is what the plan does to one object.
type Step struct {
	Cluster    string   `json:"cluster"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name"`
	Action     Action   `json:"action"`
	Risk       Risk     `json:"risk"`
	Changes    []Change `json:"changes,omitempty"`
	// ResourceVersion is the version the step was planned at.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Manager is the field manager the step applies as.
	Manager string `json:"manager"`

	key    drift.ObjectKey
	target drift.Target
}

// Refusal is a guardrail saying no.
type Refusal struct {
	Guardrail string `json:"guardrail"`
	Object    string `json:"object,omitempty"`
	Reason    string `json:"reason"`
}

// Plan is every step a run would take, and whether it may.
type Plan struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Steps      []Step    `json:"steps"`
	Refusals   []Refusal `json:"refusals"`
	// Errors are objects that could not be compared; the plan leaves them.
	Errors []source.Error `json:"errors"`
}

// Refused reports whether any guardrail refused the plan: then nothing is
// applied.
func (p Plan) Refused() bool { return len(p.Refusals) > 0 }

// Guardrails bound what a run may change.
type Guardrails struct {
	// MaxObjects refuses a plan that changes more objects. Default 20.
	MaxObjects int
	// ProtectedNamespaces are never changed. Default [kube-system].
	ProtectedNamespaces []string
	// MaxRisk refuses steps above it unless AllowRisk. Default high.
	MaxRisk Risk
	// AllowRisk lifts MaxRisk.
	AllowRisk bool
}

// DefaultGuardrails returns the defaults documented on Guardrails.
func DefaultGuardrails() Guardrails {
	return Guardrails{MaxObjects: 20, ProtectedNamespaces: []string{"kube-system"}, MaxRisk: RiskHigh}
}

// Planner plans remediation for one cluster.
type Planner struct {
	engine *drift.Engine
	guard  Guardrails
}

// NewPlanner returns a planner that uses engine to compare.
func NewPlanner(engine *drift.Engine, guard Guardrails) *Planner {
	def := DefaultGuardrails()
	if guard.MaxObjects <= 0 {
		guard.MaxObjects = def.MaxObjects
	}
	if guard.ProtectedNamespaces == nil {
		guard.ProtectedNamespaces = def.ProtectedNamespaces
	}
	if guard.MaxRisk == "" {
		guard.MaxRisk = def.MaxRisk
	}
	return &Planner{engine: engine, guard: guard}
}

// Plan compares objs with the cluster and plans putting every drifted and
// missing object back.
func (p *Planner) Plan(ctx context.Context, objs []source.Object) (Plan, error) {
	plan := Plan{APIVersion: "plumb.dev/v1alpha1", Kind: "Plan", Steps: []Step{}, Refusals: []Refusal{}, Errors: []source.Error{}}
	res, err := p.engine.Scan(ctx, objs)
	if err != nil {
		return plan, err
	}
	plan.Errors = append(plan.Errors, res.Errors...)
	targets, _, err := p.engine.Resolve(objs)
	if err != nil {
		return plan, err
	}
	byKey := map[drift.ObjectKey]drift.Target{}
	for _, t := range targets {
		byKey[t.Key()] = t
	}
	for _, f := range res.Findings {
		t, ok := byKey[f.Key()]
		if !ok {
			continue
		}
		if st, ok := p.step(f, t); ok {
			plan.Steps = append(plan.Steps, st)
		}
	}
	plan.Refusals = p.check(plan.Steps)
	return plan, nil
}

// step plans one finding.
func (p *Planner) step(f drift.Finding, t drift.Target) (Step, bool) {
	st := Step{Cluster: f.Cluster, APIVersion: f.APIVersion, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Risk: RiskLow, key: f.Key(), target: t}
	switch f.State {
	case drift.StateMissing:
		st.Action, st.Manager, st.Risk = ActionCreate, drift.DefaultManager, RiskMedium
		if f.Kind == "ClusterRole" || f.Kind == "ClusterRoleBinding" {
			st.Risk = RiskCritical
		}
		return st, true
	case drift.StateDrifted:
		st.Action, st.Manager = ActionApply, f.Deployer
		if f.Live != nil {
			st.ResourceVersion = f.Live.GetResourceVersion()
		}
		for _, c := range f.Changes {
			if c.Type == drift.ChangeAdded {
				// Server-side apply keeps fields other managers own; taking
				// them out is --remove-added's job, not planned here.
				continue
			}
			r := changeRisk(f.Kind, c)
			st.Changes = append(st.Changes, Change{Change: c, Risk: r})
			st.Risk = maxRisk(st.Risk, r)
		}
		return st, len(st.Changes) > 0
	}
	return st, false
}

// check runs the guardrails over the steps.
func (p *Planner) check(steps []Step) []Refusal {
	out := []Refusal{}
	if len(steps) > p.guard.MaxObjects {
		out = append(out, Refusal{Guardrail: "max-objects",
			Reason: fmt.Sprintf("the plan changes %d objects, more than %d; nothing is applied", len(steps), p.guard.MaxObjects)})
	}
	for _, s := range steps {
		obj := s.Kind + " " + s.Name
		if s.Namespace != "" {
			obj = s.Kind + " " + s.Namespace + "/" + s.Name
		}
		if slices.Contains(p.guard.ProtectedNamespaces, s.Namespace) {
			out = append(out, Refusal{Guardrail: "protected-namespace", Object: obj,
				Reason: fmt.Sprintf("namespace %s is protected", s.Namespace)})
		}
		if s.Risk.Above(p.guard.MaxRisk) && !p.guard.AllowRisk {
			out = append(out, Refusal{Guardrail: "max-risk", Object: obj,
				Reason: fmt.Sprintf("risk %s is above --max-risk %s; pass --allow-risk to apply it", s.Risk, p.guard.MaxRisk)})
		}
	}
	return out
}
