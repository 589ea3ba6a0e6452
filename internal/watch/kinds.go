package watch

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiwatch "k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
)

// crds is the resource whose changes add and remove kinds.
var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// watchKinds keeps the metadata-only watches (Unmanaged) in step with the
// kinds the cluster serves: every change to a CustomResourceDefinition
// (created, established, deleted) reads discovery again, so an object of a
// kind installed a moment ago is found within a second, not at the next
// resync. An identity that may not watch CRDs relies on the resync alone.
// It returns when ctx ends.
func (w *Watcher) watchKinds(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	res := w.cluster.Metadata.Resource(crds)
	refused := func(err error) bool {
		if !cluster.IsRefused(err) {
			return false
		}
		w.opts.Logger.Warn("CustomResourceDefinitions not watched; new kinds are found at the next resync", "cluster", w.name, "err", err.Error())
		cancel()
		return true
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			// Only the resourceVersion matters: discovery says what is served.
			o.Limit = 1
			l, err := res.List(ctx, o)
			if err != nil {
				refused(err)
				return nil, err
			}
			return &metav1.PartialObjectMetadataList{ListMeta: metav1.ListMeta{ResourceVersion: l.ResourceVersion}}, nil
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (apiwatch.Interface, error) {
			wi, err := res.Watch(ctx, o)
			if err != nil {
				refused(err)
			}
			if w.opts.Metrics != nil {
				w.opts.Metrics.WatchStarts.WithLabelValues(w.name).Inc()
			}
			return wi, err
		},
	}
	r := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, noWatchList{}), &metav1.PartialObjectMetadata{},
		&kindStore{changed: changed}, cache.ReflectorOptions{Name: fmt.Sprintf("%s %s", w.name, crds)})
	w.wg.Add(1)
	go func() { defer w.wg.Done(); r.RunWithContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		// A burst of changes (a chart installing ten CRDs) is read once.
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		w.discover()
		w.mu.Lock()
		w.setMeta()
		w.mu.Unlock()
	}
}

// kindStore signals every CRD event; it keeps nothing. The first list is
// not a change (discovery was read at start); a relist after an outage is,
// since CRDs may have come and gone meanwhile.
type kindStore struct {
	changed chan struct{}
	listed  bool
}

var _ cache.ReflectorStore = (*kindStore)(nil)

func (s *kindStore) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *kindStore) Add(any) error    { s.signal(); return nil }
func (s *kindStore) Update(any) error { s.signal(); return nil }
func (s *kindStore) Delete(any) error { s.signal(); return nil }
func (s *kindStore) Resync() error    { return nil }

func (s *kindStore) Replace([]any, string) error {
	if s.listed {
		s.signal()
	}
	s.listed = true
	return nil
}

// discover reads which resources the cluster serves, for Unmanaged. A
// failure is logged: the resources found so far are kept, and the next
// resync tries again.
func (w *Watcher) discover() {
	if !w.opts.Unmanaged {
		return
	}
	served, err := w.cluster.WatchableNamespaced()
	if err != nil {
		w.opts.Logger.Warn("some kinds not watched for unmanaged objects; retrying at the next resync", "cluster", w.name, "err", err)
		if served == nil {
			return
		}
	}
	w.mu.Lock()
	w.served = drift.UnmanagedResources(served)
	w.mu.Unlock()
}
