package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Change is one field a step puts back, with its risk.
type Change struct {
	drift.Change
	Risk Risk `json:"risk"`
}

// Step is what the plan does to one object.
type Step struct {
	Cluster    string           `json:"cluster"`
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	Name       string           `json:"name"`
	Action     store.StepAction `json:"action"`
	Risk       Risk             `json:"risk"`
	Changes    []Change         `json:"changes,omitempty"`
	// ResourceVersion and UID are the object's as planned; the step
	// writes only if the object is still at them.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	UID             string `json:"uid,omitempty"`
	// Manager is the field manager the step writes as.
	Manager string `json:"manager,omitempty"`
	// Note says something the person approving should know.
	Note string `json:"note,omitempty"`

	key    drift.ObjectKey
	target drift.Target
	// object is what restore and recreate write.
	object *unstructured.Unstructured
}

// Object names the step's object as kubectl does: Kind namespace/name.
func (s Step) Object() string {
	if s.Namespace == "" {
		return s.Kind + " " + s.Name
	}
	return s.Kind + " " + s.Namespace + "/" + s.Name
}

// Refusal is a guardrail saying no.
type Refusal struct {
	Guardrail string `json:"guardrail"`
	Object    string `json:"object,omitempty"`
	Reason    string `json:"reason"`
}

// String is the refusal in one line: refused by GUARDRAIL: OBJECT: REASON.
func (r Refusal) String() string {
	if r.Object == "" {
		return "refused by " + r.Guardrail + ": " + r.Reason
	}
	return "refused by " + r.Guardrail + ": " + r.Object + ": " + r.Reason
}

// LeftField is a field a plan leaves as it is live although the sources do
// not declare it: one an out-of-band manager added (an extra env var,
// label or container). kubectl apply leaves the fields it does not own,
// and so does a plan, unless Options.RemoveAdded (--remove-added). The
// object still differs from its declaration afterwards, so a plan that
// leaves fields says so, and a scan after it reports them.
type LeftField struct {
	Cluster string `json:"cluster"`
	// Object names the object as Step.Object does: Kind namespace/name.
	Object string `json:"object"`
	drift.Change
}

// Skip is an object a plan leaves alone, and why.
type Skip struct {
	Object string `json:"object"`
	Reason string `json:"reason"`
}

// Plan is every step a run would take, and whether it may.
type Plan struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Steps      []Step    `json:"steps"`
	Refusals   []Refusal `json:"refusals"`
	// Skipped are objects the plan cannot change (an undo of a Secret).
	Skipped []Skip `json:"skipped,omitempty"`
	// Errors are objects that could not be compared; the plan leaves them.
	Errors []source.Error `json:"errors"`
	// LeftInPlace are added fields the plan leaves (see LeftField): after
	// it, the objects that hold them still differ from their declaration.
	LeftInPlace []LeftField `json:"leftInPlace,omitempty"`
}

// Refused reports whether any guardrail refused the plan: then nothing is
// applied.
func (p Plan) Refused() bool { return len(p.Refusals) > 0 }

// Hash names what the plan would write: every step's object, action,
// the version it was planned at and each change with its desired and live
// value. An approval names the hash of the plan it approves, so a plan made
// again after the object changed is never approved unseen.
func (p Plan) Hash() string {
	b, _ := json.Marshal(p.Steps) // steps are plain data: they always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func newPlan() Plan {
	return Plan{APIVersion: "plumb.dev/v1alpha1", Kind: "Plan", Steps: []Step{}, Refusals: []Refusal{}, Errors: []source.Error{}}
}

// DefaultProtectedKinds are never deleted without a per-kind allowance:
// deleting one takes everything in it or on it along.
var DefaultProtectedKinds = []string{"Namespace", "CustomResourceDefinition", "PersistentVolume", "PersistentVolumeClaim"}

// Guardrails bound what a run may change.
type Guardrails struct {
	// MaxObjects refuses a plan that changes more objects. Default 20.
	MaxObjects int
	// ProtectedNamespaces are never changed. Default [kube-system].
	ProtectedNamespaces []string
	// ProtectedKinds are never deleted unless AllowDelete names them.
	// Default DefaultProtectedKinds.
	ProtectedKinds []string
	// AllowDelete lifts ProtectedKinds, kind by kind.
	AllowDelete []string
	// MaxRisk refuses steps above it unless AllowRisk. Default high.
	MaxRisk Risk
	// AllowRisk lifts MaxRisk.
	AllowRisk bool
}

// DefaultGuardrails returns the defaults documented on Guardrails.
func DefaultGuardrails() Guardrails {
	return Guardrails{MaxObjects: 20, ProtectedNamespaces: []string{"kube-system"}, ProtectedKinds: DefaultProtectedKinds, MaxRisk: RiskHigh}
}

// Options say what a plan may do beyond putting declared fields back.
type Options struct {
	// RemoveAdded also removes fields set out of band that the sources do
	// not declare. Default false: they are left in place (LeftInPlace), as
	// kubectl apply leaves fields it does not own.
	RemoveAdded bool
	// Prune deletes unmanaged objects. It needs an engine that looks for
	// them (drift.Options.Unmanaged).
	Prune bool
}

// Planner plans remediation for one cluster.
type Planner struct {
	engine *drift.Engine
	guard  Guardrails
	opts   Options
}

// NewPlanner returns a planner that uses engine to compare.
func NewPlanner(engine *drift.Engine, guard Guardrails, opts Options) *Planner {
	def := DefaultGuardrails()
	if guard.MaxObjects <= 0 {
		guard.MaxObjects = def.MaxObjects
	}
	if guard.ProtectedNamespaces == nil {
		guard.ProtectedNamespaces = def.ProtectedNamespaces
	}
	if guard.ProtectedKinds == nil {
		guard.ProtectedKinds = def.ProtectedKinds
	}
	if guard.MaxRisk == "" {
		guard.MaxRisk = def.MaxRisk
	}
	return &Planner{engine: engine, guard: guard, opts: opts}
}

// Cluster names the planner's cluster.
func (p *Planner) Cluster() string { return p.engine.Cluster().Name }

// Plan compares objs with the cluster and plans putting every drifted and
// missing object back.
func (p *Planner) Plan(ctx context.Context, objs []source.Object) (Plan, error) {
	plan := newPlan()
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
		if f.State == drift.StateUnmanaged {
			if st, ok := p.pruneStep(f); ok {
				plan.Steps = append(plan.Steps, st)
			}
			continue
		}
		t, ok := byKey[f.Key()]
		if !ok {
			continue
		}
		if sk, ok := skip(f, t); ok {
			plan.Skipped = append(plan.Skipped, sk)
			continue
		}
		p.add(&plan, f, t)
	}
	plan.Refusals = p.Check(plan.Steps)
	return plan, nil
}

// PlanFinding plans putting one object back from a finding already made
// (by a watcher) for target t, without asking the cluster again. The
// guardrails are checked as for any plan.
func (p *Planner) PlanFinding(f drift.Finding, t drift.Target) Plan {
	plan := newPlan()
	if sk, ok := skip(f, t); ok {
		plan.Skipped = append(plan.Skipped, sk)
		return plan
	}
	p.add(&plan, f, t)
	plan.Refusals = p.Check(plan.Steps)
	return plan
}

// add plans one drifted or missing object into plan: its step, if there
// is anything to put back, and the fields it leaves.
func (p *Planner) add(plan *Plan, f drift.Finding, t drift.Target) {
	st, ok := p.step(f, t)
	if ok {
		plan.Steps = append(plan.Steps, st)
	}
	if p.opts.RemoveAdded {
		return
	}
	for _, c := range LeftInPlace(f) {
		plan.LeftInPlace = append(plan.LeftInPlace, LeftField{Cluster: f.Cluster, Object: st.Object(), Change: c})
	}
}

// LeftInPlace returns the changes of a finding that a plan without
// Options.RemoveAdded leaves as they are: fields added by a manager other
// than the deployer. Fields the deployer itself set that the source no
// longer declares are part of putting the declaration back, and go.
// plumb diff notes the same fields, so that diff and fix agree.
func LeftInPlace(f drift.Finding) []drift.Change {
	if f.State != drift.StateDrifted {
		return nil
	}
	var out []drift.Change
	for _, c := range f.Changes {
		if leftInPlace(f, c) {
			out = append(out, c)
		}
	}
	return out
}

// leftInPlace reports whether c, a change of f, is a field another manager
// added, which only RemoveAdded removes.
func leftInPlace(f drift.Finding, c drift.Change) bool {
	return c.Type == drift.ChangeAdded && (c.Manager == "" || c.Manager != f.Deployer)
}

// step plans one drifted or missing object.
func (p *Planner) step(f drift.Finding, t drift.Target) (Step, bool) {
	st := Step{Cluster: f.Cluster, APIVersion: f.APIVersion, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Risk: RiskLow, key: f.Key(), target: t}
	switch f.State {
	case drift.StateMissing:
		st.Action, st.Manager, st.Risk = store.ActionCreate, drift.DefaultManager, RiskMedium
		if f.Kind == "ClusterRole" || f.Kind == "ClusterRoleBinding" {
			st.Risk = RiskCritical
		}
		return st, true
	case drift.StateDrifted:
		st.Action, st.Manager = store.ActionApply, f.Deployer
		if f.Live != nil {
			st.ResourceVersion = f.Live.GetResourceVersion()
			st.UID = string(f.Live.GetUID())
		}
		for _, c := range f.Changes {
			if !p.opts.RemoveAdded && leftInPlace(f, c) {
				continue // listed in Plan.LeftInPlace
			}
			r := changeRisk(f.Kind, c)
			st.Changes = append(st.Changes, Change{Change: c, Risk: r})
			st.Risk = maxRisk(st.Risk, r)
		}
		return st, len(st.Changes) > 0
	}
	return st, false
}

// skip says why a finding's object cannot be put back by a plan, if so: a
// Secret declared without values, or an object whose declaration the
// server refuses over the live one (Finding.Replace).
func skip(f drift.Finding, t drift.Target) (Skip, bool) {
	switch {
	case t.Valueless():
		return valuelessSkip(f, t), true
	case f.State == drift.StateDrifted && f.Replace != "":
		return Skip{Object: Step{Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}.Object(), Reason: fmt.Sprintf(
			"not changed: the server refuses the declaration at %s applied over the live object (%s); "+
				"an apply cannot put it back, a replace can: kubectl replace -f with that object, after checking what the replace drops",
			t.Origin(), f.Replace)}, true
	}
	return Skip{}, false
}

// valuelessSkip is why a Secret declared without values (a snapshot's) is
// neither created nor changed, and how to supply them.
func valuelessSkip(f drift.Finding, t drift.Target) Skip {
	what := "not changed"
	if f.State == drift.StateMissing {
		what = "not created"
	}
	return Skip{Object: Step{Kind: f.Kind, Namespace: f.Namespace, Name: f.Name}.Object(), Reason: fmt.Sprintf(
		"%s: declared at %s without values (plumb snapshot never writes them); create it with "+
			"kubectl create secret generic %s -n %s --from-literal=KEY=VALUE ..., or replace that file with the real Secret "+
			"(or a SealedSecret or ExternalSecret) and run fix again", what, t.Origin(), f.Name, f.Namespace)}
}

// pruneStep plans deleting an unmanaged object, when asked to prune.
func (p *Planner) pruneStep(f drift.Finding) (Step, bool) {
	if !p.opts.Prune || f.Live == nil {
		return Step{}, false
	}
	st := Step{Cluster: f.Cluster, APIVersion: f.APIVersion, Kind: f.Kind, Namespace: f.Namespace, Name: f.Name,
		Action: store.ActionDelete, Risk: RiskCritical, key: f.Key(),
		ResourceVersion: f.Live.GetResourceVersion(), UID: string(f.Live.GetUID())}
	if f.Kind == "Secret" && f.Key().Group == "" {
		st.Note = "cannot be undone: Secret values are never recorded"
	}
	return st, true
}

// Check runs the guardrails over steps.
func (p *Planner) Check(steps []Step) []Refusal {
	out := []Refusal{}
	if len(steps) > p.guard.MaxObjects {
		out = append(out, Refusal{Guardrail: "max-objects",
			Reason: fmt.Sprintf("the plan changes %d objects, more than %d; nothing is applied", len(steps), p.guard.MaxObjects)})
	}
	for _, s := range steps {
		obj := s.Object()
		ns := s.Namespace
		if s.Kind == "Namespace" && s.APIVersion == "v1" {
			ns = s.Name
		}
		if slices.Contains(p.guard.ProtectedNamespaces, ns) {
			out = append(out, Refusal{Guardrail: "protected-namespace", Object: obj,
				Reason: fmt.Sprintf("namespace %s is protected", ns)})
		}
		if s.Action == store.ActionDelete && slices.Contains(p.guard.ProtectedKinds, s.Kind) && !slices.Contains(p.guard.AllowDelete, s.Kind) {
			out = append(out, Refusal{Guardrail: "protected-kind", Object: obj,
				Reason: fmt.Sprintf("a %s is never deleted without --allow-delete=%s", s.Kind, s.Kind)})
		}
		if s.Risk.Above(p.guard.MaxRisk) && !p.guard.AllowRisk {
			out = append(out, Refusal{Guardrail: "max-risk", Object: obj,
				Reason: fmt.Sprintf("risk %s is above --max-risk %s; pass --allow-risk to apply it", s.Risk, p.guard.MaxRisk)})
		}
	}
	return out
}
