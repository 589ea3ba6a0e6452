package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/report"
)

type diffOptions struct {
	*globalOptions
	scanFlags
	color string
}

func newDiffCommand(g *globalOptions) *cobra.Command {
	o := &diffOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "diff --source PATH [--source PATH ...]",
		Short: "Show drift as a unified diff per object, like kubectl diff",
		Long: `Show, for every drifted or missing object, a unified diff from the live object
to what putting it back would leave in the cluster: "-" lines are live, "+"
lines are declared. A missing object is all "+" lines, as kubectl diff shows
an object it would create. managedFields are hidden and Secret values masked.

A field added out of band (an extra env var or label that no source
declares) shows as "-" lines. plumb fix leaves such fields in place, as
kubectl apply leaves fields it does not own, unless --remove-added: "#"
lines above the object's diff list them, as fix's plan does.

With -c and a configuration that lists clusters, each header names the
cluster: live/CLUSTER/apps.v1.Deployment.shop.web.

Exit codes are kubectl diff's: 0 no differences, 1 differences, 2 an error.`,
		Example: `  plumb diff --source deploy/
  plumb diff --source charts/shop --values values-prod.yaml --color=always | less -R`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{summariseAnnotation: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.scanFlags.add(cmd.Flags())
	o.scanFlags.addSelector(cmd.Flags())
	o.scanFlags.addAllNamespaces(cmd.Flags())
	cmd.Flags().StringVar(&o.color, "color", "auto", "Colour the diff: auto (when writing to a terminal, unless NO_COLOR or --no-color), always, never")
	return cmd
}

func (o *diffOptions) Validate() error {
	if o.output != "" {
		return fmt.Errorf("diff prints unified diffs; use plumb scan -o %s for a report", o.output)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("--color %q: want auto, always or never", o.color)
	}
	return o.scanFlags.validate()
}

func (o *diffOptions) Run(cmd *cobra.Command) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	r, err := o.scanFlags.runConfig(cmd.Context(), o.globalOptions, cfg)
	if err != nil {
		return err
	}
	var shown []drift.Finding
	for _, f := range r.Findings {
		if f.Desired != nil || f.Live != nil || f.State == drift.StateMissing {
			shown = append(shown, f)
		}
	}
	opts := report.DiffOptions{Color: o.useColor(), Clusters: isFleet(cfg), LeftInPlace: remediate.LeftInPlace}
	// The diff escapes what it prints itself, around its own colours.
	if err := report.WriteDiff(o.rawOut, shown, opts); err != nil {
		return err
	}
	printProblems(o.streams.ErrOut, r)
	return withCode(o.scanFlags.exitFor(r), nil)
}

func (o *diffOptions) useColor() bool {
	switch o.color {
	case "always":
		return true
	case "never":
		return false
	}
	_, tty := terminalWidth(o.rawOut)
	return tty && o.colorAllowed()
}
