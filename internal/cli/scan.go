package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/store"
)

type scanOptions struct {
	*globalOptions
	scanFlags
	// usersFrom is plumb serve's store, to name the users behind changes.
	usersFrom string
	noHeaders bool
}

func newScanCommand(g *globalOptions) *cobra.Command {
	o := &scanOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "scan --source PATH [--source PATH ...]",
		Short: "Report objects that drifted from their sources",
		Long: `Compare the objects that the sources declare with the cluster, and report
every object that drifted (with each changed field, who changed it and when),
that is missing, and with --unmanaged, that is live but declared by no source.

Sources are manifest files or directories of them, kustomize roots and Helm
chart directories. Every difference is confirmed with a server-side apply
dry-run, so server defaults never show up as drift.`,
		Example: `  # Scan the current context against a directory of manifests
  plumb scan --source deploy/

  # A chart with production values, in another context, as JSON
  plumb scan --source charts/shop --values values-prod.yaml --context prod-eu -o json

  # Include objects nobody declared, and ignore replicas everywhere
  plumb scan -f deploy/ --unmanaged --ignore-path 'apps/Deployment:.spec.replicas'

  # Only one application's objects; unmanaged ones in every namespace too
  plumb scan -f deploy/ -l app.kubernetes.io/part-of=shop --unmanaged -A

  # What helm template renders, from standard input
  helm template shop charts/shop -f values-prod.yaml | plumb scan -f -

  # Name the person behind each change, from plumb serve's audit records
  plumb scan --source deploy/ --store /var/lib/plumb/plumb.db -o json`,
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
	addNoHeaders(cmd.Flags(), &o.noHeaders)
	o.scanFlags.addSelector(cmd.Flags())
	o.scanFlags.addAllNamespaces(cmd.Flags())
	cmd.Flags().StringVar(&o.usersFrom, "store", "", "plumb serve's store (a SQLite file or a postgres:// URL): name the user behind each change, as serve's --audit-listen recorded it (read only)")
	return cmd
}

func (o *scanOptions) Validate() error {
	if err := report.ValidFormat(o.output); err != nil {
		return err
	}
	return o.scanFlags.validate()
}

func (o *scanOptions) Run(cmd *cobra.Command) error {
	r, err := o.scanFlags.run(cmd.Context(), o.globalOptions)
	if err != nil {
		return err
	}
	if o.usersFrom != "" {
		if err := nameUsers(cmd.Context(), o.usersFrom, r.Findings); err != nil {
			return fmt.Errorf("--store %s: %w", store.Redact(o.usersFrom), err)
		}
	}
	opts := report.DefaultWriteOptions()
	opts.Format, opts.Table = o.output, o.display(o.noHeaders)
	out := o.streams.Out
	switch o.output {
	case "", "table", "wide", "name":
		// Tables escape what they print, around their colours.
		out = o.rawOut
	}
	if err := report.Write(out, r, opts); err != nil {
		return err
	}
	switch o.output {
	case "", "table", "wide", "name":
		printProblems(o.streams.ErrOut, r)
	}
	return withCode(o.scanFlags.exitFor(r), nil)
}
