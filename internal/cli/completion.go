package cli

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/policy"
	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/skew"
	"plumb.dev/plumb/internal/store"
)

// outputFormats are the -o values each command accepts, as its Validate
// checks them; a command not listed takes no -o.
var outputFormats = map[string][]string{
	"scan":    report.Formats,
	"check":   policy.Formats,
	"skew":    skew.Formats,
	"fix":     {"json"},
	"history": {"json", "yaml"},
	"version": {"json", "yaml"},
}

// fleetClusterFlag is the flag that names a cluster of the fleet.
const fleetClusterFlag = "fleet-cluster"

// namespaceCompletionTimeout bounds the list of namespaces a completion
// makes: a shell waits on it.
const namespaceCompletionTimeout = 3 * time.Second

// registerCompletions adds dynamic completion for the root's persistent
// flags: -o by the command it is given to, --context from the kubeconfig,
// -n by listing the cluster's namespaces (nothing when that fails).
func registerCompletions(root *cobra.Command, g *globalOptions) {
	_ = root.RegisterFlagCompletionFunc("output", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(outputFormats[cmd.Name()], prefix), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("context", func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		raw, err := g.kube.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(raw.Contexts))
		for name := range raw.Contexts {
			names = append(names, name)
		}
		slices.Sort(names)
		return withPrefix(names, prefix), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("namespace", func(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
		parent := cmd.Context()
		if parent == nil {
			parent = context.Background()
		}
		ctx, cancel := context.WithTimeout(parent, namespaceCompletionTimeout)
		defer cancel()
		cfg, err := g.kube.ToRESTConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg.Timeout = namespaceCompletionTimeout
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, len(list.Items))
		for i, ns := range list.Items {
			names[i] = ns.Name
		}
		return withPrefix(names, prefix), cobra.ShellCompDirectiveNoFileComp
	})
	registerFleetClusterCompletion(root)
}

// registerFleetClusterCompletion completes --fleet-cluster on root and
// every command below it that has it, with the cluster names of the -c
// file given on the line.
func registerFleetClusterCompletion(cmd *cobra.Command) {
	if cmd.LocalNonPersistentFlags().Lookup(fleetClusterFlag) != nil {
		_ = cmd.RegisterFlagCompletionFunc(fleetClusterFlag, completeFleetClusters)
	}
	for _, c := range cmd.Commands() {
		registerFleetClusterCompletion(c)
	}
}

// completeFleetClusters completes the names of the clusters of the
// configuration file -c names.
func completeFleetClusters(cmd *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := config.Load(file)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, len(cfg.Clusters))
	for i, c := range cfg.Clusters {
		names[i] = c.Name
	}
	return withPrefix(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// withPrefix returns the values that start with prefix.
func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

// completeRunIDs completes a run id from the store the command's --store
// and -c name, newest first with the command and outcome as description.
// It opens only a store that exists (openExistingStore): completion never
// creates one.
func completeRunIDs(cmd *cobra.Command, prefix string) ([]string, cobra.ShellCompDirective) {
	flagPath, _ := cmd.Flags().GetString("store")
	var cfg *config.File
	if file, _ := cmd.Flags().GetString("config"); file != "" {
		c, err := config.Load(file)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cfg = c
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, namespaceCompletionTimeout)
	defer cancel()
	st, _, err := openExistingStore(ctx, flagPath, cfg)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer st.Close()
	runs, err := st.Runs(ctx, store.RunFilter{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, r := range runs {
		id := strconv.FormatInt(r.ID, 10)
		if strings.HasPrefix(id, prefix) {
			out = append(out, id+"\t"+r.Command+" "+string(r.Outcome))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}
