package cli

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"plumb.dev/plumb/internal/plural"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/gitsource"
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
	gitAuth     gitsource.Auth
	limits      source.Limits
	noHeaders   bool
}

func newCheckCommand(g *globalOptions) *cobra.Command {
	o := &checkOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "check --source NEW [--against OLD] [--context CTX]",
		Short: "Refuse catastrophic changes before they land: guardrails for CI",
		Long: `Work out what applying a source would do to each object (create, update,
delete) and run plumb's guardrails over those changes. A rule that denies
fails the check; a rule that warns is reported and lets it pass.

Against a cluster (no --against, or --against with --context or
--kubeconfig): each object is compared with its live version through a
server-side apply dry-run, so an update is judged on what the server would
really store. With --against, objects the previous version declared and
the new one does not are deletions of the live objects, and what they take
along (a Namespace's objects, a CRD's custom resources) is counted live. A
change the server refuses in the dry-run because a field is immutable is
reported as immutable-field with the server's reason; any other refusal
stops the check (exit 2).

Offline (--against with no --context or --kubeconfig): the previous
version of the source is compared with the new one; nothing contacts a
cluster, and what a deletion takes along is counted in the previous
version.

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
configuration given with -c), listed under spec.rules. Each is written as a
ValidatingAdmissionPolicy's validation is, a CEL expression over object,
oldObject and operation, true meaning allowed, and a message, with a name,
a match and a severity (see docs/check.md); plumb does not read
ValidatingAdmissionPolicy objects themselves. A rule that does not compile
stops the check with its file, line and name.

Both sides are read as plumb scan reads a source: files, folders, kustomize
roots or Helm charts (with --values and --set for both).

Each violation names the file and line that declare its object. -o json
or yaml prints a CheckResult (docs/schemas/check.schema.json); -o markdown
a pull-request comment; -o sarif a SARIF 2.1.0 log for code scanning
(GitHub, GitLab), each violation at its file and line; -o junit a JUnit
XML report, a testsuite per rule and a failing testcase per denial.

Exit codes: 0 no rule denied, 1 a rule denied, 2 an error (bad input on
either side is named and stops the check).`,
		Example: `  # What applying deploy/ to the current context would change, judged
  plumb check --source deploy/ -n shop

  # In CI: the base branch's manifests against the pull request's
  git worktree add /tmp/base origin/main
  plumb check --against /tmp/base/deploy --source deploy/ -o markdown > comment.md

  plumb check --against old/ --source new/ --disable-rule expose-service

  # For GitHub code scanning, or a CI system's test report
  plumb check --against /tmp/base/deploy --source deploy/ -o sarif > plumb.sarif
  plumb check --against /tmp/base/deploy --source deploy/ -o junit > plumb-junit.xml`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{summariseAnnotation: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	addNoHeaders(fs, &o.noHeaders)
	fs.StringArrayVarP(&o.sources, "source", "f", nil, "The new version: a file, folder, kustomize root or Helm chart (repeatable)")
	fs.StringArrayVar(&o.against, "against", nil, "The previous version, read the same way (repeatable)")
	fs.StringArrayVar(&o.values, "values", nil, "Helm values file for charts on either side (repeatable)")
	fs.StringArrayVar(&o.set, "set", nil, "Helm value KEY=VALUE for charts on either side (repeatable)")
	fs.StringVar(&o.releaseName, "release-name", "", "Helm release name (default: the chart's name)")
	fs.StringArrayVar(&o.disabled, "disable-rule", nil, "Turn a built-in rule off (repeatable)")
	fs.StringArrayVar(&o.policies, "policy", nil, "A GuardrailPolicy file of CEL rules to add (repeatable)")
	fs.StringVarP(&o.configFile, "config", "c", "", "plumb configuration file: its policies are added")
	addGitFlags(fs, &o.gitAuth)
	addLimitFlags(fs, &o.limits)
	return cmd
}

func (o *checkOptions) Validate() error {
	if len(o.sources) == 0 {
		return fmt.Errorf("--source is required: the new version of the source")
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
	var changes []policy.Change
	var counter policy.Counter
	var refused []policy.Violation
	if o.live() {
		if changes, refused, counter, err = o.liveChanges(ctx); err != nil {
			return err
		}
	} else {
		before, err := o.load(ctx, o.against, "")
		if err != nil {
			return err
		}
		after, err := o.load(ctx, o.sources, "")
		if err != nil {
			return err
		}
		changes, counter = policy.Diff(before, after), policy.SourceCounter(unstructuredOf(before))
	}
	vs := append(refused, policy.Evaluate(ctx, changes, rules, policy.Options{Disabled: o.disabled, Counter: counter})...)
	policy.Sort(vs)
	if err := policy.Write(o.streams.Out, policy.Result{Violations: vs, Rules: enabled(rules, o.disabled)}, o.output, o.display(o.noHeaders)); err != nil {
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

// enabled are the rules that ran: rules without those --disable-rule
// turned off.
func enabled(rules []policy.Rule, disabled []string) []policy.Rule {
	return slices.DeleteFunc(slices.Clone(rules), func(r policy.Rule) bool { return slices.Contains(disabled, r.Name) })
}

// load reads one side; bad input on it is printed and stops the check,
// since a change computed from half a source would be wrong.
func (o *checkOptions) load(ctx context.Context, paths []string, namespace string) ([]source.Object, error) {
	if namespace == "" {
		namespace = o.namespace()
	}
	set := source.Load(ctx, paths, source.Options{Values: o.values, Set: o.set, ReleaseName: o.releaseName, Namespace: namespace, GitAuth: o.gitAuth, Limits: o.limits})
	if len(set.Errors) > 0 {
		for _, e := range set.Errors {
			fmt.Fprintf(o.streams.ErrOut, "error: %s\n", e.Error())
		}
		return nil, withCode(ExitError, fmt.Errorf("%s reading %s; nothing was checked", plural.Count(len(set.Errors), "error"), strings.Join(paths, ", ")))
	}
	return set.Objects, nil
}

// unstructuredOf is the objects of objs.
func unstructuredOf(objs []source.Object) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o.Object
	}
	return out
}

// namespace is -n, for Helm's .Release.Namespace; "" lets source default it.
func (o *checkOptions) namespace() string {
	if o.kube.Namespace != nil {
		return *o.kube.Namespace
	}
	return ""
}

// live reports whether the check reads the cluster: always without
// --against, and with it when a cluster is named (--context, --kubeconfig).
func (o *checkOptions) live() bool {
	named := func(f *string) bool { return f != nil && *f != "" }
	return len(o.against) == 0 || named(o.kube.Context) || named(o.kube.KubeConfig)
}

// liveChanges works out, against the cluster, what applying the sources
// would change: for a drifted object, the live object and the server's
// dry-run of the apply (defaults and webhooks included); for a missing
// one, its creation; with --against, the deletion of each live object the
// previous version declared and this one does not. What a deletion takes
// along is counted live.
func (o *checkOptions) liveChanges(ctx context.Context) ([]policy.Change, []policy.Violation, policy.Counter, error) {
	c, err := cluster.New(o.kube, cluster.DefaultOptions())
	if err != nil {
		return nil, nil, nil, err
	}
	after, err := o.load(ctx, o.sources, c.Namespace)
	if err != nil {
		return nil, nil, nil, err
	}
	declared := map[drift.ObjectKey]source.Object{}
	for _, o := range after {
		declared[drift.KeyOf(o.Object)] = o
	}
	opts := drift.DefaultOptions()
	opts.Logger = o.logger
	engine, err := drift.New(c, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	res, err := engine.Scan(ctx, after)
	if err != nil {
		return nil, nil, nil, withCode(ExitError, err)
	}
	// A dry-run the server refused because it changes an immutable field
	// is the immutable-field rule firing, with the server's own reason;
	// any other error stops the check.
	var refused []policy.Violation
	var errs []source.Error
	for _, e := range res.Errors {
		if v, ok := immutableRefusal(e); ok && !slices.Contains(o.disabled, policy.RuleImmutableField) {
			refused = append(refused, v)
			continue
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(o.streams.ErrOut, "error: %s\n", e.Error())
		}
		return nil, nil, nil, withCode(ExitError, fmt.Errorf("%s could not be compared; nothing was checked", plural.Count(len(errs), "object")))
	}
	var changes []policy.Change
	for _, f := range res.Findings {
		switch f.State {
		case drift.StateDrifted:
			// The server refused the declaration over the live object
			// (drift.Finding.Replace): for an immutable field, that is
			// the rule firing with the server's reason.
			if f.Replace != "" && immutableMessage(f.Replace) {
				if !slices.Contains(o.disabled, policy.RuleImmutableField) {
					refused = append(refused, immutableViolation(f.Kind, f.Namespace, f.Name, f.Replace, f.Source))
				}
				continue
			}
			changes = append(changes, policy.Change{Operation: policy.OperationUpdate, Old: f.Live, New: f.Desired, Source: f.Source})
		case drift.StateMissing:
			d, ok := declared[f.Key()]
			if !ok {
				k := f.Key()
				k.Namespace = ""
				d, ok = declared[k]
			}
			if ok {
				changes = append(changes, policy.Change{Operation: policy.OperationCreate, New: d.Object, Source: f.Source})
			}
		}
	}
	if len(o.against) > 0 {
		before, err := o.load(ctx, o.against, c.Namespace)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, ch := range policy.Diff(before, after) {
			if ch.Operation != policy.OperationDelete {
				continue
			}
			live, err := getLive(ctx, c, ch.Old)
			if err != nil {
				return nil, nil, nil, withCode(ExitError, err)
			}
			if live != nil {
				changes = append(changes, policy.Change{Operation: policy.OperationDelete, Old: live, Source: ch.Source})
			}
		}
	}
	return changes, refused, liveCounter{c}, nil
}

// getLive reads the live object u names; nil when it does not exist, or
// when the cluster does not serve its kind.
func getLive(ctx context.Context, c *cluster.Cluster, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	m, err := c.Mapping(u.GroupVersionKind())
	if meta.IsNoMatchError(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ns := ""
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns = cmp.Or(u.GetNamespace(), c.Namespace)
	}
	live, err := c.Dynamic.Resource(m.Resource).Namespace(ns).Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return drift.MaskSecret(live), nil
}

// liveCounter counts what a deletion takes along from the cluster.
type liveCounter struct{ c *cluster.Cluster }

func (l liveCounter) InNamespace(ctx context.Context, ns string) (int, error) {
	return l.c.CountInNamespace(ctx, ns)
}

func (l liveCounter) CustomResources(ctx context.Context, crd *unstructured.Unstructured) (int, error) {
	return l.c.CountCustomResources(ctx, crd)
}

// immutableRefusal reads a dry-run the server refused for changing a field
// it does not change in place ("field is immutable", or a StatefulSet's
// "updates to statefulset spec for fields other than … are forbidden").
func immutableRefusal(e source.Error) (policy.Violation, bool) {
	if !immutableMessage(e.Message) {
		return policy.Violation{}, false
	}
	// e.Object is "Kind.group namespace/name" or "Kind.group name".
	gk, ref, ok := strings.Cut(e.Object, " ")
	if !ok {
		return policy.Violation{}, false
	}
	kind, _, _ := strings.Cut(gk, ".")
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		ns, name = "", ref
	}
	var origin *source.Origin
	if e.Path != "" {
		origin = &source.Origin{Path: e.Path, Line: e.Line}
	}
	return immutableViolation(kind, ns, name, e.Message, origin), true
}

// immutableMessage reports whether the server's message refuses a change
// to a field it does not change in place.
func immutableMessage(msg string) bool {
	return strings.Contains(msg, "field is immutable") || strings.Contains(msg, "updates to statefulset spec for fields other than")
}

func immutableViolation(kind, ns, name, msg string, origin *source.Origin) policy.Violation {
	return policy.Violation{Rule: policy.RuleImmutableField, Severity: policy.SeverityDeny, Kind: kind, Namespace: ns, Name: name,
		Message: "the server refuses the change: " + msg, Source: origin}
}
