package drift

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/cost"
	"plumb.dev/plumb/internal/source"
)

// Options tune a scan.
type Options struct {
	// Concurrency bounds parallel lists and dry-runs. Default 8.
	Concurrency int
	// SecretHashKey keys the hashes of Secret data that value-less
	// Secrets are declared by (plumb snapshot --secret-hash-key-file).
	// Without it, a Secret declared by a keyed hash cannot be compared.
	SecretHashKey []byte
	// Unmanaged also reports live objects that no source declares, of the
	// kinds the sources use, in the namespaces they touch, from the lists
	// the scan makes anyway. Default false.
	Unmanaged bool
	// UnmanagedAllKinds, with Unmanaged, also looks in every other
	// namespaced kind the cluster serves, in the same namespaces, from
	// metadata-only lists (see UnmanagedResources). plumb scan --unmanaged
	// sets it; fix --prune does not: it deletes only kinds the sources
	// use. Default false.
	UnmanagedAllKinds bool
	// UnmanagedClusterWideAfter: with UnmanagedAllKinds, when the sources
	// touch more than this many namespaces, each other kind is listed once
	// for the whole cluster and kept to those namespaces, instead of once
	// per namespace; a kind the identity may not list cluster-wide is
	// listed per namespace. DefaultOptions sets 5; 0 lists cluster-wide
	// whenever there is a namespace, a negative value never.
	UnmanagedClusterWideAfter int
	// UnmanagedAllNamespaces, with Unmanaged and UnmanagedAllKinds, looks
	// for unmanaged objects in every namespace and in the cluster-scoped
	// kinds (kubectl's -A), one list per kind for the whole cluster, not
	// only in the namespaces the sources touch. Default false.
	UnmanagedAllNamespaces bool
	// Selector narrows a scan to the objects whose labels match (kubectl's
	// -l): only declared objects whose declared labels match are compared,
	// and with Unmanaged only live objects whose labels match are reported,
	// listed with the selector wherever a list is made for them alone.
	// Declared objects it leaves out still count as declared, so that one
	// whose live labels match is never reported unmanaged (nor pruned).
	// Default nil: every object.
	Selector labels.Selector
	// Ignore rules are applied on top of DefaultIgnoreRules.
	Ignore []IgnoreRule
	// OutOfBandManagers name the managers whose undeclared fields are
	// reported as added. Default DefaultOutOfBandManagers.
	OutOfBandManagers []string
	// Cache keeps comparisons between scans. Default: a new, empty cache.
	Cache *Cache
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
	// Progress, when set, is called as Scan compares the declared
	// objects, with how many of total it has compared; from several
	// goroutines at once. Default: nil.
	Progress func(compared, total int)
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{
		Concurrency:               8,
		UnmanagedClusterWideAfter: 5,
		OutOfBandManagers:         DefaultOutOfBandManagers,
		Cache:                     NewCache(),
		Logger:                    slog.New(slog.DiscardHandler),
	}
}

// Engine compares declared objects with one cluster.
type Engine struct {
	cluster *cluster.Cluster
	opts    Options
	rules   []compiledRule
	// hpaRules are rules plus the one for objects an HPA scales.
	hpaRules []compiledRule
	dryRuns  atomic.Int64
}

// Stats counts the work an engine has done since it was made.
type Stats struct {
	// DryRuns is the number of dry-run requests sent: server-side applies,
	// and updates that ask for server defaults (againstDefaults).
	DryRuns int64
	// CacheHits and CacheMisses count comparisons reused and made.
	CacheHits, CacheMisses int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	hits, misses := e.opts.Cache.Stats()
	return Stats{DryRuns: e.dryRuns.Load(), CacheHits: hits, CacheMisses: misses}
}

// New returns an engine for c.
func New(c *cluster.Cluster, opts Options) (*Engine, error) {
	def := DefaultOptions()
	if opts.Concurrency <= 0 {
		opts.Concurrency = def.Concurrency
	}
	if opts.OutOfBandManagers == nil {
		opts.OutOfBandManagers = def.OutOfBandManagers
	}
	if opts.Cache == nil {
		opts.Cache = def.Cache
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	rules, err := compileRules(append(append([]IgnoreRule{}, DefaultIgnoreRules...), opts.Ignore...))
	if err != nil {
		return nil, fmt.Errorf("ignore rules: %w", err)
	}
	hpa, err := compileRules([]IgnoreRule{{Paths: []string{".spec.replicas"}, Reason: hpaReplicasReason}})
	if err != nil {
		return nil, err
	}
	return &Engine{cluster: c, opts: opts, rules: rules, hpaRules: append(append([]compiledRule{}, rules...), hpa...)}, nil
}

// ClusterError means the cluster could not be scanned at all (unreachable,
// unauthorised); no per-object result is meaningful.
type ClusterError struct {
	Cluster string
	Err     error
}

func (e *ClusterError) Error() string { return fmt.Sprintf("cluster %s: %v", e.Cluster, e.Err) }
func (e *ClusterError) Unwrap() error { return e.Err }

// target is one declared object resolved against the cluster.
type target struct {
	obj     source.Object
	name    string
	mapping *meta.RESTMapping
	ns      string
	live    *unstructured.Unstructured
	// compact, when set, holds the declaration as sent to the server
	// (cleanDesired's output) as JSON with its hash, and obj.Object is nil:
	// a watcher keeps thousands of targets for as long as it runs.
	compact *compactDesired
}

type compactDesired struct {
	// json is the declaration as sent to the server; or, when source is
	// set, empty: source is the declaration as its source holds it
	// (source.Encoded's JSON, shared with the caller), cleaned as it is
	// decoded.
	json   string
	source []byte
	hash   [sha256.Size]byte
}

func (t *target) id() string { return objectID(t.mapping.GroupVersionKind.GroupKind(), t.ns, t.name) }

// objectID names an object as target.id does: "Kind.group ns/name", or
// "Kind.group name" when cluster-scoped.
func objectID(gk schema.GroupKind, ns, name string) string {
	if ns == "" {
		return gk.String() + " " + name
	}
	return gk.String() + " " + ns + "/" + name
}

// listKey is one list request: a resource in a namespace ("" when
// cluster-scoped).
type listKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// Scan compares objs with the cluster. Bad objects and per-object failures
// are in Result.Errors and the rest is scanned; an error is returned only
// when the cluster itself cannot be scanned.
func (e *Engine) Scan(ctx context.Context, objs []source.Object) (Result, error) {
	all, errs, err := e.resolve(objs)
	declared := make(map[string]bool, len(all))
	for _, t := range all {
		declared[t.id()] = true
	}
	return e.scanTargets(ctx, e.selected(all), declared, errs, err)
}

// ScanEncoded is Scan for objects kept as JSON (source.LoadEncoded): it
// resolves them a batch at a time into compact targets, so that no more
// than a batch is ever decoded at once, and compares each declaration
// decoded afresh. A scan of a large source holds its declarations as JSON,
// a tenth of their decoded size, and Result.Declared shares that JSON.
func (e *Engine) ScanEncoded(ctx context.Context, objs []source.Encoded) (Result, error) {
	declared := make(map[string]bool, len(objs))
	targets, errs, err := e.resolveEncoded(objs, func(ts []*target) []*target {
		for _, t := range ts {
			declared[t.id()] = true
		}
		return e.selected(ts)
	})
	return e.scanTargets(ctx, targets, declared, errs, err)
}

// scanTargets compares targets, resolved with errs (err: discovery
// failed), with the cluster; declared names every declared object, the
// targets and those Options.Selector left out.
func (e *Engine) scanTargets(ctx context.Context, targets []*target, declared map[string]bool, errs []source.Error, err error) (Result, error) {
	res := Result{Cluster: e.cluster.Name}
	log := e.opts.Logger.With("cluster", e.cluster.Name)
	res.Errors = append(res.Errors, errs...)
	if err != nil {
		return res, &ClusterError{Cluster: e.cluster.Name, Err: err}
	}

	hpaTargets := e.hpaTargets(ctx, targets)
	listed, err := e.listAndCompare(ctx, targets, declared, hpaTargets)
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, &ClusterError{Cluster: e.cluster.Name, Err: err}
	}
	log.Info("listed and compared live objects", "declared", len(targets), "lists", len(listed.keys))
	findings, objErrs := listed.findings, listed.errs

	res.Declared = make(map[ObjectKey]Declaration, len(targets))
	for i, t := range targets {
		gk := t.mapping.GroupVersionKind.GroupKind()
		res.Declared[ObjectKey{Group: gk.Group, Kind: gk.Kind, Namespace: t.ns, Name: t.name}] = Declaration{t: t}
		if objErrs[i] != nil {
			res.Errors = append(res.Errors, objectError(t, objErrs[i]))
			continue
		}
		res.Objects++
		if listed.found[i] {
			res.Managed++
		}
		if findings[i] == nil {
			res.InSync++
			continue
		}
		res.Findings = append(res.Findings, *findings[i])
	}
	if e.opts.Unmanaged {
		res.UnmanagedChecked = true
		found := listed.unmanaged
		if e.opts.UnmanagedAllKinds {
			other, err := e.unmanagedOther(ctx, listed.keys, declared, namespacesOf(targets))
			if err != nil {
				return res, &ClusterError{Cluster: e.cluster.Name, Err: fmt.Errorf("unmanaged objects: %w", err)}
			}
			found = append(found, other...)
		}
		for _, f := range found {
			res.Findings = append(res.Findings, f)
			res.Unmanaged++
		}
	}
	sortFindings(res.Findings)
	st := e.Stats()
	log.Info("scan done", "objects", res.Objects, "findings", len(res.Findings), "errors", len(res.Errors),
		"dryRuns", st.DryRuns, "cacheHits", st.CacheHits, "cacheMisses", st.CacheMisses)
	return res, nil
}

// selected returns the targets Options.Selector selects by their
// declared labels: all of them without one.
func (e *Engine) selected(targets []*target) []*target {
	if e.opts.Selector == nil || e.opts.Selector.Empty() {
		return targets
	}
	var out []*target
	for _, t := range targets {
		if t.obj.Object == nil || e.opts.Selector.Matches(labels.Set(t.obj.Object.GetLabels())) {
			out = append(out, t)
		}
	}
	return out
}

// selects reports whether Options.Selector selects a live object.
func (e *Engine) selects(u *unstructured.Unstructured) bool {
	return e.opts.Selector == nil || e.opts.Selector.Matches(labels.Set(u.GetLabels()))
}

// namespacesOf returns the namespaces the targets live in, sorted.
func namespacesOf(targets []*target) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range targets {
		if t.ns != "" && !seen[t.ns] {
			seen[t.ns] = true
			out = append(out, t.ns)
		}
	}
	sort.Strings(out)
	return out
}

// resolve maps each object to its resource, defaults its namespace like
// kubectl, and drops duplicates. Objects of unknown kinds become errors;
// a discovery failure that is not about one kind fails the whole scan.
func (e *Engine) resolve(objs []source.Object) ([]*target, []source.Error, error) {
	return e.newResolver().resolve(objs)
}

// resolver resolves declared objects, possibly in several batches: a
// duplicate is found across all of them.
type resolver struct {
	e *Engine
	// seen holds where each object was first declared (not the target,
	// which would keep every decoded object of every batch alive).
	seen     map[string]source.Origin
	mappings map[schema.GroupVersionKind]*meta.RESTMapping // one per kind, shared by its objects
}

func (e *Engine) newResolver() *resolver {
	return &resolver{e: e, seen: map[string]source.Origin{}, mappings: map[schema.GroupVersionKind]*meta.RESTMapping{}}
}

func (r *resolver) resolve(objs []source.Object) ([]*target, []source.Error, error) {
	e, seen, mappings := r.e, r.seen, r.mappings
	var targets []*target
	var errs []source.Error
	for _, o := range objs {
		gvk := o.Object.GroupVersionKind()
		m, err := mappings[gvk], error(nil)
		if m == nil {
			m, err = e.cluster.Mapping(gvk)
			mappings[gvk] = m
		}
		if err != nil {
			if !meta.IsNoMatchError(err) {
				return nil, errs, fmt.Errorf("discovery: %w", err)
			}
			errs = append(errs, originError(o, fmt.Sprintf("the cluster does not serve kind %s in %s (is its CustomResourceDefinition installed?)", gvk.Kind, gvk.GroupVersion())))
			continue
		}
		t := &target{obj: o, name: o.Object.GetName(), mapping: m}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			t.ns = o.Object.GetNamespace()
			if t.ns == "" {
				t.ns = e.cluster.Namespace
			}
		}
		if prev, dup := seen[t.id()]; dup {
			errs = append(errs, originError(o, fmt.Sprintf("duplicate of the object declared at %s; the first declaration is used", prev)))
			continue
		}
		seen[t.id()] = o.Origin
		targets = append(targets, t)
	}
	return targets, errs, nil
}

// listPage is how many objects one list request asks for.
const listPage = 500

// listed is what listAndCompare found: per target (by index) its finding,
// error and whether it is live; the live objects no target declares, as
// unmanaged findings (with Options.Unmanaged); and every list it made.
type listed struct {
	findings  []*Finding
	errs      []error
	found     []bool
	unmanaged []Finding
	keys      map[listKey]bool
}

// listAndCompare lists every (resource, namespace) the targets live in, a
// page at a time, and compares each declared object of a page as the page
// arrives: a page is let go once its objects are compared, so memory holds
// a few pages per list in flight, not the cluster. Lists run in parallel,
// and so do comparisons, each up to Options.Concurrency; a list waits while
// the comparisons are all busy. A forbidden list is an error for the
// objects it covers; other failures mean the cluster cannot be scanned.
// A live object no target names is unmanaged unless declared names it (a
// declared object Options.Selector left out) or the selector leaves it
// out; cluster-scoped ones only with Options.UnmanagedAllNamespaces.
func (e *Engine) listAndCompare(ctx context.Context, targets []*target, declared map[string]bool, hpa map[string]bool) (*listed, error) {
	out := &listed{findings: make([]*Finding, len(targets)), errs: make([]error, len(targets)), found: make([]bool, len(targets)), keys: map[listKey]bool{}}
	byKey := map[listKey]map[string]int{}
	namespaced := map[listKey]bool{}
	for i, t := range targets {
		k := listKey{gvr: t.mapping.Resource, ns: t.ns}
		if byKey[k] == nil {
			byKey[k] = map[string]int{}
			out.keys[k] = true
		}
		byKey[k][t.name] = i
		namespaced[k] = t.mapping.Scope.Name() == meta.RESTScopeNameNamespace
	}
	compares, cctx := errgroup.WithContext(ctx)
	compares.SetLimit(e.opts.Concurrency)
	var compared atomic.Int64
	compare := func(i int, live *unstructured.Unstructured) {
		compares.Go(func() error {
			c := *targets[i]
			c.live = live
			out.findings[i], out.errs[i] = e.compare(cctx, &c, hpa[c.id()])
			if e.opts.Progress != nil {
				e.opts.Progress(int(compared.Add(1)), len(targets))
			}
			return nil
		})
	}
	var mu sync.Mutex // guards out.unmanaged
	lists, lctx := errgroup.WithContext(ctx)
	lists.SetLimit(e.opts.Concurrency)
	for k, names := range byKey {
		lists.Go(func() error {
			opts := metav1.ListOptions{Limit: listPage}
			for {
				l, err := e.cluster.Dynamic.Resource(k.gvr).Namespace(k.ns).List(lctx, opts)
				if err != nil {
					if cluster.IsRefused(err) {
						err = fmt.Errorf("list %s: %w", k.gvr.GroupResource(), err)
						for _, i := range names {
							out.errs[i] = err
						}
						return nil
					}
					return fmt.Errorf("list %s in %q: %w", k.gvr.GroupResource(), k.ns, err)
				}
				for j := range l.Items {
					u := &l.Items[j]
					if i, ok := names[u.GetName()]; ok {
						out.found[i] = true
						compare(i, u)
						continue
					}
					if !e.opts.Unmanaged || (!namespaced[k] && !e.opts.UnmanagedAllNamespaces) ||
						declared[objectID(u.GroupVersionKind().GroupKind(), u.GetNamespace(), u.GetName())] || !e.selects(u) {
						continue
					}
					if f := UnmanagedFinding(e.cluster.Name, u); f != nil {
						mu.Lock()
						out.unmanaged = append(out.unmanaged, *f)
						mu.Unlock()
					}
				}
				if l.GetContinue() == "" {
					break
				}
				opts.Continue = l.GetContinue()
			}
			for _, i := range names {
				if !out.found[i] {
					compare(i, nil)
				}
			}
			return nil
		})
	}
	err := lists.Wait()
	_ = compares.Wait()
	if err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// compare produces the finding for one object, or nil when it is in sync;
// hpaScaled says a HorizontalPodAutoscaler owns its replicas.
func (e *Engine) compare(ctx context.Context, t *target, hpaScaled bool) (*Finding, error) {
	f := &Finding{
		Cluster:    e.cluster.Name,
		APIVersion: t.mapping.GroupVersionKind.GroupVersion().String(),
		Kind:       t.mapping.GroupVersionKind.Kind,
		Namespace:  t.ns,
		Name:       t.name,
	}
	origin := t.obj.Origin
	f.Source = &origin
	if t.live == nil {
		f.State = StateMissing
		return f, nil
	}

	// A compact target knows its hash: the declaration is decoded only
	// when the cache cannot answer.
	var desired *unstructured.Unstructured
	var h [sha256.Size]byte
	var err error
	if t.compact != nil {
		h = t.compact.hash
	} else if desired, h, err = t.desired(); err != nil {
		return nil, err
	}
	live := t.live
	cmp, ok := e.opts.Cache.get(live.GetUID(), live.GetResourceVersion(), h)
	if !ok {
		if desired == nil {
			if desired, _, err = t.desired(); err != nil {
				return nil, err
			}
		}
		cmp, live, err = e.compareFresh(ctx, t, desired, live)
		if err != nil {
			return nil, err
		}
		if live == nil {
			f.State = StateMissing // deleted while we looked
			return f, nil
		}
		e.opts.Cache.put(live.GetUID(), live.GetResourceVersion(), h, cmp)
	}

	rules := e.rules
	if hpaScaled {
		rules = e.hpaRules
	}
	gk := t.mapping.GroupVersionKind.GroupKind()
	liveMap := live.Object
	var kept []rawChange
	for _, c := range cmp.changes {
		if r := e.ignored(rules, gk, c, liveMap); r != nil {
			e.opts.Logger.Debug("ignored change", "object", t.id(), "path", kubectlPath(c.path), "reason", r.rule.Reason)
			continue
		}
		kept = append(kept, c)
	}
	if len(kept) == 0 {
		return nil, nil
	}
	f.State = StateDrifted
	f.Unconfirmed = cmp.unconfirmed
	f.Replace = cmp.replace
	f.Deployer = cmp.deployer
	secret := isSecret(gk)
	for _, c := range kept {
		f.Changes = append(f.Changes, c.public(secret))
	}
	f.Live = viewObject(live, secret, nil)
	base := cmp.desired
	if base == nil {
		base = live
	}
	f.Desired = viewObject(base, secret, kept)
	for _, c := range kept {
		// No dry-run (an identity that may not patch, a refused dry-run):
		// the declared values go onto the live view, so that diff and
		// check see the change. A default someone changed is not in the
		// dry-run result either (the field is another manager's).
		if (cmp.desired == nil && (c.typ == ChangeModified || c.typ == ChangeRemoved)) || c.toDefault {
			putAt(f.Desired.Object, c.path, c.desired)
		}
	}
	// The dry-run bumps generation; that is bookkeeping, not a change.
	f.Desired.SetGeneration(f.Live.GetGeneration())
	f.Desired.SetResourceVersion(f.Live.GetResourceVersion())
	if secret {
		maskSecretPair(f.Desired, f.Live)
	}
	if cost.Workload(gk.Group, gk.Kind) {
		f.ResourceDelta = cost.Delta(revert(live, kept), live)
	}
	return f, nil
}

// revert is live with the reported changes put back: what its requests
// would be without them. Ignored changes (an HPA's replicas) stay live, so
// they cost nothing.
func revert(live *unstructured.Unstructured, changes []rawChange) *unstructured.Unstructured {
	v := viewObject(live, false, changes)
	for _, c := range changes {
		if c.typ == ChangeModified || c.typ == ChangeRemoved {
			putAt(v.Object, c.path, c.desired)
		}
	}
	return v
}

func (e *Engine) ignored(rules []compiledRule, gk schema.GroupKind, c rawChange, live map[string]any) *compiledRule {
	for i := range rules {
		r := &rules[i]
		if !kindMatches(r.rule.Kinds, gk) {
			continue
		}
		if c.owner != nil && matchesAny(c.owner.Manager, r.rule.Managers) {
			return r
		}
		for _, p := range r.paths {
			if matchPrefix(p, c.path, live) {
				return r
			}
		}
	}
	return nil
}

// desired returns the declaration as it is sent to the server, and its
// hash, from the compact form when the target has one.
func (t *target) desired() (*unstructured.Unstructured, [sha256.Size]byte, error) {
	if t.compact == nil {
		d := cleanDesired(t.obj.Object, t.ns)
		h, err := hashObject(d)
		return d, h, err
	}
	d := &unstructured.Unstructured{}
	if t.compact.source != nil {
		if err := d.UnmarshalJSON(t.compact.source); err != nil {
			return nil, t.compact.hash, err
		}
		return clean(d, t.ns), t.compact.hash, nil
	}
	if err := d.UnmarshalJSON([]byte(t.compact.json)); err != nil {
		return nil, t.compact.hash, err
	}
	return d, t.compact.hash, nil
}

// hash returns the hash of the declaration as it is sent to the server.
func (t *target) hash() ([sha256.Size]byte, error) {
	if t.compact != nil {
		return t.compact.hash, nil
	}
	_, h, err := t.desired()
	return h, err
}

// cleanDesired returns the object as it is sent to the server: namespace
// set, server bookkeeping and status removed.
func cleanDesired(obj *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	return clean(obj.DeepCopy(), ns)
}

// clean is cleanDesired in place: it changes d and returns it.
func clean(d *unstructured.Unstructured, ns string) *unstructured.Unstructured {
	if ns != "" {
		d.SetNamespace(ns)
	} else {
		d.SetNamespace("")
	}
	for _, f := range []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink"} {
		unstructured.RemoveNestedField(d.Object, "metadata", f)
	}
	delete(d.Object, "status")
	return d
}

func hashObject(obj *unstructured.Unstructured) ([sha256.Size]byte, error) {
	b, err := json.Marshal(obj.Object)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(b), nil
}

func isSecret(gk schema.GroupKind) bool { return gk.Group == "" && gk.Kind == "Secret" }

func objectError(t *target, err error) source.Error {
	return source.Error{Path: t.obj.Origin.Path, Line: t.obj.Origin.Line, Object: t.id(), Message: err.Error()}
}

func originError(o source.Object, msg string) source.Error {
	gvk := o.Object.GroupVersionKind()
	id := gvk.Kind + " " + o.Object.GetName()
	if ns := o.Object.GetNamespace(); ns != "" {
		id = gvk.Kind + " " + ns + "/" + o.Object.GetName()
	}
	return source.Error{Path: o.Origin.Path, Line: o.Origin.Line, Object: id, Message: msg}
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		for _, c := range [][2]string{{a.Namespace, b.Namespace}, {a.Kind, b.Kind}, {a.Name, b.Name}, {a.APIVersion, b.APIVersion}} {
			if c[0] != c[1] {
				return c[0] < c[1]
			}
		}
		return false
	})
}

// hpaTargets returns the ids ("apps/Deployment ns/name") of objects that a
// live HorizontalPodAutoscaler scales, in the namespaces the targets touch.
// A cluster without the autoscaling/v2 API, or a forbidden list, yields none.
func (e *Engine) hpaTargets(ctx context.Context, targets []*target) map[string]bool {
	out := map[string]bool{}
	gvr := schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}
	nss := map[string]bool{}
	for _, t := range targets {
		if t.ns != "" {
			nss[t.ns] = true
		}
	}
	for ns := range nss {
		items, err := e.cluster.List(ctx, gvr, ns)
		if err != nil {
			e.opts.Logger.Debug("cannot list HorizontalPodAutoscalers", "namespace", ns, "err", err)
			continue
		}
		for _, h := range items {
			kind, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "kind")
			name, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "name")
			apiVersion, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "apiVersion")
			gv, _ := schema.ParseGroupVersion(apiVersion)
			out[schema.GroupKind{Group: gv.Group, Kind: kind}.String()+" "+ns+"/"+name] = true
		}
	}
	return out
}

// errConflict reports a live object that changed between list and dry-run.
var errConflict = errors.New("object changed during comparison")

// errDryRunForbidden reports that the identity may read but not patch: a
// server-side dry-run needs the patch verb, as kubectl diff does.
var errDryRunForbidden = errors.New("server-side dry-run forbidden")

// dryRun applies desired as manager with force, on the server, without
// persisting, at the live resourceVersion (a conflict means it changed).
func (e *Engine) dryRun(ctx context.Context, t *target, desired *unstructured.Unstructured, manager, rv string) (*unstructured.Unstructured, error) {
	e.dryRuns.Add(1)
	e.opts.Logger.Debug("dry-run", "object", t.id(), "manager", manager)
	body := desired.DeepCopy()
	body.SetResourceVersion(rv)
	res := e.cluster.Dynamic.Resource(t.mapping.Resource).Namespace(t.ns)
	out, err := res.Apply(ctx, body.GetName(), body, metav1.ApplyOptions{
		FieldManager: manager,
		Force:        true,
		DryRun:       []string{metav1.DryRunAll},
	})
	if apierrors.IsConflict(err) {
		return nil, errConflict
	}
	if apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("%w: %w", errDryRunForbidden, err)
	}
	if apierrors.IsInvalid(err) {
		return nil, &dryRunInvalid{message: apiMessage(err)}
	}
	if err != nil {
		return nil, fmt.Errorf("server-side apply dry-run as %q: %w", manager, err)
	}
	return out, nil
}

// dryRunInvalid is the server's refusal of the declaration applied over
// the live object for validation (422 Invalid).
type dryRunInvalid struct{ message string }

func (d *dryRunInvalid) Error() string { return "the server refused the dry-run: " + d.message }

// apiMessage is the server's own message in err, without client-go's
// wrapping.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// serverDefaults returns what the declaration alone becomes on the server:
// a dry-run update (a replace) of the declared object at the live
// resourceVersion, which the server defaults, mutates and validates as a
// real replace would, and persists nothing. A conflict means the object
// changed meanwhile.
func (e *Engine) serverDefaults(ctx context.Context, t *target, desired *unstructured.Unstructured, rv string) (*unstructured.Unstructured, error) {
	e.dryRuns.Add(1)
	e.opts.Logger.Debug("dry-run update for server defaults", "object", t.id())
	body := desired.DeepCopy()
	body.SetResourceVersion(rv)
	out, err := e.cluster.Dynamic.Resource(t.mapping.Resource).Namespace(t.ns).Update(ctx, body, metav1.UpdateOptions{
		FieldManager: DefaultManager,
		DryRun:       []string{metav1.DryRunAll},
	})
	if apierrors.IsConflict(err) {
		return nil, errConflict
	}
	return out, err
}

// get reads the live object again (after a conflict); nil when deleted.
func (e *Engine) get(ctx context.Context, t *target) (*unstructured.Unstructured, error) {
	u, err := e.cluster.Dynamic.Resource(t.mapping.Resource).Namespace(t.ns).Get(ctx, t.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}
