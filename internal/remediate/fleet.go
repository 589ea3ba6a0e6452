package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// Fleet undoes and applies across clusters, each cluster's steps by its
// own planner, so that a run that changed several clusters (a rollout) is
// put back as one run through the one lifecycle (Runner).
type Fleet struct {
	// Planner returns cluster name's planner (dialled on first use).
	Planner func(name string) (*Planner, error)
	// Load reads what cluster name declares, with the errors of the
	// sources that could not be read; a rollout loads each cluster as its
	// wave starts. Undo does not need it.
	Load func(ctx context.Context, name string) ([]source.Object, []source.Error)
}

var _ Planning = Fleet{}

// Plan is not how a fleet is fixed: its clusters are planned one by one,
// as their wave starts (rollout).
func (f Fleet) Plan(context.Context, []source.Object) (Plan, error) {
	return Plan{}, errors.New("a fleet is planned cluster by cluster, as each wave starts")
}

// PlanUndo plans putting back what run changed on every cluster, last
// cluster first, each by its own planner (Planner.PlanUndo). An object a
// resumed rollout changed twice (it drifted again while a wave baked) is
// put back as the last change found it: the earlier change was overwritten
// by hand already.
func (f Fleet) PlanUndo(ctx context.Context, run *store.Run) (Plan, error) {
	plan := newPlan()
	recorded, err := recordedPlan(run)
	if err != nil {
		return plan, err
	}
	var order []string
	for _, s := range slices.Backward(run.Steps) {
		if !slices.Contains(order, s.Cluster) {
			order = append(order, s.Cluster)
		}
	}
	key := func(s store.RunStep) string {
		return strings.Join([]string{s.Cluster, s.APIVersion, s.Kind, s.Namespace, s.Name}, "/")
	}
	last := map[string]int{}
	for i, s := range run.Steps {
		if s.Outcome == store.StepApplied {
			last[key(s)] = i
		}
	}
	for _, name := range order {
		p, err := f.Planner(name)
		if err != nil {
			return plan, fmt.Errorf("run %d changed cluster %s: %w", run.ID, name, err)
		}
		sub := *run
		sub.Steps = nil
		var subPlan Plan
		for i, s := range run.Steps {
			if j, ok := last[key(s)]; s.Cluster == name && (!ok || j == i) {
				sub.Steps = append(sub.Steps, s)
				if i < len(recorded.Steps) {
					subPlan.Steps = append(subPlan.Steps, recorded.Steps[i])
				}
			}
		}
		if sub.Plan, err = encodePlan(subPlan); err != nil {
			return plan, err
		}
		cp, err := p.PlanUndo(ctx, &sub)
		if err != nil {
			return plan, err
		}
		plan.Steps = append(plan.Steps, cp.Steps...)
		plan.Skipped = append(plan.Skipped, cp.Skipped...)
		plan.Refusals = append(plan.Refusals, cp.Refusals...)
	}
	return plan, nil
}

// Apply applies each cluster's steps with its planner, clusters in the
// order their first step comes in the plan.
func (f Fleet) Apply(ctx context.Context, plan Plan, opts ApplyOptions) ([]Result, error) {
	var order []string
	byCluster := map[string]Plan{}
	for _, st := range plan.Steps {
		if _, ok := byCluster[st.Cluster]; !ok {
			order = append(order, st.Cluster)
		}
		cp := byCluster[st.Cluster]
		cp.Steps = append(cp.Steps, st)
		byCluster[st.Cluster] = cp
	}
	var out []Result
	for _, name := range order {
		p, err := f.Planner(name)
		if err != nil {
			return out, fmt.Errorf("cluster %s: %w", name, err)
		}
		rs, err := p.Apply(ctx, byCluster[name], opts)
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
	}
	return out, nil
}
