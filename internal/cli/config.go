package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"plumb.dev/plumb/internal/plural"

	"github.com/spf13/cobra"

	"plumb.dev/plumb/internal/config"
)

func newConfigCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or start a plumb configuration file",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newConfigValidateCommand(g), newConfigInitCommand(g))
	return cmd
}

type configValidateOptions struct {
	*globalOptions
	file string
}

func newConfigValidateCommand(g *globalOptions) *cobra.Command {
	o := &configValidateOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "validate -c plumb.yaml",
		Short: "Check a configuration file: fields, selectors, files and contexts",
		Long: `Check a configuration file the way every command reads it: unknown fields,
bad selectors, missing source and values files and unknown kubeconfig
contexts are reported with their line. No cluster is contacted.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.file == "" {
				return fmt.Errorf("-c plumb.yaml is required")
			}
			f, err := config.Load(o.file)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.streams.Out, "%s is valid: %s, %s, %s, %s.\n",
				f.Path, plural.Count(len(f.Clusters), "cluster"), plural.Count(len(f.Sources), "source"), plural.Count(len(f.Bindings), "binding"), plural.Count(len(f.Ignore), "ignore rule"))
			return err
		},
	}
	cmd.Flags().StringVarP(&o.file, "config", "c", "", "The configuration file to check")
	return cmd
}

type configInitOptions struct {
	*globalOptions
	file string
}

func newConfigInitCommand(g *globalOptions) *cobra.Command {
	o := &configInitOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "init [--file plumb.yaml]",
		Short: "Write a commented starter configuration from your kubeconfig's contexts",
		Long: `Write a starter plumb.yaml with one cluster per context of the kubeconfig
(--kubeconfig, $KUBECONFIG or ~/.kube/config), a source and a binding to edit,
and the defaults spelled out. It goes to standard output, or to --file, which
must not exist yet.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.Run() },
	}
	cmd.Flags().StringVar(&o.file, "file", "", "Write to this file instead of standard output (never overwrites)")
	return cmd
}

func (o *configInitOptions) Run() error {
	raw, err := o.kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	var contexts []string
	for name := range raw.Contexts {
		contexts = append(contexts, name)
	}
	sort.Strings(contexts)
	kubeconfig := ""
	if o.kube.KubeConfig != nil && *o.kube.KubeConfig != "" {
		kubeconfig = *o.kube.KubeConfig
	}
	text := starter(contexts, kubeconfig)
	var w io.Writer = o.streams.Out
	if o.file != "" {
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.WriteString(w, text)
	return err
}

// starter renders the commented starter configuration.
func starter(contexts []string, kubeconfig string) string {
	var b strings.Builder
	b.WriteString(`# plumb configuration. Reference: docs/config.md.
apiVersion: plumb.dev/v1alpha1
kind: Config

# One entry per cluster: a kubeconfig context, and free-form labels that
# bindings select on (env, cloud, region, ...).
`)
	if len(contexts) == 0 {
		b.WriteString("clusters: []  # no contexts in the kubeconfig: add clusters here\n")
	} else {
		b.WriteString("clusters:\n")
	}
	for _, c := range contexts {
		fmt.Fprintf(&b, "  - name: %s\n", c)
		fmt.Fprintf(&b, "    context: %s\n", c)
		if kubeconfig != "" {
			fmt.Fprintf(&b, "    kubeconfig: %s\n", kubeconfig)
		}
		b.WriteString("    labels: {env: CHANGE-ME}\n")
	}
	b.WriteString(`
# Where desired state comes from: a file, a directory, a kustomize root or a
# Helm chart directory, relative to this file.
sources:
  - name: app
    path: ./deploy             # CHANGE-ME
    # values: [values-prod.yaml]   # charts only
    # namespace: app               # for objects that name none

# Which sources apply to which clusters.
bindings:
  - source: app
    clusters: {matchLabels: {env: CHANGE-ME}}
    # values: {region: "{{ .Cluster.Labels.region }}"}   # per-cluster chart values
    remediation: off           # off | approve | auto

# Fields that are expected to move (plumb's built-in rules always apply).
ignore: []
#  - kinds: [apps/Deployment]
#    paths: [.spec.replicas]
#    managers: []

# plumb fix -c fixes the fleet in waves, in this order; a cluster belongs to
# the first wave that selects it. Without a rollout, fix -c refuses a fleet.
rollout:
  waves:
    - name: canary
      clusters: {matchLabels: {tier: canary}}   # CHANGE-ME: your canary clusters
      bake: 2m                   # rescan this long for new drift before the next wave
    - name: rest
      clusters: {}               # every cluster no earlier wave took
      maxParallel: 5

guardrails:
  maxObjectsPerRun: 20
  protectedNamespaces: [kube-system]

store:
  driver: sqlite
  # path: plumb.db   # relative to this file; default ${XDG_STATE_HOME:-~/.local/state}/plumb/plumb.db
`)
	return b.String()
}
