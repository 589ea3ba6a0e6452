package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/source"
)

type fixOptions struct {
	*globalOptions
	scanFlags
	yes        bool
	dryRun     string
	maxObjects int
	maxRisk    string
	allowRisk  bool
}

func newFixCommand(g *globalOptions) *cobra.Command {
	o := &fixOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "fix --source PATH [--source PATH ...]",
		Short: "Put drifted and missing objects back, with a plan and guardrails",
		Long: `Compare the sources with the cluster, print a plan (per object, each field it
will put back, with a risk level), and apply it once confirmed: on a terminal
plumb asks, in automation pass --yes.

Guardrails refuse the whole plan, so nothing is half-applied: more objects
than --max-objects, anything in a protected namespace (kube-system), or a
step riskier than --max-risk without --allow-risk. Risk levels: critical
(scaling to 0, removing a container, Service selectors, ClusterRoles), high
(images, commands, security contexts, RBAC rules), medium (resources, env,
replicas, other fields), low (labels, annotations).

Objects are server-side applied as the manager that deployed them, at the
version they were planned at: an object that changed meanwhile is compared
again and left alone if the plan no longer holds. Other managers' fields are
never taken over unless the plan puts exactly those fields back. Fields added
out of band are left as they are.

Exit codes: 0 nothing to do, or the plan was applied; 1 the plan was refused,
declined, or not applied in full; 2 an error.`,
		Example: `  plumb fix --source deploy/
  plumb fix --source deploy/ --dry-run=server
  plumb fix --source deploy/ --yes --max-risk medium
  plumb fix --source deploy/ -o json   # the plan as data; applies nothing without --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.scanFlags.add(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVarP(&o.yes, "yes", "y", false, "Apply without asking")
	fs.StringVar(&o.dryRun, "dry-run", "none", "none, or server: run the plan as a server-side dry-run and show the outcome")
	fs.IntVar(&o.maxObjects, "max-objects", 20, "Refuse a plan that changes more objects")
	fs.StringVar(&o.maxRisk, "max-risk", "high", "Refuse steps riskier than this (low, medium, high, critical) unless --allow-risk")
	fs.BoolVar(&o.allowRisk, "allow-risk", false, "Apply steps above --max-risk")
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
		return fmt.Errorf("fix does not delete unmanaged objects yet")
	}
	if o.configFile != "" {
		return fmt.Errorf("fix works on one cluster (--source) for now")
	}
	return o.scanFlags.validate()
}

func (o *fixOptions) Run(ctx context.Context) error {
	c, err := cluster.New(o.kube, cluster.DefaultOptions())
	if err != nil {
		return err
	}
	set := source.Load(ctx, o.sources, o.sourceOptions(c.Namespace))
	rules, err := o.ignoreRules(nil)
	if err != nil {
		return err
	}
	engine, err := drift.New(c, o.driftOptions(o.globalOptions, rules))
	if err != nil {
		return err
	}
	risk, _ := remediate.ParseRisk(o.maxRisk)
	planner := remediate.NewPlanner(engine, remediate.Guardrails{MaxObjects: o.maxObjects, MaxRisk: risk, AllowRisk: o.allowRisk})
	plan, err := planner.Plan(ctx, set.Objects)
	if err != nil {
		return err
	}
	plan.Errors = append(set.Errors, plan.Errors...)
	for _, e := range plan.Errors {
		fmt.Fprintf(o.streams.ErrOut, "error: %s\n", e.Error())
	}

	type document struct {
		remediate.Plan
		Results []remediate.Result `json:"results,omitempty"`
	}
	emit := func(results []remediate.Result) error {
		if o.output != "json" {
			return nil
		}
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(document{Plan: plan, Results: results})
	}
	if o.output != "json" {
		writePlan(o.streams.Out, plan)
	}
	switch {
	case len(plan.Steps) == 0:
		if err := emit(nil); err != nil {
			return err
		}
		if len(plan.Errors) > 0 {
			return withCode(ExitError, nil)
		}
		return withCode(ExitInSync, nil)
	case plan.Refused():
		for _, r := range plan.Refusals {
			fmt.Fprintf(o.streams.ErrOut, "refused by %s: %s%s\n", r.Guardrail, objectPrefix(r.Object), r.Reason)
		}
		_ = emit(nil)
		return withCode(ExitDrift, nil)
	}

	dry := o.dryRun == "server"
	if !dry && !o.yes {
		ok, why := o.confirm(len(plan.Steps))
		if !ok {
			fmt.Fprintln(o.streams.ErrOut, "plan not applied: "+why)
			_ = emit(nil)
			return withCode(ExitDrift, nil)
		}
	}
	results, err := planner.Apply(ctx, plan, remediate.ApplyOptions{DryRun: dry})
	if err != nil {
		return err
	}
	code := ExitInSync
	for _, r := range results {
		if o.output != "json" {
			suffix := ""
			if dry {
				suffix = " (server dry run)"
			}
			msg := ""
			if r.Message != "" {
				msg = ": " + r.Message
			}
			fmt.Fprintf(o.streams.Out, "%s %s%s%s\n", stepName(r.Step), r.Outcome, suffix, msg)
		}
		switch r.Outcome {
		case remediate.OutcomeApplied:
		case remediate.OutcomeFailed:
			code = ExitError
		default:
			code = max(code, ExitDrift)
		}
	}
	if err := emit(results); err != nil {
		return err
	}
	if len(plan.Errors) > 0 {
		code = ExitError
	}
	return withCode(code, nil)
}

// confirm asks on a terminal; anywhere else the answer is no.
func (o *fixOptions) confirm(objects int) (bool, string) {
	f, ok := o.streams.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, "not a terminal; pass --yes to apply without asking"
	}
	fmt.Fprintf(o.streams.Out, "Apply this plan to %d objects? Only 'yes' applies it: ", objects)
	line, _ := bufio.NewReader(o.streams.In).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return false, "declined"
	}
	return true, ""
}

func writePlan(w io.Writer, p remediate.Plan) {
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "Nothing to do: every object is as declared.")
		return
	}
	fmt.Fprintf(w, "Plan: %d objects\n", len(p.Steps))
	for _, s := range p.Steps {
		switch s.Action {
		case remediate.ActionCreate:
			fmt.Fprintf(w, "\n+ %s (create, %s risk)\n", stepName(s), s.Risk)
		default:
			fmt.Fprintf(w, "\n~ %s (%s risk, as %s)\n", stepName(s), s.Risk, s.Manager)
			for _, c := range s.Changes {
				fmt.Fprintf(w, "    %s: %s -> %s  [%s, %s]\n", c.Path, value(c.Live), value(c.Desired), c.Type, c.Risk)
			}
		}
	}
	fmt.Fprintln(w)
}

func stepName(s remediate.Step) string {
	if s.Namespace == "" {
		return s.Kind + " " + s.Name
	}
	return s.Kind + " " + s.Namespace + "/" + s.Name
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
