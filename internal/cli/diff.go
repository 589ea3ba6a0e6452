package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"plumb.dev/plumb/internal/drift"
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
lines are declared. managedFields are hidden and Secret values masked.

Exit codes are kubectl diff's: 0 no differences, 1 differences, 2 an error.`,
		Example: `  plumb diff --source deploy/
  plumb diff --source charts/shop --values values-prod.yaml --color=always | less -R`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.scanFlags.add(cmd.Flags())
	cmd.Flags().StringVar(&o.color, "color", "auto", "Colour the diff: auto (when writing to a terminal and NO_COLOR is unset), always, never")
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
	r, err := o.scanFlags.run(cmd.Context(), o.globalOptions)
	if err != nil {
		return err
	}
	var shown []drift.Finding
	for _, f := range r.Findings {
		if f.Desired != nil || f.Live != nil || f.State == drift.StateMissing {
			shown = append(shown, f)
		}
	}
	if err := report.WriteDiff(o.streams.Out, shown, report.DiffOptions{Color: o.useColor()}); err != nil {
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
	f, ok := o.streams.Out.(*os.File)
	return ok && os.Getenv("NO_COLOR") == "" && term.IsTerminal(int(f.Fd()))
}
