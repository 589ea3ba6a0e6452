package cli

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"plumb.dev/plumb/internal/plural"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/snapshot"
)

type snapshotOptions struct {
	*globalOptions
	out           string
	force         bool
	allNamespaces bool
	selector      string
	concurrency   int
	hashKeyFile   string
}

func newSnapshotCommand(g *globalOptions) *cobra.Command {
	o := &snapshotOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "snapshot --out DIR [-n NAMESPACE | -A] [-l SELECTOR]",
		Short: "Write what is live as clean manifests: a baseline, or the start of adopting a cluster into Git",
		Long: `Read every kind the cluster serves in a namespace (-n, or the context's) or in
all of them and the cluster-scoped kinds (-A), and write each object as the
manifest a person would have declared, one file per object
(NAMESPACE/KIND-NAME.yaml, _cluster/KIND-NAME.yaml) plus a kustomization.yaml.
A name that is long or holds anything but lower-case letters, digits, '.',
'-' and '_' is written as a readable part of it and a hash
(_cluster/clusterrole-cert-manager_leader-election-3c8aa2e2.yaml).

The snapshot is written into a new folder beside --out and renamed into
place, so one that fails leaves --out as it was. Beside the objects plumb
writes .plumb-snapshot, listing the files it wrote. A folder with files in it
is refused; --force replaces the snapshot in a folder holding that marker,
removing only the files it lists and keeping your own. A folder without the
marker is refused even with --force, and so are an --out that is a symbolic
link and a link or file of your own where the snapshot writes: links are
never followed.

Only declared fields are written: managedFields say which fields people and
their tools set; status, bookkeeping, kubectl's last-applied record, server
defaults and allocated values (clusterIPs, nodePorts) are left out. Objects
the cluster made (ReplicaSets and Pods of Deployments, EndpointSlices,
kube-root-ca.crt, service account tokens, events, leases) are not written.

Secret values are never written: each Secret keeps its keys and a hash of
its data, so plumb scan --source DIR still finds a changed Secret, and plumb
fix --source DIR never creates one without values (see docs/snapshot.md).

Scan against the folder later to see what changed since (a baseline), or
commit it and apply it elsewhere with plumb fix --source DIR (adoption).

Exit codes: 0 written in full; 2 an error, or a kind that could not be listed
or an object that could not be cleaned (the rest is written).`,
		Example: `  # A baseline of one namespace, scanned later for what changed since
  plumb snapshot -n shop --out baseline/shop
  plumb scan --source baseline/shop

  # Every namespace and the cluster-scoped objects of another context
  plumb snapshot -A --context prod-eu --out prod-eu/

  # Only the objects of one application, replacing an earlier snapshot
  plumb snapshot -n shop -l app.kubernetes.io/part-of=shop --out shop/ --force`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{summariseAnnotation: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.out, "out", "", "Folder to write the snapshot into (required)")
	fs.BoolVar(&o.force, "force", false, "Replace the earlier snapshot in --out: only the files its .plumb-snapshot marker lists; other files are kept, and a folder without the marker is refused")
	fs.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Every namespace, and the cluster-scoped kinds")
	fs.StringVarP(&o.selector, "selector", "l", "", "Only objects whose labels match, e.g. app=web,tier!=cache")
	fs.IntVar(&o.concurrency, "concurrency", 8, "Parallel list requests")
	fs.StringVar(&o.hashKeyFile, "secret-hash-key-file", "", "File holding this installation's key (32 bytes or more): Secrets' data hashes are keyed with it, so that a guess at a value cannot be checked against the snapshot without it; scans then need the same key")
	return cmd
}

func (o *snapshotOptions) Validate() error {
	if o.output != "" {
		return fmt.Errorf("--output %q is not supported by snapshot: it writes files into --out", o.output)
	}
	if o.out == "" {
		return errors.New("--out DIR is required: the folder to write the snapshot into")
	}
	if o.concurrency < 1 {
		return errors.New("--concurrency must be at least 1")
	}
	if _, err := labels.Parse(o.selector); err != nil {
		return fmt.Errorf("-l %q: %w", o.selector, err)
	}
	return nil
}

func (o *snapshotOptions) Run(cmd *cobra.Command) error {
	started := time.Now()
	c, err := cluster.New(o.kube, cluster.DefaultOptions())
	if err != nil {
		return err
	}
	opts := snapshot.DefaultOptions()
	opts.Namespace, opts.AllNamespaces, opts.Selector = c.Namespace, o.allNamespaces, o.selector
	opts.Concurrency, opts.Logger = o.concurrency, o.logger
	if o.hashKeyFile != "" {
		if opts.SecretHashKey, err = readHashKey(o.hashKeyFile); err != nil {
			return err
		}
	}
	res, err := snapshot.Take(cmd.Context(), c, opts)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	if o.hashKeyFile == "" && slices.ContainsFunc(res.Objects, drift.IsSecret) {
		fmt.Fprintln(o.streams.ErrOut, "note: Secrets are written with an unkeyed hash of their data, which a guess at a value can be checked against; --secret-hash-key-file keys it")
	}
	w, err := snapshot.Write(o.out, res.Objects, o.force)
	if err != nil {
		return err
	}
	where := "namespace " + c.Namespace
	if o.allNamespaces {
		where = "every namespace and the cluster-scoped kinds"
	}
	fmt.Fprintf(o.streams.Out, "Wrote %s of %s (cluster %s) to %s in %s; left out %d the cluster made.\n",
		plural.Count(len(w.Files), "object"), where, c.Name, o.out, time.Since(started).Round(time.Millisecond), res.Skipped)
	if res.Secrets > 0 {
		fmt.Fprintf(o.streams.Out, "%s written without values (keys and a hash only): supply the values before applying them elsewhere; see the comment in each file.\n", plural.Count(res.Secrets, "Secret")+" "+plural.Noun(res.Secrets, "is", "are"))
	}
	for _, p := range res.Problems {
		fmt.Fprintf(o.streams.ErrOut, "warning: %v\n", p)
	}
	if len(res.Problems) > 0 {
		fmt.Fprintf(o.streams.ErrOut, "error: the snapshot is incomplete: %s above; everything else is written\n", plural.Count(len(res.Problems), "problem"))
		return withCode(ExitError, nil)
	}
	return nil
}
