package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"plumb.dev/plumb/internal/plural"
	"plumb.dev/plumb/internal/table"
	"plumb.dev/plumb/internal/termsafe"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/store"
)

type fixOptions struct {
	*globalOptions
	scanFlags
	yes         bool
	dryRun      string
	maxObjects  int
	maxRisk     string
	allowRisk   bool
	allowDelete []string
	removeAdded bool
	prune       bool
	undo        int64
	resume      int64
	storePath   string
	flags       *pflag.FlagSet
}

func newFixCommand(g *globalOptions) *cobra.Command {
	o := &fixOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "fix (--source PATH ... | --undo RUN)",
		Short: "Put drifted and missing objects back, with a plan, guardrails and undo",
		Long: `Compare the sources with the cluster, print a plan (per object, each field it
will put back, with a risk level), and apply it once confirmed: on a terminal
plumb asks, in automation pass --yes.

Guardrails refuse the whole plan, so nothing is half-applied: more objects
than --max-objects, anything in a protected namespace (kube-system), deleting
a protected kind (Namespace, CustomResourceDefinition, PersistentVolume,
PersistentVolumeClaim) without --allow-delete=KIND, or a step riskier than
--max-risk without --allow-risk. Risk levels: critical (deleting anything,
scaling to 0, removing a container, Service selectors, ClusterRoles), high
(images, commands, security contexts, RBAC rules), medium (resources, env,
replicas, other fields), low (labels, annotations). The configuration's
guardrails section (-c) sets the same limits; flags win.

Objects are server-side applied as the manager that deployed them, at the
version they were planned at: an object that changed meanwhile is compared
again and left alone if the plan no longer holds. Other managers' fields are
never taken over unless the plan puts exactly those fields back. Fields
added out of band (an extra env var or label no source declares) are left in
place, as kubectl apply leaves fields it does not own, unless --remove-added:
the plan lists them, plumb diff notes them, and since the objects still
differ from their declaration, fix exits 1 and a scan after it reports them.
Objects no source declares stay unless --prune.

Every plan that is applied is recorded in the store (--store; by default
plumb.db in $XDG_STATE_HOME/plumb, ~/.local/state/plumb when unset; see
plumb history): the plan, who ran it, and every object before and after,
Secret values excepted; with --yes, so is a plan the guardrails refuse. A
plan that is only shown (no --yes and no 'yes' on a terminal, -o json
without --yes, --dry-run) writes nothing, not even the store. --undo RUN
puts the objects that run changed back as it found them, under the same
guardrails, and only where nobody changed them since.

With -c and a configuration whose rollout section orders the fleet in
waves, fix goes wave by wave: each cluster is planned when its wave
starts, at most maxParallel at once, under the same guardrails; then the
wave bakes, rescanned until its bake time has passed. A wave in which a
cluster failed, or new drift appeared while it baked, stops the rollout;
--resume RUN plans the waves left afresh and goes on in the same run, and
--undo RUN puts back every wave. Clusters in no wave are not fixed;
--fleet-cluster and --cluster-selector choose the clusters to fix. Without
--yes every wave's plan is shown first, per cluster; --dry-run=server runs
every wave's plan as a server-side dry run, writing and baking nothing.

Exit codes: 0 nothing to do, or the plan was applied and left nothing
drifted; 1 the plan was only shown, refused, declined, or not applied in
full, or it left added fields in place; 2 an error.`,
		Example: `  plumb fix --source deploy/
  plumb fix --source deploy/ --dry-run=server
  plumb fix --source deploy/ --yes --max-risk medium
  plumb fix --source deploy/ --prune --allow-risk   # also delete objects no source declares
  plumb fix --source deploy/ -o json   # the plan as data; applies nothing without --yes
  plumb fix --undo 12                   # put back what run 12 changed
  plumb fix -c plumb.yaml --yes         # a fleet with rollout: wave by wave
  plumb fix -c plumb.yaml --dry-run=server   # every wave's plan, dry-run, nothing written
  helm template shop charts/shop | plumb fix -f - --yes   # manifests from standard input
  plumb fix -c plumb.yaml --resume 14   # go on with a rollout that stopped`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{summariseAnnotation: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.scanFlags.add(cmd.Flags())
	o.scanFlags.addSelector(cmd.Flags())
	fs := cmd.Flags()
	o.flags = fs
	fs.BoolVarP(&o.yes, "yes", "y", false, "Apply without asking")
	fs.StringVar(&o.dryRun, "dry-run", "none", "none, or server: run the plan as a server-side dry-run and show the outcome")
	fs.IntVar(&o.maxObjects, "max-objects", 20, "Refuse a plan that changes more objects")
	fs.StringVar(&o.maxRisk, "max-risk", "high", "Refuse steps riskier than this (low, medium, high, critical) unless --allow-risk")
	fs.BoolVar(&o.allowRisk, "allow-risk", false, "Apply steps above --max-risk")
	fs.StringArrayVar(&o.allowDelete, "allow-delete", nil, "Allow deleting this protected kind, e.g. PersistentVolumeClaim (repeatable)")
	fs.BoolVar(&o.removeAdded, "remove-added", false, "Also remove fields set out of band that the sources do not declare")
	fs.BoolVar(&o.prune, "prune", false, "Also delete objects no source declares, of the kinds the sources use, in the namespaces they touch")
	fs.Int64Var(&o.undo, "undo", 0, "Put back what run RUN changed (see plumb history)")
	fs.Int64Var(&o.resume, "resume", 0, "Go on with rollout run RUN that stopped, from the wave it stopped in (-c)")
	fs.StringVar(&o.storePath, "store", "", storeFlagHelp)
	_ = cmd.RegisterFlagCompletionFunc("undo", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return completeRunIDs(cmd, prefix)
	})
	return cmd
}

func (o *fixOptions) Validate() error {
	switch o.output {
	case "", "json":
	default:
		return fmt.Errorf("--output %q is not supported by fix; use json", o.output)
	}
	if o.dryRun != "none" && o.dryRun != "server" {
		return fmt.Errorf("--dry-run %q: want none or server", o.dryRun)
	}
	if _, ok := remediate.ParseRisk(o.maxRisk); !ok {
		return fmt.Errorf("--max-risk %q: want low, medium, high or critical", o.maxRisk)
	}
	if o.maxObjects < 1 {
		return fmt.Errorf("--max-objects must be at least 1")
	}
	if o.unmanaged {
		return fmt.Errorf("fix does not take --unmanaged; --prune deletes unmanaged objects")
	}
	if o.undo < 0 {
		return fmt.Errorf("--undo %d: runs are numbered from 1", o.undo)
	}
	if o.resume < 0 || (o.resume > 0 && (o.undo > 0 || o.configFile == "")) {
		return fmt.Errorf("--resume RUN goes on with a rollout: it takes -c and no --undo")
	}
	if o.undo > 0 {
		if len(o.sources) > 0 || o.removeAdded || o.prune || o.selector != "" {
			return fmt.Errorf("--undo takes no --source, --remove-added, --prune or -l: it puts back what the run changed")
		}
		return nil
	}
	if len(o.sources) == 0 && o.configFile == "" {
		return fmt.Errorf("at least one --source is required, or -c with a fleet, or --undo RUN")
	}
	return o.scanFlags.validate()
}

// configGuardrails are the configuration's guardrails (cfg may be nil),
// defaulted.
func configGuardrails(cfg *config.File) remediate.Guardrails {
	g := remediate.DefaultGuardrails()
	if cfg == nil {
		return g
	}
	c := cfg.Guardrails
	if c.MaxObjectsPerRun > 0 {
		g.MaxObjects = c.MaxObjectsPerRun
	}
	if c.ProtectedNamespaces != nil {
		g.ProtectedNamespaces = c.ProtectedNamespaces
	}
	if c.ProtectedKinds != nil {
		g.ProtectedKinds = c.ProtectedKinds
	}
	g.AllowDelete = c.AllowDelete
	if r, ok := remediate.ParseRisk(c.MaxRisk); ok {
		g.MaxRisk = r
	}
	return g
}

// guardrails are the configuration's, with the flags given on top.
func (o *fixOptions) guardrails(cfg *config.File) remediate.Guardrails {
	g := configGuardrails(cfg)
	if cfg == nil || o.flags.Changed("max-objects") {
		g.MaxObjects = o.maxObjects
	}
	if cfg == nil || o.flags.Changed("max-risk") {
		g.MaxRisk, _ = remediate.ParseRisk(o.maxRisk)
	}
	g.AllowDelete = append(g.AllowDelete, o.allowDelete...)
	g.AllowRisk = o.allowRisk
	return g
}

func (o *fixOptions) Run(ctx context.Context) error {
	started := time.Now()
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	switch {
	case isFleet(cfg) && o.undo > 0:
		return o.undoRollout(ctx, cfg)
	case isFleet(cfg) && cfg.Rollout != nil:
		return o.runRollout(ctx, cfg)
	case isFleet(cfg):
		return fmt.Errorf("%s: fix works on a fleet in waves: add a rollout section (see docs/config.md), or use --source with --context", cfg.Path)
	case o.resume > 0:
		return fmt.Errorf("%s: --resume needs a configuration with clusters and a rollout section", cfg.Path)
	case len(o.sources) == 0 && o.undo == 0:
		return fmt.Errorf("%s lists no clusters: give --source", cfg.Path)
	}
	// The current context is a fleet of one, reached and loaded as a
	// configuration's cluster is.
	member, err := o.one(o.globalOptions)
	if err != nil {
		return err
	}
	rules, err := o.ignoreRules(cfg)
	if err != nil {
		return err
	}
	dopts := o.driftOptions(o.globalOptions, rules)
	dopts.Unmanaged = o.prune
	s, err := fleet.Open(member, fleet.SessionOptions{Cluster: cluster.DefaultOptions(), Drift: dopts, GitAuth: o.gitAuth, Limits: o.limits})
	if err != nil {
		return err
	}
	planner := remediate.NewPlanner(s.Engine, o.guardrails(cfg), remediate.Options{RemoveAdded: o.removeAdded, Prune: o.prune})
	dry := o.dryRun == "server"

	// The store is opened when a run is read (--undo) or recorded, never
	// for a plan that is only shown.
	st := &lazyStore{flag: o.storePath, cfg: cfg}
	defer st.Close()
	runner := &remediate.Runner{Planner: planner, Runs: st, User: s.Cluster.Identity(ctx)}
	ropts := remediate.RunOptions{Command: "fix", DryRun: dry, RecordInSync: true, Started: started}
	if !o.yes {
		ropts.Confirm = func(p remediate.Plan) (bool, string) { return o.confirm(len(p.Steps)) }
	}
	var plan remediate.Plan
	if o.undo > 0 {
		ropts.Command, ropts.UndoOf = "undo", o.undo
		plan, err = runner.PlanUndo(ctx, o.undo)
		if errors.Is(err, remediate.ErrRunNotFound) {
			return fmt.Errorf("run %d is not in the store; plumb history lists the runs", o.undo)
		}
		if err != nil {
			return err
		}
	} else {
		objs, errs := s.Load(ctx)
		if plan, err = planner.Plan(ctx, objs); err != nil {
			return err
		}
		if len(errs) > 0 {
			// Only then: plan.Errors stays [] and -o json never prints
			// "errors": null (docs/schemas/plan.schema.json).
			plan.Errors = append(errs, plan.Errors...)
		}
	}
	for _, e := range plan.Errors {
		fmt.Fprintf(o.streams.ErrOut, "error: %s\n", e.Error())
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(o.streams.ErrOut, "skipped %s: %s\n", s.Object, s.Reason)
	}
	if o.output != "json" {
		o.printPlan(plan)
	}
	for _, r := range plan.Refusals {
		fmt.Fprintf(o.streams.ErrOut, "refused by %s: %s%s\n", r.Guardrail, objectPrefix(r.Object), r.Reason)
	}
	run, err := runner.Carry(ctx, plan, ropts)
	if err != nil {
		return err
	}
	if run.Outcome == store.RunDeclined {
		fmt.Fprintln(o.streams.ErrOut, "plan not applied: "+run.Declined)
	}
	if o.output != "json" {
		for _, r := range run.Results {
			suffix := ""
			if dry {
				suffix = " (server dry run)"
			}
			o.printResult(r, suffix)
		}
		switch {
		case run.ID != 0 && applied(run.Results):
			fmt.Fprintf(o.streams.Out, "Recorded as run %d; put it back with: plumb fix --undo %d\n", run.ID, run.ID)
		case run.ID != 0:
			fmt.Fprintf(o.streams.Out, "Recorded as run %d (%s).\n", run.ID, run.Outcome)
		}
		if len(plan.LeftInPlace) > 0 && len(run.Results) > 0 {
			// Drift remains: say so, so that exit 1 after "applied" is
			// no surprise.
			fmt.Fprintf(o.streams.Out, "Drift remains: %s.\n", report.LeftSummary(len(plan.LeftInPlace)))
		}
	} else {
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			remediate.Plan
			Results []remediate.Result `json:"results,omitempty"`
			// Run is the id the run was recorded under.
			Run int64 `json:"run,omitempty"`
		}{Plan: plan, Results: run.Results, Run: run.ID}); err != nil {
			return err
		}
	}
	return withCode(fixExitCode(run), nil)
}

// fixExitCode is plumb fix's exit code for a run: 0 when every object is
// as declared, 1 when drift remains (refused, declined, skipped, left in
// place, or not applied), 2 when an error stopped part of the work.
func fixExitCode(run remediate.Run) int {
	code := ExitInSync
	switch run.Outcome {
	case store.RunRefused, store.RunDeclined:
		code = ExitDrift
	}
	for _, r := range run.Results {
		switch r.Outcome {
		case store.StepApplied, store.StepInSync:
		case store.StepFailed:
			code = ExitError
		default:
			code = max(code, ExitDrift)
		}
	}
	if len(run.Plan.LeftInPlace) > 0 || len(run.Plan.Skipped) > 0 {
		code = max(code, ExitDrift)
	}
	if len(run.Plan.Errors) > 0 {
		code = ExitError
	}
	return code
}

// applied says whether any step of a run wrote its object: only then is
// there something to undo.
func applied(results []remediate.Result) bool {
	return slices.ContainsFunc(results, func(r remediate.Result) bool { return r.Outcome == store.StepApplied })
}

// confirm asks on a terminal; anywhere else the answer is no.
func (o *fixOptions) confirm(objects int) (bool, string) {
	return o.ask("Apply this plan to " + plural.Count(objects, "object") + "?")
}

// ask asks question on a terminal; anywhere else the answer is no. With
// -o json the plan is data for a program, and nobody is asked.
func (o *fixOptions) ask(question string) (bool, string) {
	if o.output == "json" {
		return false, "-o json prints the plan; pass --yes to apply it"
	}
	f, ok := o.streams.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, "not a terminal; pass --yes to apply without asking"
	}
	fmt.Fprintf(o.streams.Out, "%s Only 'yes' applies it: ", question)
	line, _ := bufio.NewReader(o.streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return false, "declined"
	}
	return true, ""
}

// writePlan writes a plan for people, without colour.
func writePlan(w io.Writer, p remediate.Plan) { writePlanColored(w, p, false) }

// printPlan writes a plan on standard output: in colour on a terminal,
// unless colour is off.
func (g *globalOptions) printPlan(p remediate.Plan) {
	if _, tty := terminalWidth(g.rawOut); tty && g.colorAllowed() {
		writePlanColored(g.rawOut, p, true)
		return
	}
	writePlan(g.streams.Out, p)
}

// actionColor is the colour of a plan's action: green creates, red
// deletes, yellow changes.
func actionColor(a store.StepAction) table.Color {
	switch a {
	case store.ActionCreate, store.ActionRecreate:
		return table.Green
	case store.ActionDelete:
		return table.Red
	}
	return table.Yellow
}

// riskColor is the colour of a risk level.
func riskColor(r remediate.Risk) table.Color {
	switch r {
	case remediate.RiskCritical:
		return table.BoldRed
	case remediate.RiskHigh:
		return table.Red
	case remediate.RiskMedium:
		return table.Yellow
	}
	return table.Green
}

// writePlanColored writes a plan for people, with colours as ANSI codes
// when color is set. It escapes what it prints itself: w may be the
// terminal.
func writePlanColored(w io.Writer, p remediate.Plan, color bool) {
	e := termsafe.Escape
	paint := func(s string, c table.Color) string { return table.Paint(e(s), c, color) }
	risk := func(r remediate.Risk) string { return paint(string(r)+" risk", riskColor(r)) }
	left := ""
	if len(p.LeftInPlace) > 0 {
		left = "; " + report.LeftSummary(len(p.LeftInPlace))
	}
	switch {
	case len(p.Steps) > 0:
		fmt.Fprintf(w, "Plan: %s%s\n", plural.Count(len(p.Steps), "object"), left)
	case left != "":
		fmt.Fprintf(w, "Nothing to apply%s\n", left)
	default:
		fmt.Fprintln(w, "Nothing to do: every object is as declared.")
		return
	}
	for _, s := range p.Steps {
		note := ""
		if s.Note != "" {
			note = "\n    note: " + e(s.Note)
		}
		obj := paint(s.Object(), actionColor(s.Action))
		switch s.Action {
		case store.ActionCreate, store.ActionRecreate:
			fmt.Fprintf(w, "\n%s %s (%s, %s)%s\n", paint("+", table.Green), obj, s.Action, risk(s.Risk), note)
		case store.ActionDelete:
			fmt.Fprintf(w, "\n%s %s (delete, %s)%s\n", paint("-", table.Red), obj, risk(s.Risk), note)
		default:
			fmt.Fprintf(w, "\n%s %s (%s, %s, as %s)%s\n", paint("~", table.Yellow), obj, s.Action, risk(s.Risk), e(s.Manager), note)
			for _, c := range s.Changes {
				fmt.Fprintf(w, "    %s: %s -> %s  [%s, %s]\n", e(c.Path), paint(value(c.Live), table.Red), paint(value(c.Desired), table.Green),
					c.Type, paint(string(c.Risk), riskColor(c.Risk)))
			}
		}
	}
	if len(p.LeftInPlace) > 0 {
		fmt.Fprintln(w, "\nLeft in place, added out of band (--remove-added removes them):")
		last := ""
		for _, l := range p.LeftInPlace {
			if obj := l.Cluster + "\x00" + l.Object; obj != last {
				last = obj
				fmt.Fprintf(w, "  %s\n", e(l.Object))
			}
			fmt.Fprintf(w, "    %s\n", e(report.LeftField(l.Change)))
		}
	}
	fmt.Fprintln(w)
}

// printResult writes one step's result on standard output, its outcome
// in colour on a terminal unless colour is off.
func (g *globalOptions) printResult(r remediate.Result, suffix string) {
	if _, tty := terminalWidth(g.rawOut); !tty || !g.colorAllowed() {
		fmt.Fprintln(g.streams.Out, resultLine(r, suffix))
		return
	}
	c := table.Yellow
	switch r.Outcome {
	case store.StepApplied, store.StepInSync:
		c = table.Green
	case store.StepFailed:
		c = table.Red
	}
	line := termsafe.Escape(r.Step.Object()) + " " + table.Paint(string(r.Outcome), c, true) + suffix
	if r.Message != "" {
		line += ": " + termsafe.Escape(r.Message)
	}
	fmt.Fprintln(g.rawOut, line)
}

// resultLine is one step's result: OBJECT OUTCOME[SUFFIX][: MESSAGE].
func resultLine(r remediate.Result, suffix string) string {
	line := r.Step.Object() + " " + string(r.Outcome) + suffix
	if r.Message != "" {
		line += ": " + r.Message
	}
	return line
}

func objectPrefix(obj string) string {
	if obj == "" {
		return ""
	}
	return obj + ": "
}

func value(v any) string {
	if v == nil {
		return "(none)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
