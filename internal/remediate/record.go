package remediate

import (
	"encoding/json"
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
	// Declined: the plan was shown and not approved.
	Declined bool
}

// Record turns a plan and what became of it into a run for the store:
// one step per planned object, with its outcome and the whole object
// before and after. Secret values never reach the record.
func Record(info RunInfo, plan Plan, results []Result) (*store.Run, error) {
	body, err := json.Marshal(plan)
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
			Action: string(st.Action), Outcome: string(OutcomeNotApplied)}
		if i < len(results) {
			r := results[i]
			rs.Outcome, rs.Message = string(r.Outcome), r.Message
			if rs.Before, err = masked(r.Before); err != nil {
				return nil, err
			}
			if rs.After, err = masked(r.After); err != nil {
				return nil, err
			}
		}
		run.Steps = append(run.Steps, rs)
	}
	switch {
	case plan.Refused():
		run.Outcome = string(RunRefused)
	case info.Declined:
		run.Outcome = string(RunDeclined)
	default:
		run.Outcome = string(outcomeOf(results))
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
