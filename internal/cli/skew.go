package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/output"
	"plumb.dev/plumb/internal/skew"
)

type skewOptions struct {
	*globalOptions
	scanFlags
	groupBy   string
	noHeaders bool
}

func newSkewCommand(g *globalOptions) *cobra.Command {
	o := &skewOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "skew -c plumb.yaml [--group-by LABEL]",
		Short: "Show where clusters that should match differ",
		Long: `Scan the configuration's clusters and, for every object a source declares on
several of them, show the live fields that differ between clusters. A
difference the per-cluster values explain is not skew; one where a cluster
drifted from what it declares is, and so is an object missing from some of
them. --group-by compares clusters only with those that share the label's
value (env: prod with prod, staging with staging).

Exit codes: 0 no skew, 1 skew found, 2 an error.`,
		Example: `  plumb skew -c plumb.yaml
  plumb skew -c plumb.yaml --group-by env -o json`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{summariseAnnotation: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	addNoHeaders(cmd.Flags(), &o.noHeaders)
	cmd.Flags().StringVar(&o.groupBy, "group-by", "", "Compare only clusters with the same value of this label")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 8, "Parallel list and dry-run requests per cluster")
	cmd.Flags().StringArrayVar(&o.ignorePaths, "ignore-path", nil, "Ignore a field, KIND:PATH (repeatable)")
	o.scanFlags.addConfig(cmd.Flags())
	addLimitFlags(cmd.Flags(), &o.limits)
	return cmd
}

func (o *skewOptions) Validate() error {
	if o.configFile == "" {
		return fmt.Errorf("skew compares the clusters of a configuration: -c plumb.yaml is required")
	}
	if output.IsTemplate(o.output) {
		if _, err := output.Template(o.output); err != nil {
			return err
		}
	} else if o.output != "" && !slices.Contains(skew.Formats, o.output) {
		return fmt.Errorf("--output %q is not supported by skew; use %s, jsonpath=TEMPLATE or jsonpath-file=FILE", o.output, strings.Join(skew.Formats, ", "))
	}
	return o.scanFlags.validate()
}

func (o *skewOptions) Run(cmd *cobra.Command) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	if !isFleet(cfg) {
		return fmt.Errorf("%s lists no clusters", cfg.Path)
	}
	results, err := o.scanAll(cmd.Context(), o.globalOptions, cfg)
	if err != nil {
		return err
	}
	var clusters []skew.Cluster
	for _, r := range results {
		if r.Err == nil {
			clusters = append(clusters, skew.Cluster{Name: r.Member.Cluster.Name, Labels: r.Member.Cluster.Labels, Result: r.Result})
		}
	}
	sr := skew.Compute(clusters, o.groupBy)
	out := o.streams.Out
	switch o.output {
	case "", "table", "wide", "name":
		// Tables escape what they print, around their colours.
		out = o.rawOut
	}
	if err := skew.Write(out, sr, o.output, o.display(o.noHeaders)); err != nil {
		return err
	}
	r := fleetReport(results)
	printProblems(o.streams.ErrOut, r)
	switch {
	case !r.Complete(!o.fleet.allowPartial):
		return withCode(ExitError, nil)
	case sr.Found():
		return withCode(ExitDrift, nil)
	}
	return withCode(ExitInSync, nil)
}
