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
	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/rollout"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// rolloutDoc is what plumb fix -c -o json prints for a rollout, its undo
// or its preview (docs/schemas/plan.schema.json, kind Rollout).
type rolloutDoc struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Run        int64              `json:"run,omitempty"`
	Waves      []store.RunWave    `json:"waves"`
	Stopped    string             `json:"stopped,omitempty"`
	Left       []string           `json:"left,omitempty"`
	Unassigned []string           `json:"unassigned,omitempty"`
	Plan       *remediate.Plan    `json:"plan,omitempty"`
	Results    []remediate.Result `json:"results,omitempty"`
}

// rolloutKind is the kind of a rolloutDoc.
const rolloutKind = "Rollout"

// writeRollout prints d as JSON, in its envelope: every rollout document
// (a run, an undo, a preview) goes through it.
func (o *fixOptions) writeRollout(d rolloutDoc) error {
	d.APIVersion, d.Kind = report.APIVersion, rolloutKind
	if d.Waves == nil {
		d.Waves = []store.RunWave{}
	}
	enc := json.NewEncoder(o.streams.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// rolloutTargets are the configuration's clusters a rollout works on:
// those --fleet-cluster and --cluster-selector choose, as plumb scan -c
// chooses them. kubectl's --context and -n are refused: each cluster's
// come from the configuration.
func (o *fixOptions) rolloutTargets(cfg *config.File) ([]fleet.Member, error) {
	if err := refuseKubeFlags(o.globalOptions, cfg); err != nil {
		return nil, err
	}
	if len(o.sources) > 0 || len(o.values) > 0 || len(o.set) > 0 || o.releaseName != "" {
		return nil, fmt.Errorf("%s lists clusters: sources and values come from it, not from --source, --values, --set or --release-name", cfg.Path)
	}
	return o.fleet.targets(cfg)
}

// refuseClusterSelection refuses --fleet-cluster and --cluster-selector
// where the run already names its clusters (--resume, --undo): what goes
// on or is put back is what the run did, every cluster of it.
func (o *fixOptions) refuseClusterSelection(flag string) error {
	if len(o.fleet.clusters) > 0 || o.fleet.selector != "" {
		return fmt.Errorf("%s works on the clusters the run did: it takes no --fleet-cluster or --cluster-selector", flag)
	}
	return nil
}

// runRollout fixes the configuration's fleet wave by wave (rollout:), or
// goes on with a stopped rollout (--resume). Without --yes, or with
// --dry-run=server, it first plans every wave's clusters and shows each
// plan (previewRollout).
func (o *fixOptions) runRollout(ctx context.Context, cfg *config.File) error {
	// The store is read for --resume, and made only once the rollout
	// starts (the runner opens it).
	st := &lazyStore{flag: o.storePath, cfg: cfg}
	defer st.Close()
	var prev *store.Run
	if o.resume > 0 {
		if err := o.refuseClusterSelection("--resume"); err != nil {
			return err
		}
		var err error
		prev, err = st.Run(ctx, o.resume)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("run %d is not in the store; plumb history lists the runs", o.resume)
		} else if err != nil {
			return err
		}
		if err := remediate.Resumable(prev); err != nil {
			return err
		}
	}
	var targets []fleet.Member
	var err error
	if prev != nil {
		// A resumed rollout goes on with the clusters it started with.
		if err := refuseKubeFlags(o.globalOptions, cfg); err != nil {
			return err
		}
		var names []string
		for _, w := range prev.Waves {
			if !slices.Contains(names, w.Cluster) {
				names = append(names, w.Cluster)
			}
		}
		targets, err = fleet.Members(cfg, names, nil)
	} else {
		targets, err = o.rolloutTargets(cfg)
	}
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
	// wrote: a wave before the resumed ones wrote something to undo.
	wrote := false
	if prev != nil {
		waves = rollout.Remaining(waves, prev.Waves)
		wrote = slices.ContainsFunc(prev.Steps, func(s store.RunStep) bool { return s.Outcome == store.StepApplied })
	} else if len(waves) == 0 {
		return fmt.Errorf("%s: no bound cluster is in a wave of the rollout; nothing to fix", cfg.Path)
	}
	if len(unassigned) > 0 {
		fmt.Fprintf(o.streams.ErrOut, "not fixed: clusters %s are in no wave of %s's rollout\n", strings.Join(unassigned, ", "), cfg.Path)
	}
	if o.output != "json" {
		fmt.Fprintf(o.streams.Out, "Rollout: %s\n", plural.Count(len(waves), "wave"))
		for _, w := range waves {
			bake := ""
			if w.Bake > 0 {
				bake = ", bake " + w.Bake.String()
			}
			fmt.Fprintf(o.streams.Out, "  %s: %s (at most %d at once%s)\n", w.Name, strings.Join(w.Clusters, ", "), w.MaxParallel, bake)
		}
		fmt.Fprintln(o.streams.Out)
	}
	f, err := o.newRolloutFleet(cfg, targets)
	if err != nil {
		return err
	}
	if !o.yes || o.dryRun == "server" {
		p, err := o.previewRollout(ctx, f, waves)
		if err != nil {
			return err
		}
		if o.dryRun == "server" || !p.steps {
			return withCode(p.code, nil)
		}
		ok, why := o.ask(fmt.Sprintf("Fix %s, planning each cluster again as its wave starts?", plural.Count(len(waves), "wave")))
		if !ok {
			fmt.Fprintln(o.streams.ErrOut, "rollout not started: "+why)
			return withCode(max(p.code, ExitDrift), nil)
		}
	}

	runner := &remediate.Runner{Runs: st}
	ropts := remediate.RolloutOptions{Waves: rollout.Options{Logger: o.logger, Baking: o.bakeCountdown()}, Planned: func(name string, plan remediate.Plan) { f.planned(name, plan, true) }, Applied: f.applied}
	var run remediate.RolloutRun
	if o.resume > 0 {
		run, err = runner.Resume(ctx, o.resume, f.fleet(), waves, ropts)
	} else {
		run, err = runner.Rollout(ctx, f.fleet(), waves, ropts)
	}
	if err != nil {
		return err
	}
	id, plan, results := run.ID, run.Plan, run.Results
	res := rollout.Result{Clusters: run.Waves, Stopped: run.Stopped, Left: run.Left}

	if o.output == "json" {
		if err := o.writeRollout(rolloutDoc{Run: id, Waves: res.Clusters, Stopped: res.Stopped, Left: res.Left, Unassigned: unassigned, Plan: &plan, Results: results}); err != nil {
			return err
		}
	} else {
		writeWaves(o, res.Clusters)
		if res.Stopped != "" {
			fmt.Fprintf(o.streams.Out, "Rollout stopped: %s\nWaves left: %s. Go on with: plumb fix -c %s --resume %d\n", res.Stopped, strings.Join(res.Left, ", "), cfg.Path, id)
		}
		if wrote || applied(results) {
			fmt.Fprintf(o.streams.Out, "Recorded as run %d; put every wave back with: plumb fix -c %s --undo %d\n", id, cfg.Path, id)
		} else {
			fmt.Fprintf(o.streams.Out, "Recorded as run %d (%s).\n", id, run.Outcome)
		}
		if len(plan.LeftInPlace) > 0 {
			fmt.Fprintf(o.streams.Out, "Drift remains: %s.\n", report.LeftSummary(len(plan.LeftInPlace)))
		}
	}
	// The same exit code fix gives for the same steps (2 when a step
	// failed or an object could not be compared), and 1 at least when the
	// rollout stopped with waves left.
	code := fixExitCode(remediate.Run{Plan: plan, Results: results, Outcome: run.Outcome})
	if res.Stopped != "" {
		code = max(code, ExitDrift)
	}
	return withCode(code, nil)
}

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

// rolloutFleet is the configuration's clusters as plumb fix -c reaches
// them: each dialled once, on first use, with its planner; it prints each
// cluster's plan and results as a rollout goes.
type rolloutFleet struct {
	o       *fixOptions
	targets map[string]fleet.Member
	guard   remediate.Guardrails
	dopts   drift.Options

	// mu guards conns and writes to o.streams.
	mu    sync.Mutex
	conns map[string]*fleetConn
}

// fleetConn is one cluster of the fleet, dialled once.
type fleetConn struct {
	*fleet.Session
	planner *remediate.Planner
}

func (o *fixOptions) newRolloutFleet(cfg *config.File, targets []fleet.Member) (*rolloutFleet, error) {
	rules, err := o.ignoreRules(cfg)
	if err != nil {
		return nil, err
	}
	dopts := o.driftOptions(o.globalOptions, rules)
	dopts.Unmanaged = o.prune
	f := &rolloutFleet{o: o, targets: map[string]fleet.Member{}, guard: o.guardrails(cfg), dopts: dopts, conns: map[string]*fleetConn{}}
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
	s, err := fleet.Open(t, fleet.SessionOptions{Timeout: f.o.fleet.timeout, Cluster: cluster.DefaultOptions(), Drift: f.dopts, GitAuth: f.o.gitAuth, Limits: f.o.limits})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	fc := &fleetConn{Session: s, planner: remediate.NewPlanner(s.Engine, f.guard, remediate.Options{RemoveAdded: f.o.removeAdded, Prune: f.o.prune})}
	f.conns[name] = fc
	return fc, nil
}

// fleet is the clusters as the runner plans, loads and applies them.
func (f *rolloutFleet) fleet() remediate.Fleet {
	return remediate.Fleet{
		Planner: func(name string) (*remediate.Planner, error) {
			fc, err := f.conn(name)
			if err != nil {
				return nil, err
			}
			return fc.planner, nil
		},
		Load: func(ctx context.Context, name string) ([]source.Object, []source.Error) {
			fc, err := f.conn(name)
			if err != nil {
				return nil, []source.Error{{Message: err.Error()}}
			}
			return fc.Load(ctx)
		},
	}
}

// planned prints a cluster's plan, its errors, skips and refusals; named
// starts the plan with the cluster's name.
func (f *rolloutFleet) planned(name string, plan remediate.Plan, named bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
		if named {
			fmt.Fprintf(f.o.streams.Out, "Cluster %s: ", name)
		}
		writePlan(f.o.streams.Out, plan)
	}
}

// applied prints what became of each of a cluster's steps.
func (f *rolloutFleet) applied(name string, results []remediate.Result) {
	if f.o.output == "json" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range results {
		fmt.Fprintf(f.o.streams.Out, "%s: %s\n", name, resultLine(r, ""))
	}
}

// identity is who the run acted as: the identity in one of the clusters
// reached.
func (f *rolloutFleet) identity(ctx context.Context) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.targets {
		if fc := f.conns[t.Cluster.Name]; fc != nil {
			return fc.Cluster.Identity(ctx)
		}
	}
	return "unknown"
}

// undoRollout puts back what a fleet run (a rollout, every wave of it)
// changed, cluster by cluster, last wave first, through the same lifecycle
// as every other run (remediate.Runner over remediate.Fleet).
func (o *fixOptions) undoRollout(ctx context.Context, cfg *config.File) error {
	started := time.Now()
	st := &lazyStore{flag: o.storePath, cfg: cfg}
	defer st.Close()
	if err := o.refuseClusterSelection("--undo"); err != nil {
		return err
	}
	if err := refuseKubeFlags(o.globalOptions, cfg); err != nil {
		return err
	}
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
	if run.Outcome == store.RunDeclined {
		fmt.Fprintln(o.streams.ErrOut, "plan not applied: "+run.Declined)
	}
	if o.output == "json" {
		if err := o.writeRollout(rolloutDoc{Run: run.ID, Plan: &plan, Results: run.Results}); err != nil {
			return err
		}
	} else {
		for _, r := range run.Results {
			fmt.Fprintf(o.streams.Out, "%s %s\n", r.Step.Cluster, resultLine(r, ""))
		}
		if run.ID != 0 {
			fmt.Fprintf(o.streams.Out, "Recorded as run %d (%s).\n", run.ID, run.Outcome)
		}
	}
	return withCode(fixExitCode(run), nil)
}

// rolloutPreview is what previewRollout found.
type rolloutPreview struct {
	// code is the exit code plain fix gives for the same plans (and, with
	// --dry-run=server, their dry-run results).
	code int
	// steps says whether any cluster's plan has a step to apply.
	steps bool
}

// previewRollout plans every cluster of every wave now, in wave order,
// and prints each plan as plain fix prints its own; with --dry-run=server
// each plan is also run as a server-side dry run, through the same
// lifecycle as plain fix's (remediate.Runner.Carry). Nothing is written,
// not even the store, and no wave bakes: a rollout that starts after it
// plans each cluster again as its wave starts.
func (o *fixOptions) previewRollout(ctx context.Context, f *rolloutFleet, waves []rollout.Wave) (rolloutPreview, error) {
	dry := o.dryRun == "server"
	p := rolloutPreview{code: ExitInSync}
	all := remediate.Plan{APIVersion: "plumb.dev/v1alpha1", Kind: "Plan", Steps: []remediate.Step{}, Refusals: []remediate.Refusal{}, Errors: []source.Error{}}
	var rows []store.RunWave
	var results []remediate.Result
	for _, w := range waves {
		for _, name := range w.Clusters {
			rows = append(rows, store.RunWave{Wave: w.Name, Cluster: name, Status: string(rollout.StatusPending)})
			fc, err := f.conn(name)
			if err != nil {
				return p, err
			}
			objs, errs := fc.Load(ctx)
			plan, err := fc.planner.Plan(ctx, objs)
			if err != nil {
				return p, fmt.Errorf("cluster %s: %w", name, err)
			}
			plan.Errors = append(errs, plan.Errors...)
			if o.output != "json" {
				fmt.Fprintf(o.streams.Out, "Wave %s, cluster %s: ", w.Name, name)
			}
			f.planned(name, plan, false)
			run := remediate.Run{Plan: plan, Outcome: store.RunNothing}
			if plan.Refused() {
				run.Outcome = store.RunRefused
			}
			if dry {
				runner := &remediate.Runner{Planner: fc.planner}
				if run, err = runner.Carry(ctx, plan, remediate.RunOptions{Command: "fix", DryRun: true}); err != nil {
					return p, fmt.Errorf("cluster %s: %w", name, err)
				}
				if o.output != "json" {
					for _, r := range run.Results {
						fmt.Fprintf(o.streams.Out, "%s: %s\n", name, resultLine(r, " (server dry run)"))
					}
					if len(run.Results) > 0 {
						fmt.Fprintln(o.streams.Out)
					}
				}
			} else if len(plan.Steps) > 0 && !plan.Refused() {
				// Only shown: drift remains, as after plain fix's plan
				// that was not confirmed.
				run.Outcome = store.RunDeclined
			}
			p.steps = p.steps || len(plan.Steps) > 0
			p.code = max(p.code, fixExitCode(run))
			all.Steps = append(all.Steps, plan.Steps...)
			all.Refusals = append(all.Refusals, plan.Refusals...)
			all.Skipped = append(all.Skipped, plan.Skipped...)
			all.Errors = append(all.Errors, plan.Errors...)
			all.LeftInPlace = append(all.LeftInPlace, plan.LeftInPlace...)
			results = append(results, run.Results...)
		}
	}
	switch {
	case o.output == "json":
		if err := o.writeRollout(rolloutDoc{Waves: rows, Plan: &all, Results: results}); err != nil {
			return p, err
		}
	case dry:
		fmt.Fprintf(o.streams.Out, "Server dry run of %s: nothing was written and no wave baked.\n", plural.Count(len(waves), "wave"))
	case !p.steps:
		fmt.Fprintln(o.streams.Out, "Nothing to do: every object of every wave is as declared.")
	}
	return p, nil
}
