package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// Options say what to snapshot.
type Options struct {
	// Namespace is the namespace to read, unless AllNamespaces. Required
	// then.
	Namespace string
	// AllNamespaces reads every namespace and the cluster-scoped kinds
	// too. Default false.
	AllNamespaces bool
	// Selector keeps the objects whose labels match (kubectl's -l
	// syntax). Default "": all.
	Selector string
	// SystemManagers are the cluster's own field managers. Default
	// DefaultSystemManagers.
	SystemManagers []string
	// Concurrency bounds parallel list requests. Default 8.
	Concurrency int
	// SecretHashKey keys the hashes of Secret data. Default none: an
	// unkeyed hash, which a guess at a value can be checked against.
	SecretHashKey []byte
	// Logger receives progress. Default: discard.
	Logger *slog.Logger
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{SystemManagers: DefaultSystemManagers, Concurrency: 8, Logger: slog.New(slog.DiscardHandler)}
}

// Result is a snapshot: the clean objects, and what was left out.
type Result struct {
	// Objects are the cleaned objects, sorted by namespace, kind, group
	// and name.
	Objects []*unstructured.Unstructured
	// Secrets is how many of them are Secrets written without values.
	Secrets int
	// Skipped counts live objects left out because the cluster made them.
	Skipped int
	// Problems are kinds that could not be listed and objects that could
	// not be cleaned, each naming its kind or object; the rest is in
	// Objects. A snapshot with problems is incomplete.
	Problems []error
}

// Take reads the cluster and returns the clean objects. Only a cluster
// that cannot be read at all (discovery fails, or no kind can be listed)
// is an error; a kind or object that fails is a problem in the result.
func Take(ctx context.Context, c *cluster.Cluster, opts Options) (Result, error) {
	def := DefaultOptions()
	if opts.Concurrency <= 0 {
		opts.Concurrency = def.Concurrency
	}
	if opts.Logger == nil {
		opts.Logger = def.Logger
	}
	if opts.Namespace == "" && !opts.AllNamespaces {
		return Result{}, errors.New("a namespace is required unless reading all namespaces")
	}
	var res Result
	served, err := c.Listable()
	if err != nil {
		if served == nil {
			return res, err
		}
		res.Problems = append(res.Problems, err)
	}
	kinds := resources(served, opts.AllNamespaces)
	ns := opts.Namespace
	if opts.AllNamespaces {
		ns = ""
	}
	cleaner := NewCleaner(c.TypeConverter, opts.SystemManagers)
	cleaner.HashKey = opts.SecretHashKey

	type listed struct {
		objs     []*unstructured.Unstructured
		skipped  int
		problems []error
		listErr  error
	}
	out := make([]listed, len(kinds))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, r := range kinds {
		g.Go(func() error {
			items, err := c.ListSelected(gctx, r.GVR, ns, opts.Selector)
			if err != nil {
				out[i].listErr = fmt.Errorf("list %s: %w", r.GVR.GroupResource(), err)
				return nil
			}
			for j := range items {
				live := &items[j]
				if cleaner.madeByCluster(live) {
					out[i].skipped++
					continue
				}
				u, err := cleaner.Clean(live)
				if err != nil {
					out[i].problems = append(out[i].problems, fmt.Errorf("%s: %w", drift.KeyOf(live), err))
					continue
				}
				out[i].objs = append(out[i].objs, u)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	failed := 0
	for i, l := range out {
		if l.listErr != nil {
			failed++
			opts.Logger.Warn("kind not listed", "resource", kinds[i].GVR.GroupResource().String(), "err", l.listErr)
			res.Problems = append(res.Problems, l.listErr)
			continue
		}
		res.Objects = append(res.Objects, l.objs...)
		res.Skipped += l.skipped
		res.Problems = append(res.Problems, l.problems...)
	}
	if failed > 0 && failed == len(kinds) {
		return res, fmt.Errorf("no kind could be listed: %w", out[0].listErr)
	}
	for _, u := range res.Objects {
		if drift.IsValueless(u) {
			res.Secrets++
		}
	}
	sortObjects(res.Objects)
	opts.Logger.Info("snapshot taken", "kinds", len(kinds), "objects", len(res.Objects), "skipped", res.Skipped, "problems", len(res.Problems))
	return res, nil
}

// sortObjects orders objects by namespace, kind, group and name, so that
// the same cluster always gives the same snapshot.
func sortObjects(objs []*unstructured.Unstructured) {
	sort.Slice(objs, func(i, j int) bool {
		a, b := drift.KeyOf(objs[i]), drift.KeyOf(objs[j])
		for _, c := range [][2]string{{a.Namespace, b.Namespace}, {a.Kind, b.Kind}, {a.Group, b.Group}, {a.Name, b.Name}} {
			if c[0] != c[1] {
				return c[0] < c[1]
			}
		}
		return false
	})
}
