package cli

import (
	"context"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/helmrelease"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/sourcewatch"
	"plumb.dev/plumb/internal/watch"
)

// remoteSources are the sources among paths that are not files: Git refs
// and live Helm releases.
func remoteSources(paths []string) []string {
	return slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return !config.IsRemote(p) })
}

// localSources are the files and folders among paths.
func localSources(paths []string) []string {
	return slices.DeleteFunc(slices.Clone(paths), config.IsRemote)
}

// sourceVersion reads a remote source's version now: the commit a Git ref
// names (asking the remote for its refs only), or the revision of a Helm
// release's latest deployed revision in c.
func (o *serveOptions) sourceVersion(ctx context.Context, c *cluster.Cluster, spec string) (string, error) {
	if gitsource.Is(spec) {
		ref, err := gitsource.Parse(spec)
		if err != nil {
			return "", err
		}
		return gitsource.Head(ctx, ref, o.gitAuth)
	}
	ref, err := helmrelease.Parse(spec)
	if err != nil {
		return "", err
	}
	rel, err := fleet.Releases(c).Deployed(ref)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(rel.Revision), nil
}

// sourceVersions reads the versions of a cluster's remote sources, before
// they are loaded; one that cannot be read is left out.
func (o *serveOptions) sourceVersions(ctx context.Context, c *cluster.Cluster, paths []string) map[string]string {
	out := map[string]string{}
	for _, spec := range remoteSources(paths) {
		if v, err := o.sourceVersion(ctx, c, spec); err == nil {
			out[spec] = v
		}
	}
	return out
}

// watchRemoteSources reads the versions of the Git and Helm release
// sources every --git-interval, on POST /api/v1/hooks/git (now) and, for
// Helm releases, whenever Helm writes the release's storage; a cluster
// whose sources moved is loaded again and only objects whose declaration
// changed are compared.
func (o *serveOptions) watchRemoteSources(ctx context.Context, setups []clusterSetup, watcherAt func(int) *watch.Watcher, now chan struct{}, m *metrics.Metrics) {
	p := sourcewatch.Poll{
		Interval: o.gitInterval,
		Now:      now,
		Version: func(ctx context.Context, i int, spec string) (string, error) {
			return o.sourceVersion(ctx, setups[i].cluster, spec)
		},
		Warn: func(spec string, err error) {
			o.logger.Warn("cannot read a source's version; it is read again at the next interval", "source", spec, "err", err)
		},
		Observe: func(i int, outcome string) { m.SourceReads.WithLabelValues(setups[i].name, outcome).Inc() },
	}
	watched := false
	for _, s := range setups {
		remote := remoteSources(s.paths)
		p.Groups, p.Seen = append(p.Groups, remote), append(p.Seen, s.versions)
		watched = watched || len(remote) > 0
		for _, spec := range remote {
			if ref, err := helmrelease.Parse(spec); err == nil {
				go o.watchReleaseStorage(ctx, s.cluster, ref, now)
			}
		}
	}
	if !watched {
		return
	}
	p.Run(ctx, o.reloader(ctx, setups, watcherAt))
}

// reloader loads cluster i's sources again and hands them to its watcher,
// which compares only the objects whose declaration changed; a cluster
// another replica watches is left to it.
func (o *serveOptions) reloader(ctx context.Context, setups []clusterSetup, watcherAt func(int) *watch.Watcher) func(int) {
	return func(i int) {
		w := watcherAt(i)
		if w == nil {
			return
		}
		objs, errs := setups[i].reload(ctx)
		o.reportSourceErrors(errs)
		if err := w.Reload(objs); err != nil {
			o.logger.Warn("reload sources", "cluster", setups[i].name, "err", err)
		}
	}
}

// watchReleaseStorage pokes now whenever Helm writes ref's storage (an
// install, upgrade or rollback), watching only the storage objects'
// metadata.
func (o *serveOptions) watchReleaseStorage(ctx context.Context, c *cluster.Cluster, ref helmrelease.Ref, now chan<- struct{}) {
	resource := "secrets"
	if ref.StorageDriver() == helmrelease.ConfigMaps {
		resource = "configmaps"
	}
	selector := labels.Set{"owner": "helm", "name": ref.Name}.String()
	inf := metadatainformer.NewFilteredMetadataInformer(c.Metadata, schema.GroupVersionResource{Version: "v1", Resource: resource},
		ref.Namespace, time.Hour, cache.Indexers{}, func(lo *metav1.ListOptions) { lo.LabelSelector = selector })
	poke := func(any) {
		select {
		case now <- struct{}{}:
		default: // a reading is already asked for
		}
	}
	_, _ = inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    poke,
		UpdateFunc: func(_, n any) { poke(n) },
		DeleteFunc: poke,
	})
	inf.Informer().Run(ctx.Done())
}
