package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// rolloutDoc is what plumb fix -c -o json prints for a rollout.
type rolloutDoc struct {
	Run        int64              `json:"run,omitempty"`
	Waves      []store.RunWave    `json:"waves"`
	Stopped    string             `json:"stopped,omitempty"`
	Left       []string           `json:"left,omitempty"`
	Unassigned []string           `json:"unassigned,omitempty"`
	Plan       *remediate.Plan    `json:"plan,omitempty"`
	Results    []remediate.Result `json:"results,omitempty"`
}

// runRollout fixes the configuration's fleet wave by wave (rollout:), or
// goes on with a stopped rollout (--resume).
func (o *fixOptions) runRollout(ctx context.Context, cfg *config.File) error {
	started := time.Now()
	if o.dryRun != "none" {
		return fmt.Errorf("--dry-run is not supported with a rollout: plumb diff -c shows what it would fix")
	}
	st, _, err := openStore(ctx, o.storePath, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	targets, err := fleet.Members(cfg, nil, nil)
	if err != nil {
		return err
	}
	var bound []config.Cluster
	for _, t := range targets {
		if t.Bound() {
			bound = append(bound, t.Cluster)
		}
	}
	waves, unassigned := rollout.Waves(cfg.Rollout, bound)
	var prev *store.Run
	if o.resume > 0 {
		if prev, err = st.Run(ctx, o.resume); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("run %d is not in the store; plumb history lists the runs", o.resume)
		} else if err != nil {
			return err
		}
		if len(prev.Waves) == 0 {
			return fmt.Errorf("run %d is not a rollout: nothing to resume", o.resume)
		}
		if prev.Outcome != outcomeStopped {
			return fmt.Errorf("run %d did not stop (%s): nothing to resume", o.resume, prev.Outcome)
		}
		waves = rollout.Remaining(waves, prev.Waves)
	}
	if len(waves) == 0 && prev == nil {
		return fmt.Errorf("%s: no bound cluster is in a wave of the rollout; nothing to fix", cfg.Path)
	}
	if len(unassigned) > 0 {
		fmt.Fprintf(o.streams.ErrOut, "not fixed: clusters %s are in no wave of %s's rollout\n", strings.Join(unassigned, ", "), cfg.Path)
	}
	if o.output != "json" {
		fmt.Fprintf(o.streams.Out, "Rollout: %d waves\n", len(waves))
		for _, w := range waves {
			bake := ""
			if w.Bake > 0 {
				bake = ", bake " + w.Bake.String()
			}
			fmt.Fprintf(o.streams.Out, "  %s: %s (at most %d at once%s)\n", w.Name, strings.Join(w.Clusters, ", "), w.MaxParallel, bake)
		}
		fmt.Fprintln(o.streams.Out)
	}
	if !o.yes {
		ok, why := o.ask(fmt.Sprintf("Fix %d waves, planning each cluster as its wave starts?", len(waves)))
		if !ok {
			fmt.Fprintln(o.streams.ErrOut, "rollout not started: "+why)
			return withCode(ExitDrift, nil)
		}
	}

	f, err := o.newRolloutFleet(cfg, targets)
	if err != nil {
		return err
	}
	res := rollout.Run(ctx, waves, f, rollout.Options{Logger: o.logger})
	// A rollout interrupted (Ctrl-C) is recorded as stopped all the same,
	// so that it can be resumed or undone.
	ctx = context.WithoutCancel(ctx)
	plan, results := f.merged(waves)
	rec, err := remediate.Record(remediate.RunInfo{Command: "fix", User: f.identity(ctx), Started: started, Finished: time.Now()}, plan, results)
	if err != nil {
		return err
	}
	rec.Waves = res.Clusters
	if prev != nil {
		if rec, err = resumed(prev, rec, plan, waves); err != nil {
			return err
		}
	}
	for _, w := range rec.Waves {
		if !slices.Contains(rec.Clusters, w.Cluster) {
			rec.Clusters = append(rec.Clusters, w.Cluster)
		}
	}
	if res.Stopped != "" {
		rec.Outcome = outcomeStopped
	}
	var id int64
	if prev != nil {
		id = prev.ID
		err = st.UpdateRun(ctx, rec)
	} else {
		id, err = st.RecordRun(ctx, rec)
	}
	if err != nil {
		return fmt.Errorf("the run could not be recorded: %w", err)
	}

	if o.output == "json" {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rolloutDoc{Run: id, Waves: res.Clusters, Stopped: res.Stopped, Left: res.Left, Unassigned: unassigned, Plan: &plan, Results: results}); err != nil {
			return err
		}
	} else {
		writeWaves(o, res.Clusters)
		if res.Stopped != "" {
			fmt.Fprintf(o.streams.Out, "Rollout stopped: %s\nWaves left: %s. Go on with: plumb fix -c %s --resume %d\n", res.Stopped, strings.Join(res.Left, ", "), cfg.Path, id)
		}
		fmt.Fprintf(o.streams.Out, "Recorded as run %d; put every wave back with: plumb fix -c %s --undo %d\n", id, cfg.Path, id)
		if len(plan.LeftInPlace) > 0 {
			fmt.Fprintf(o.streams.Out, "Drift remains: %s.\n", report.LeftSummary(len(plan.LeftInPlace)))
		}
	}
	if res.Stopped != "" || len(plan.LeftInPlace) > 0 {
		return withCode(ExitDrift, nil)
	}
	return withCode(ExitInSync, nil)
}

// outcomeStopped is a rollout's outcome when it stopped with waves left.
const outcomeStopped = "stopped"

func writeWaves(o *fixOptions, rows []store.RunWave) {
	for _, r := range rows {
		when := ""
		if !r.StartedAt.IsZero() {
			when = fmt.Sprintf(" (%s to %s)", r.StartedAt.Local().Format(time.TimeOnly), r.FinishedAt.Local().Format(time.TimeOnly))
		}
		msg := ""
		if r.Message != "" {
			msg = ": " + r.Message
		}
		fmt.Fprintf(o.streams.Out, "wave %s, cluster %s: %s%s%s\n", r.Wave, r.Cluster, r.Status, when, msg)
	}
}

// resumed is the stopped run prev gone on with rec, which did the waves
// left: prev's steps and plan followed by rec's, and prev's waves with
// those done again replaced.
func resumed(prev, rec *store.Run, plan remediate.Plan, waves []rollout.Wave) (*store.Run, error) {
	var all remediate.Plan
	if err := json.Unmarshal(prev.Plan, &all); err != nil {
		return nil, fmt.Errorf("run %d: its plan cannot be read: %w", prev.ID, err)
	}
	all.Steps = append(all.Steps, plan.Steps...)
	body, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	out := *prev
	out.Plan, out.FinishedAt = body, rec.FinishedAt
	out.Steps = append(slices.Clone(prev.Steps), rec.Steps...)
	out.Objects = len(out.Steps)
	out.Waves = nil
	for _, w := range prev.Waves {
		if !slices.ContainsFunc(waves, func(x rollout.Wave) bool { return x.Name == w.Wave }) {
			out.Waves = append(out.Waves, w)
		}
	}
	out.Waves = append(out.Waves, rec.Waves...)
	out.Outcome = "applied"
	applied, other := 0, 0
	for _, s := range out.Steps {
		if s.Outcome == string(remediate.OutcomeApplied) || s.Outcome == string(remediate.OutcomeInSync) {
			applied++
		} else {
			other++
		}
	}
	switch {
	case other > 0 && applied == 0:
		out.Outcome = "failed"
	case other > 0:
		out.Outcome = "partial"
	}
	return &out, nil
}

// rolloutFleet fixes and rescans a configuration's clusters for package
// rollout, and keeps what each fix planned and did for the record.
type rolloutFleet struct {
	o       *fixOptions
	targets map[string]fleet.Member
	guard   remediate.Guardrails
	dopts   drift.Options

	// mu guards conns, plans, results, left and writes to o.streams.Out.
	mu      sync.Mutex
	conns   map[string]*fleetConn
	plans   map[string]remediate.Plan
	results map[string][]remediate.Result
	// left are the added fields each cluster's last fix left in place.
	left map[string][]remediate.LeftField
}

// fleetConn is one cluster of the fleet, dialled once.
type fleetConn struct {
	c       *cluster.Cluster
	engine  *drift.Engine
	planner *remediate.Planner
	// objs are the cluster's declared objects as its last fix loaded them.
	objs []source.Object
}

func (o *fixOptions) newRolloutFleet(cfg *config.File, targets []fleet.Member) (*rolloutFleet, error) {
	rules, err := o.ignoreRules(cfg)
	if err != nil {
		return nil, err
	}
	dopts := o.driftOptions(o.globalOptions, rules)
	dopts.Unmanaged = o.prune
	f := &rolloutFleet{o: o, targets: map[string]fleet.Member{}, guard: o.guardrails(cfg), dopts: dopts,
		conns: map[string]*fleetConn{}, plans: map[string]remediate.Plan{}, results: map[string][]remediate.Result{},
		left: map[string][]remediate.LeftField{}}
	for _, t := range targets {
		f.targets[t.Cluster.Name] = t
	}
	return f, nil
}

// conn dials a cluster the first time it is asked for.
func (f *rolloutFleet) conn(name string) (*fleetConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.conns[name]; c != nil {
		return c, nil
	}
	t, ok := f.targets[name]
	if !ok {
		return nil, fmt.Errorf("cluster %s is not in the configuration", name)
	}
	// Each request gives up after --cluster-timeout, so that an unreachable
	// cluster fails its wave rather than hold it.
	c, err := fleet.Dial(t, "", f.o.fleet.timeout, cluster.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	dopts := f.dopts
	dopts.Cache = drift.NewCache()
	e, err := drift.New(c, dopts)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	fc := &fleetConn{c: c, engine: e, planner: remediate.NewPlanner(e, f.guard, remediate.Options{RemoveAdded: f.o.removeAdded, Prune: f.o.prune})}
	f.conns[name] = fc
	return fc, nil
}

// Fix implements rollout.Fleet: a fresh plan against the live cluster,
// under the guardrails, applied.
func (f *rolloutFleet) Fix(ctx context.Context, name string) error {
	fc, err := f.conn(name)
	if err != nil {
		return err
	}
	objs, errs := fleet.Load(ctx, f.targets[name], fc.c, f.o.gitAuth)
	plan, err := fc.planner.Plan(ctx, objs)
	if err != nil {
		return err
	}
	plan.Errors = append(errs, plan.Errors...)
	f.mu.Lock()
	fc.objs = objs
	f.report(name, plan)
	f.left[name] = plan.LeftInPlace
	f.mu.Unlock()
	switch {
	case plan.Refused():
		r := plan.Refusals[0]
		return fmt.Errorf("refused by %s: %s%s", r.Guardrail, objectPrefix(r.Object), r.Reason)
	case len(plan.Errors) > 0:
		return fmt.Errorf("%d objects could not be compared, the first: %s", len(plan.Errors), plan.Errors[0].Error())
	case len(plan.Steps) == 0:
		return nil
	}
	results, err := fc.planner.Apply(ctx, plan, remediate.ApplyOptions{})
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plans[name], f.results[name] = plan, results
	var notApplied []string
	for _, r := range results {
		if f.o.output != "json" {
			msg := ""
			if r.Message != "" {
				msg = ": " + r.Message
			}
			fmt.Fprintf(f.o.streams.Out, "%s: %s %s%s\n", name, r.Step.Object(), r.Outcome, msg)
		}
		if r.Outcome != remediate.OutcomeApplied && r.Outcome != remediate.OutcomeInSync {
			notApplied = append(notApplied, r.Step.Object())
		}
	}
	if len(notApplied) > 0 {
		return fmt.Errorf("%d of %d objects not put back: %s", len(notApplied), len(results), strings.Join(notApplied, ", "))
	}
	return nil
}

// report prints a cluster's plan, its errors and skips; f.mu is held.
func (f *rolloutFleet) report(name string, plan remediate.Plan) {
	for _, e := range plan.Errors {
		fmt.Fprintf(f.o.streams.ErrOut, "error: %s: %s\n", name, e.Error())
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(f.o.streams.ErrOut, "skipped %s: %s: %s\n", name, s.Object, s.Reason)
	}
	for _, r := range plan.Refusals {
		fmt.Fprintf(f.o.streams.ErrOut, "refused by %s: %s: %s%s\n", r.Guardrail, name, objectPrefix(r.Object), r.Reason)
	}
	if f.o.output != "json" {
		fmt.Fprintf(f.o.streams.Out, "Cluster %s: ", name)
		writePlan(f.o.streams.Out, plan)
	}
}

// Drifted implements rollout.Fleet: the cluster's drifted and missing
// objects, compared with what its last fix loaded.
func (f *rolloutFleet) Drifted(ctx context.Context, name string) ([]string, error) {
	fc, err := f.conn(name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	objs := fc.objs
	f.mu.Unlock()
	res, err := fc.engine.Scan(ctx, objs)
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
func (f *rolloutFleet) merged(waves []rollout.Wave) (remediate.Plan, []remediate.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var plan remediate.Plan
	var results []remediate.Result
	for _, w := range waves {
		for _, c := range w.Clusters {
			plan.Steps = append(plan.Steps, f.plans[c].Steps...)
			plan.Skipped = append(plan.Skipped, f.plans[c].Skipped...)
			plan.LeftInPlace = append(plan.LeftInPlace, f.left[c]...)
			results = append(results, f.results[c]...)
		}
	}
	return plan, results
}

// identity is who the run acted as: the identity in one of the clusters
// reached.
func (f *rolloutFleet) identity(ctx context.Context) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.targets {
		if fc := f.conns[t.Cluster.Name]; fc != nil {
			return fc.c.Identity(ctx)
		}
	}
	return "unknown"
}

// undoRollout puts back what a fleet run (a rollout, every wave of it)
// changed, cluster by cluster, last wave first, through the same lifecycle
// as every other run (remediate.Runner over remediate.Fleet).
func (o *fixOptions) undoRollout(ctx context.Context, cfg *config.File) error {
	started := time.Now()
	st, _, err := openStore(ctx, o.storePath, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	targets, err := fleet.Members(cfg, nil, nil)
	if err != nil {
		return err
	}
	f, err := o.newRolloutFleet(cfg, targets)
	if err != nil {
		return err
	}
	runner := &remediate.Runner{Runs: st, Planner: remediate.Fleet{Planner: func(name string) (*remediate.Planner, error) {
		fc, err := f.conn(name)
		if err != nil {
			return nil, err
		}
		return fc.planner, nil
	}}}
	plan, err := runner.PlanUndo(ctx, o.undo)
	if errors.Is(err, remediate.ErrRunNotFound) {
		return fmt.Errorf("run %d is not in the store; plumb history lists the runs", o.undo)
	}
	if err != nil {
		return err
	}
	runner.User = f.identity(ctx) // the clusters are dialled now
	for _, s := range plan.Skipped {
		fmt.Fprintf(o.streams.ErrOut, "skipped %s: %s\n", s.Object, s.Reason)
	}
	if o.output != "json" {
		writePlan(o.streams.Out, plan)
	}
	for _, r := range plan.Refusals {
		fmt.Fprintf(o.streams.ErrOut, "refused by %s: %s%s\n", r.Guardrail, objectPrefix(r.Object), r.Reason)
	}
	ropts := remediate.RunOptions{Command: "undo", UndoOf: o.undo, RecordInSync: true, Started: started}
	if !o.yes {
		ropts.Confirm = func(p remediate.Plan) (bool, string) { return o.confirm(len(p.Steps)) }
	}
	run, err := runner.Carry(ctx, plan, ropts)
	if err != nil {
		return err
	}
	if run.Outcome == remediate.RunDeclined {
		fmt.Fprintln(o.streams.ErrOut, "plan not applied: "+run.Declined)
	}
	if o.output == "json" {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rolloutDoc{Run: run.ID, Waves: []store.RunWave{}, Plan: &plan, Results: run.Results}); err != nil {
			return err
		}
	} else {
		for _, r := range run.Results {
			msg := ""
			if r.Message != "" {
				msg = ": " + r.Message
			}
			fmt.Fprintf(o.streams.Out, "%s %s %s%s\n", r.Step.Cluster, r.Step.Object(), r.Outcome, msg)
		}
		if run.ID != 0 {
			fmt.Fprintf(o.streams.Out, "Recorded as run %d (%s).\n", run.ID, run.Outcome)
		}
	}
	return withCode(fixExitCode(run), nil)
}
