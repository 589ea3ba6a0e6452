package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"plumb.dev/plumb/internal/plural"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// ErrCannotResume: the run is not a rollout that stopped with waves left.
var ErrCannotResume = errors.New("nothing to resume")

// Resumable says why run cannot be resumed (ErrCannotResume): it is not a
// rollout, or it did not stop; nil when it can be.
func Resumable(run *store.Run) error {
	if len(run.Waves) == 0 {
		return fmt.Errorf("%w: run %d is not a rollout", ErrCannotResume, run.ID)
	}
	if run.Outcome != store.RunStopped {
		return fmt.Errorf("%w: run %d did not stop (%s)", ErrCannotResume, run.ID, run.Outcome)
	}
	return nil
}

// RolloutOptions tune Runner.Rollout and Runner.Resume.
type RolloutOptions struct {
	// Waves passes the wave timing and logger on to package rollout.
	Waves rollout.Options
	// Planned, if set, is told of each cluster's plan (with the errors of
	// loading its sources) before it is applied; Applied of its results.
	// Both may be called from several goroutines at once.
	Planned func(cluster string, plan Plan)
	Applied func(cluster string, results []Result)
}

// RolloutRun is what a rollout did.
type RolloutRun struct {
	// ID is the run's record: the resumed run's own id for a resume.
	ID int64
	// Plan and Results are every cluster's, in wave order.
	Plan    Plan
	Results []Result
	// Waves is one row per cluster of every wave the rollout went through.
	Waves []store.RunWave
	// Stopped says why the rollout stopped early ("" when it did not);
	// Left names the waves not finished.
	Stopped string
	Left    []string
	Outcome store.RunOutcome
}

// Rollout fixes f's clusters wave by wave (package rollout): each cluster
// is loaded and planned afresh as its wave starts, and a refusal, an
// object that cannot be compared or a step not applied fails its wave.
// The whole rollout is one run, recorded even when ctx ends, so that it
// can be resumed or undone.
func (r *Runner) Rollout(ctx context.Context, f Fleet, waves []rollout.Wave, opts RolloutOptions) (RolloutRun, error) {
	return r.rollout(ctx, f, waves, nil, opts)
}

// Resume goes on with the stopped rollout run id: the waves it did not
// finish, recorded in the same run.
func (r *Runner) Resume(ctx context.Context, id int64, f Fleet, waves []rollout.Wave, opts RolloutOptions) (RolloutRun, error) {
	prev, err := r.read(ctx, id)
	if err != nil {
		return RolloutRun{}, err
	}
	if err := Resumable(prev); err != nil {
		return RolloutRun{}, err
	}
	return r.rollout(ctx, f, rollout.Remaining(waves, prev.Waves), prev, opts)
}

func (r *Runner) rollout(ctx context.Context, f Fleet, waves []rollout.Wave, prev *store.Run, opts RolloutOptions) (RolloutRun, error) {
	started := r.now()
	if err := r.open(ctx, false); err != nil {
		return RolloutRun{}, err
	}
	rf := &rolloutFleet{f: f, opts: opts, plans: map[string]Plan{}, results: map[string][]Result{}, left: map[string][]LeftField{}, objs: map[string][]source.Object{}}
	res := rollout.Run(ctx, waves, rf, opts.Waves)
	// A rollout interrupted (Ctrl-C) is recorded as stopped all the same.
	ctx = context.WithoutCancel(ctx)
	out := RolloutRun{Waves: res.Clusters, Stopped: res.Stopped, Left: res.Left}
	out.Plan, out.Results = rf.merged(waves)
	user := r.User
	if user == "" {
		user = rf.identity(ctx)
	}
	rec, err := Record(RunInfo{Command: "fix", User: user, Started: started, Finished: r.now()}, out.Plan, out.Results)
	if err != nil {
		return out, err
	}
	rec.Waves = res.Clusters
	if prev != nil {
		if rec, err = resumed(prev, rec, waves); err != nil {
			return out, err
		}
	}
	for _, w := range rec.Waves {
		if !slices.Contains(rec.Clusters, w.Cluster) {
			rec.Clusters = append(rec.Clusters, w.Cluster)
		}
	}
	if res.Stopped != "" {
		rec.Outcome = store.RunStopped
	}
	out.Outcome = rec.Outcome
	if r.Runs == nil {
		return out, nil
	}
	if prev != nil {
		out.ID = prev.ID
		err = r.Runs.UpdateRun(ctx, rec)
	} else {
		out.ID, err = r.Runs.RecordRun(ctx, rec)
	}
	if err != nil {
		return out, fmt.Errorf("the run could not be recorded: %w", err)
	}
	return out, nil
}

// resumed is the stopped run prev gone on with rec, which did the waves
// left: prev's steps and plan followed by rec's, and prev's waves with
// those done again replaced.
func resumed(prev, rec *store.Run, waves []rollout.Wave) (*store.Run, error) {
	all, err := recordedPlan(prev)
	if err != nil {
		return nil, err
	}
	more, err := recordedPlan(rec)
	if err != nil {
		return nil, err
	}
	all.Steps = append(all.Steps, more.Steps...)
	out := *prev
	if out.Plan, err = encodePlan(all); err != nil {
		return nil, err
	}
	out.FinishedAt = rec.FinishedAt
	out.Steps = append(slices.Clone(prev.Steps), rec.Steps...)
	out.Objects = len(out.Steps)
	out.Waves = nil
	for _, w := range prev.Waves {
		if !slices.ContainsFunc(waves, func(x rollout.Wave) bool { return x.Name == w.Wave }) {
			out.Waves = append(out.Waves, w)
		}
	}
	out.Waves = append(out.Waves, rec.Waves...)
	var results []Result
	for _, s := range out.Steps {
		results = append(results, Result{Outcome: s.Outcome})
	}
	out.Outcome = outcomeOf(results)
	return &out, nil
}

// rolloutFleet is a Fleet as package rollout drives it, keeping what each
// cluster's fix planned and did for the record.
type rolloutFleet struct {
	f    Fleet
	opts RolloutOptions

	// mu guards the maps and the order of the first planner reached.
	mu      sync.Mutex
	plans   map[string]Plan
	results map[string][]Result
	// left are the added fields each cluster's last fix left in place.
	left map[string][]LeftField
	// objs are each cluster's declared objects as its last fix loaded them.
	objs  map[string][]source.Object
	first *Planner
}

func (rf *rolloutFleet) planner(name string) (*Planner, error) {
	p, err := rf.f.Planner(name)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	rf.mu.Lock()
	if rf.first == nil {
		rf.first = p
	}
	rf.mu.Unlock()
	return p, nil
}

// Fix implements rollout.Fleet: a fresh plan against the live cluster,
// under the guardrails, applied.
func (rf *rolloutFleet) Fix(ctx context.Context, name string) error {
	p, err := rf.planner(name)
	if err != nil {
		return err
	}
	if rf.f.Load == nil {
		return errors.New("the fleet has no sources to load")
	}
	objs, errs := rf.f.Load(ctx, name)
	plan, err := p.Plan(ctx, objs)
	if err != nil {
		return err
	}
	plan.Errors = append(errs, plan.Errors...)
	rf.mu.Lock()
	rf.objs[name], rf.left[name] = objs, plan.LeftInPlace
	rf.mu.Unlock()
	if rf.opts.Planned != nil {
		rf.opts.Planned(name, plan)
	}
	switch {
	case plan.Refused():
		return errors.New(plan.Refusals[0].String())
	case len(plan.Errors) > 0:
		return fmt.Errorf("%s could not be compared, the first: %s", plural.Count(len(plan.Errors), "object"), plan.Errors[0].Error())
	case len(plan.Steps) == 0:
		return nil
	}
	results, err := p.Apply(ctx, plan, ApplyOptions{})
	if err != nil {
		return err
	}
	rf.mu.Lock()
	rf.plans[name], rf.results[name] = plan, results
	rf.mu.Unlock()
	if rf.opts.Applied != nil {
		rf.opts.Applied(name, results)
	}
	var notApplied []string
	for _, res := range results {
		if !res.Outcome.Done() {
			notApplied = append(notApplied, res.Step.Object())
		}
	}
	if len(notApplied) > 0 {
		return fmt.Errorf("%d of %s not put back: %s", len(notApplied), plural.Count(len(results), "object"), strings.Join(notApplied, ", "))
	}
	return nil
}

// Drifted implements rollout.Fleet: the cluster's drifted and missing
// objects, compared with what its last fix loaded.
func (rf *rolloutFleet) Drifted(ctx context.Context, name string) ([]string, error) {
	p, err := rf.planner(name)
	if err != nil {
		return nil, err
	}
	rf.mu.Lock()
	objs := rf.objs[name]
	rf.mu.Unlock()
	res, err := p.engine.Scan(ctx, objs)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, d := range res.Findings {
		if d.State == drift.StateUnmanaged {
			continue
		}
		key := d.Kind + " " + d.Name
		if d.Namespace != "" {
			key = d.Kind + " " + d.Namespace + "/" + d.Name
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// merged is every applied plan and its results, in wave order.
func (rf *rolloutFleet) merged(waves []rollout.Wave) (Plan, []Result) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	plan := newPlan()
	var results []Result
	for _, w := range waves {
		for _, c := range w.Clusters {
			plan.Steps = append(plan.Steps, rf.plans[c].Steps...)
			plan.Skipped = append(plan.Skipped, rf.plans[c].Skipped...)
			plan.LeftInPlace = append(plan.LeftInPlace, rf.left[c]...)
			results = append(results, rf.results[c]...)
		}
	}
	return plan, results
}

// identity is who the rollout acted as: the identity in the first cluster
// it reached.
func (rf *rolloutFleet) identity(ctx context.Context) string {
	rf.mu.Lock()
	p := rf.first
	rf.mu.Unlock()
	if p == nil {
		return "unknown"
	}
	return p.engine.Cluster().Identity(ctx)
}
