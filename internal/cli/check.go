package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/policy"
	"plumb.dev/plumb/internal/source"
)

type checkOptions struct {
	*globalOptions
	sources     []string
	against     []string
	values      []string
	set         []string
	releaseName string
	disabled    []string
	policies    []string
	configFile  string
}

func newCheckCommand(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check --against OLD --source NEW",
		Short: "Refuse catastrophic changes before they land: guardrails for CI",
		Long: `Compare a new version of a source with the previous one, work out what applying
it would do to each object (create, update, delete), and run plumb's
guardrails over those changes. A rule that denies fails the check; a rule
that warns is reported and lets it pass. Nothing contacts a cluster.

Built-in rules, each on by default and turned off with --disable-rule NAME:
  delete-crd          deleting a CustomResourceDefinition (affected: its custom resources)
  delete-namespace    deleting a Namespace (affected: the objects in it)
  delete-volume       deleting a PersistentVolumeClaim or PersistentVolume
  scale-to-zero       scaling a Deployment, StatefulSet or ReplicaSet to 0
  immutable-field     changing a field the server will not change in place
                      (selectors, a StatefulSet's volumeClaimTemplates, a Job's template)
  remove-resources    removing every resource request and limit of a container (warns)
  rbac-wildcard       granting "*" verbs or resources
  bind-cluster-admin  binding the cluster-admin ClusterRole
  expose-service      exposing a Service as LoadBalancer or NodePort (warns)
  privileged-pod      running a container privileged
  host-path           mounting a hostPath volume

User rules come from GuardrailPolicy files (--policy, or policies: in the
configuration given with -c): CEL expressions over object, oldObject and
operation, true meaning allowed, shaped like a ValidatingAdmissionPolicy's
validations (see docs/check.md). A rule that does not compile stops the
check with its file, line and name.

Both sides are read as plumb scan reads a source: files, folders, kustomize
roots or Helm charts (with --values and --set for both). -o markdown writes
a pull-request comment.

Exit codes: 0 no rule denied, 1 a rule denied, 2 an error (bad input on
either side is named and stops the check).`,
		Example: `  # In CI: the base branch's manifests against the pull request's
  git worktree add /tmp/base origin/main
  plumb check --against /tmp/base/deploy --source deploy/ -o markdown > comment.md

  plumb check --against old/ --source new/ --disable-rule expose-service`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&o.sources, "source", "f", nil, "The new version: a file, folder, kustomize root or Helm chart (repeatable)")
	fs.StringArrayVar(&o.against, "against", nil, "The previous version, read the same way (repeatable)")
	fs.StringArrayVar(&o.values, "values", nil, "Helm values file for charts on either side (repeatable)")
	fs.StringArrayVar(&o.set, "set", nil, "Helm value KEY=VALUE for charts on either side (repeatable)")
	fs.StringVar(&o.releaseName, "release-name", "", "Helm release name (default: the chart's name)")
	fs.StringArrayVar(&o.disabled, "disable-rule", nil, "Turn a built-in rule off (repeatable)")
	fs.StringArrayVar(&o.policies, "policy", nil, "A GuardrailPolicy file of CEL rules to add (repeatable)")
	fs.StringVarP(&o.configFile, "config", "c", "", "plumb configuration file: its policies are added")
	return cmd
}

func (o *checkOptions) Validate() error {
	if len(o.sources) == 0 {
		return fmt.Errorf("--source is required: the new version of the source")
	}
	if len(o.against) == 0 {
		return fmt.Errorf("--against is required: the previous version of the source (checking against a live cluster is not available yet)")
	}
	if o.output != "" && !slices.Contains(policy.Formats, o.output) {
		return fmt.Errorf("--output %q is not supported by check; use %s", o.output, strings.Join(policy.Formats, ", "))
	}
	var names []string
	for _, r := range policy.Builtins() {
		names = append(names, r.Name)
	}
	for _, d := range o.disabled {
		if !slices.Contains(names, d) {
			return fmt.Errorf("--disable-rule %q: no such rule (the rules are %s)", d, strings.Join(names, ", "))
		}
	}
	return nil
}

func (o *checkOptions) Run(ctx context.Context) error {
	rules, err := o.rules()
	if err != nil {
		return err
	}
	before, err := o.load(ctx, o.against)
	if err != nil {
		return err
	}
	after, err := o.load(ctx, o.sources)
	if err != nil {
		return err
	}
	vs := policy.Evaluate(ctx, policy.Diff(before, after), rules,
		policy.Options{Disabled: o.disabled, Counter: policy.SourceCounter(before)})
	if err := policy.Write(o.streams.Out, policy.Result{Violations: vs}, o.output); err != nil {
		return err
	}
	if policy.Denied(vs) {
		return withCode(ExitDrift, nil)
	}
	return withCode(ExitInSync, nil)
}

// rules are the built-in rules and those of every policy file, given with
// --policy or in the configuration. A file with a broken rule stops the
// check: a guardrail that silently does not run is worse than none.
func (o *checkOptions) rules() ([]policy.Rule, error) {
	files := o.policies
	if o.configFile != "" {
		cfg, err := config.Load(o.configFile)
		if err != nil {
			return nil, err
		}
		files = append(files, cfg.Policies...)
	}
	rules := policy.Builtins()
	names := map[string]string{}
	for _, r := range rules {
		names[r.Name] = "built in"
	}
	for _, f := range files {
		rs, err := policy.LoadFile(f)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if where, ok := names[r.Name]; ok {
				return nil, fmt.Errorf("%s: rule %q: the name is already used (%s)", f, r.Name, where)
			}
			names[r.Name] = f
		}
		rules = append(rules, rs...)
	}
	return rules, nil
}

// load reads one side; bad input on it is printed and stops the check,
// since a change computed from half a source would be wrong.
func (o *checkOptions) load(ctx context.Context, paths []string) ([]*unstructured.Unstructured, error) {
	set := source.Load(ctx, paths, source.Options{Values: o.values, Set: o.set, ReleaseName: o.releaseName, Namespace: o.namespace()})
	if len(set.Errors) > 0 {
		for _, e := range set.Errors {
			fmt.Fprintf(o.streams.ErrOut, "error: %s\n", e.Error())
		}
		return nil, withCode(ExitError, fmt.Errorf("%d errors reading %s; nothing was checked", len(set.Errors), strings.Join(paths, ", ")))
	}
	out := make([]*unstructured.Unstructured, len(set.Objects))
	for i, obj := range set.Objects {
		out[i] = obj.Object
	}
	return out, nil
}

// namespace is -n, for Helm's .Release.Namespace; "" lets source default it.
func (o *checkOptions) namespace() string {
	if o.kube.Namespace != nil {
		return *o.kube.Namespace
	}
	return ""
}
