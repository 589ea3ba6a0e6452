package daemon

import (
	"context"
	"log/slog"
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
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/fleet"
	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/helmrelease"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/sourcewatch"
	"plumb.dev/plumb/internal/store"
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
func sourceVersion(ctx context.Context, c *cluster.Cluster, spec string, auth gitsource.Auth) (string, error) {
	if gitsource.Is(spec) {
		ref, err := gitsource.Parse(spec)
		if err != nil {
			return "", err
		}
		return gitsource.Head(ctx, ref, auth)
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

// SourceVersions reads the versions of a cluster's remote sources, before
// they are loaded (Cluster.Versions); one that cannot be read is left out.
func SourceVersions(ctx context.Context, c *cluster.Cluster, paths []string, auth gitsource.Auth) map[string]string {
	out := map[string]string{}
	for _, spec := range remoteSources(paths) {
		if v, err := sourceVersion(ctx, c, spec, auth); err == nil {
			out[spec] = v
		}
	}
	return out
}

// sourceWatch reloads a cluster's sources when they change, and hands
// them to its watcher, which compares only the objects whose declaration
// changed.
type sourceWatch struct {
	clusters []Cluster
	// watcherAt is cluster i's watcher; nil when another replica
	// watches it.
	watcherAt func(int) *watch.Watcher
	// storePath is the SQLite store, whose files are not sources.
	storePath string
	auth      gitsource.Auth
	interval  time.Duration
	// now asks for a reading of the remote sources at once (the API's
	// Git push hook, Helm writing a release).
	now     chan struct{}
	metrics *metrics.Metrics
	// notify, if set, hears what each load of a cluster's sources found
	// wrong (reportSources).
	notify func(notify.SourceReport)
	logger *slog.Logger
}

// local reloads a cluster's sources when their files change.
func (sw *sourceWatch) local(ctx context.Context) error {
	w := sourcewatch.Watch{
		Ignore: store.SQLiteFiles(sw.storePath),
		Warn:   func(msg string, err error) { sw.logger.Warn(msg, "err", err) },
	}
	for _, c := range sw.clusters {
		w.Groups = append(w.Groups, localSources(c.Paths))
	}
	if err := w.Run(ctx, sw.reload(ctx)); err != nil {
		sw.logger.Warn("cannot watch sources; restart plumb serve to pick up changes", "err", err)
	}
	return nil
}

// remote reads the versions of the Git and Helm release sources every
// interval, when now is poked and, for Helm releases, whenever Helm
// writes the release's storage; a cluster whose sources moved is loaded
// again.
func (sw *sourceWatch) remote(ctx context.Context) error {
	p := sourcewatch.Poll{
		Interval: sw.interval,
		Now:      sw.now,
		Version: func(ctx context.Context, i int, spec string) (string, error) {
			return sourceVersion(ctx, sw.clusters[i].Cluster, spec, sw.auth)
		},
		Warn: func(spec string, err error) {
			sw.logger.Warn("cannot read a source's version; it is read again at the next interval", "source", spec, "err", err)
		},
		Observe: func(i int, outcome string) {
			sw.metrics.SourceReads.WithLabelValues(sw.clusters[i].Name(), outcome).Inc()
		},
	}
	watched := false
	for _, c := range sw.clusters {
		remote := remoteSources(c.Paths)
		p.Groups, p.Seen = append(p.Groups, remote), append(p.Seen, c.Versions)
		watched = watched || len(remote) > 0
		for _, spec := range remote {
			if ref, err := helmrelease.Parse(spec); err == nil {
				go watchReleaseStorage(ctx, c.Cluster, ref, sw.now)
			}
		}
	}
	if watched {
		p.Run(ctx, sw.reload(ctx))
	}
	return nil
}

// reload loads cluster i's sources again and hands them to its watcher; a
// cluster another replica watches is left to it.
func (sw *sourceWatch) reload(ctx context.Context) func(int) {
	return func(i int) {
		w := sw.watcherAt(i)
		if w == nil {
			return
		}
		c := sw.clusters[i]
		objs, errs := c.LoadEncoded(ctx)
		if ctx.Err() != nil {
			return // serve is stopping: a load cut short declares nothing
		}
		ReportSourceErrors(sw.logger, errs)
		reportSources(c, sw.metrics, sw.notify)
		if err := w.Reload(objs); err != nil {
			sw.logger.Warn("reload sources", "cluster", c.Name(), "err", err)
		}
	}
}

// ReportSourceErrors logs bad input; the rest is watched.
func ReportSourceErrors(logger *slog.Logger, errs []source.Error) {
	for _, e := range errs {
		logger.Warn("bad input; the rest is watched, and what this file or folder declared when it last loaded is kept", "err", e.Error())
	}
}

// reportSources puts what the last load of c's sources found wrong, and
// kept, into /metrics and notifications (the API reads it from c).
func reportSources(c Cluster, m *metrics.Metrics, publish func(notify.SourceReport)) {
	p := c.SourceProblems()
	if m != nil {
		m.SourceErrors.WithLabelValues(c.Name()).Set(float64(len(p.Errors)))
		m.SourceKept.WithLabelValues(c.Name()).Set(float64(p.Kept))
	}
	if publish != nil {
		publish(notify.SourceReport{Cluster: c.Name(), Errors: p.Errors, KeptDeclarations: p.Kept})
	}
}

// withSources adds what the last load of c's sources found wrong to st.
func withSources(st event.Status, c Cluster) event.Status {
	p := c.SourceProblems()
	st.SourceErrors, st.KeptDeclarations = p.Errors, p.Kept
	return st
}

// watchReleaseStorage pokes now whenever Helm writes ref's storage (an
// install, upgrade or rollback), watching only the storage objects'
// metadata.
func watchReleaseStorage(ctx context.Context, c *cluster.Cluster, ref helmrelease.Ref, now chan<- struct{}) {
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
