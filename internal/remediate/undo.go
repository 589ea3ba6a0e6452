package remediate

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// PlanUndo plans putting every object a recorded run changed back to how
// the run found it: restoring changed objects, deleting created ones and
// recreating deleted ones. Each step writes only if the object is still as
// the run left it. Secrets are skipped: their values are never recorded.
// The guardrails apply as to any plan.
func (p *Planner) PlanUndo(ctx context.Context, run *store.Run) (Plan, error) {
	plan := newPlan()
	recorded, err := recordedPlan(run)
	if err != nil {
		return plan, err
	}
	for i, rs := range run.Steps {
		if rs.Outcome != store.StepApplied {
			continue // nothing was written
		}
		if rs.Cluster != p.Cluster() {
			return plan, fmt.Errorf("run %d changed cluster %s; undo it with --context %s", run.ID, rs.Cluster, rs.Cluster)
		}
		st := Step{Cluster: rs.Cluster, APIVersion: rs.APIVersion, Kind: rs.Kind, Namespace: rs.Namespace, Name: rs.Name, Manager: UndoManager}
		if rs.Kind == "Secret" && rs.APIVersion == "v1" {
			plan.Skipped = append(plan.Skipped, Skip{Object: st.Object(), Reason: "Secret values are never recorded; put it back from its source"})
			continue
		}
		before, err := decodeObject(rs.Before)
		if err != nil {
			return plan, fmt.Errorf("run %d, %s: %w", run.ID, st.Object(), err)
		}
		after, err := decodeObject(rs.After)
		if err != nil {
			return plan, fmt.Errorf("run %d, %s: %w", run.ID, st.Object(), err)
		}
		switch {
		case before != nil && after != nil:
			st.Action, st.object, st.Risk = store.ActionRestore, before, RiskLow
			st.ResourceVersion, st.UID = after.GetResourceVersion(), string(after.GetUID())
			if i < len(recorded.Steps) && recorded.Steps[i].Name == rs.Name && recorded.Steps[i].Kind == rs.Kind {
				for _, c := range recorded.Steps[i].Changes {
					r := reverse(c.Change)
					risk := changeRisk(rs.Kind, r)
					st.Changes = append(st.Changes, Change{Change: r, Risk: risk})
					st.Risk = maxRisk(st.Risk, risk)
				}
			}
			if len(st.Changes) == 0 {
				st.Risk = RiskMedium
			}
		case after != nil:
			st.Action, st.Risk = store.ActionDelete, RiskCritical
			st.ResourceVersion, st.UID = after.GetResourceVersion(), string(after.GetUID())
		case before != nil:
			st.Action, st.object, st.Risk = store.ActionRecreate, before, RiskMedium
			if rs.Kind == "ClusterRole" || rs.Kind == "ClusterRoleBinding" {
				st.Risk = RiskCritical
			}
		default:
			continue
		}
		plan.Steps = append(plan.Steps, st)
	}
	plan.Refusals = p.Check(plan.Steps)
	return plan, nil
}

// reverse is the change that undoes putting c back.
func reverse(c drift.Change) drift.Change {
	r := drift.Change{Path: c.Path, Type: c.Type, Desired: c.Live, Live: c.Desired}
	switch c.Type {
	case drift.ChangeAdded:
		r.Type = drift.ChangeRemoved // putting it back removed it; undo adds it
	case drift.ChangeRemoved:
		r.Type = drift.ChangeAdded
	}
	return r
}

func decodeObject(b json.RawMessage) (*unstructured.Unstructured, error) {
	if len(b) == 0 {
		return nil, nil
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return u, nil
}
