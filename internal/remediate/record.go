package remediate

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/store"
)

// RunInfo is what a run record says beyond its plan and results.
type RunInfo struct {
	// Command is fix, undo or serve.
	Command string
	// User is the Kubernetes identity the run acted as.
	User string
	// UndoOf is the run an undo reverts.
	UndoOf            int64
	Started, Finished time.Time
}

// Record turns a plan and what became of it into a run for the store:
// one step per planned object, with its outcome and the whole object
// before and after. Secret values never reach the record.
func Record(info RunInfo, plan Plan, results []Result) (*store.Run, error) {
	body, err := encodePlan(plan)
	if err != nil {
		return nil, err
	}
	run := &store.Run{StartedAt: info.Started, FinishedAt: info.Finished, User: info.User, Command: info.Command,
		UndoOf: info.UndoOf, Objects: len(plan.Steps), Plan: body, Clusters: []string{}}
	for i, st := range plan.Steps {
		if !slices.Contains(run.Clusters, st.Cluster) {
			run.Clusters = append(run.Clusters, st.Cluster)
		}
		rs := store.RunStep{Cluster: st.Cluster, APIVersion: st.APIVersion, Kind: st.Kind, Namespace: st.Namespace, Name: st.Name,
			Action: st.Action, Outcome: store.StepNotApplied}
		if i < len(results) {
			r := results[i]
			rs.Outcome, rs.Message = r.Outcome, r.Message
			if rs.Before, err = masked(r.Before); err != nil {
				return nil, err
			}
			if rs.After, err = masked(r.After); err != nil {
				return nil, err
			}
		}
		run.Steps = append(run.Steps, rs)
	}
	run.Outcome = outcomeOf(results)
	if plan.Refused() {
		run.Outcome = store.RunRefused
	}
	return run, nil
}

// masked is u as JSON with Secret values replaced; nil for nil.
func masked(u *unstructured.Unstructured) (json.RawMessage, error) {
	if u == nil {
		return nil, nil
	}
	return json.Marshal(drift.MaskSecret(u).Object)
}

// encodePlan is plan as a run records it: as plumb fix -o json prints it.
func encodePlan(plan Plan) (json.RawMessage, error) { return json.Marshal(plan) }

// recordedPlan reads back the plan a run recorded.
func recordedPlan(run *store.Run) (Plan, error) {
	var plan Plan
	if len(run.Plan) == 0 {
		return plan, nil
	}
	if err := json.Unmarshal(run.Plan, &plan); err != nil {
		return plan, fmt.Errorf("run %d: its plan cannot be read: %w", run.ID, err)
	}
	return plan, nil
}
