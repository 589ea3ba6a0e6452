package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/kube-openapi/pkg/spec3"
)

// Options tune the connection.
type Options struct {
	// QPS is the client-side request rate limit. Default 100: plumb reads in
	// bulk and client-go's default of 5 would make a scan wait on itself.
	QPS float32
	// Burst is the client-side burst. Default 200.
	Burst int
	// WrapTransport, if set, wraps every HTTP transport the cluster's
	// clients use (discovery included), e.g. to count requests.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options { return Options{QPS: 100, Burst: 200} }

// Cluster is one API server, reached through a kubeconfig context.
type Cluster struct {
	// Name is the kubeconfig context's name.
	Name string
	// Namespace is where objects without a namespace go: -n, else the
	// context's namespace, else "default", as kubectl does.
	Namespace string
	// Config is the REST configuration, with Options applied.
	Config *rest.Config
	// Dynamic reads and dry-runs objects of any kind.
	Dynamic dynamic.Interface
	// Metadata reads and watches only the metadata of objects of any kind,
	// for kinds plumb needs no more of (unmanaged objects of undeclared
	// kinds): the server sends no spec, data or status.
	Metadata metadata.Interface
	// Mapper maps kinds to resources, from cached discovery.
	Mapper meta.ResettableRESTMapper

	discovery discovery.CachedDiscoveryInterface

	mu sync.Mutex
	// converters guards nothing else: one type converter per group-version,
	// built on first use from that group-version's OpenAPI v3 document.
	converters map[schema.GroupVersion]*converterEntry
}

type converterEntry struct {
	once sync.Once
	tc   managedfields.TypeConverter
	err  error
}

// ContextName returns the kubeconfig context getter selects: --context,
// else the current context.
func ContextName(getter genericclioptions.RESTClientGetter) (string, error) {
	raw, err := getter.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	if cf, ok := getter.(*genericclioptions.ConfigFlags); ok && cf.Context != nil && *cf.Context != "" {
		return *cf.Context, nil
	}
	return raw.CurrentContext, nil
}

// New connects to the cluster that getter describes (kubectl's flags).
func New(getter genericclioptions.RESTClientGetter, opts Options) (*Cluster, error) {
	loader := getter.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	name := raw.CurrentContext
	if cf, ok := getter.(*genericclioptions.ConfigFlags); ok {
		if cf.Context != nil && *cf.Context != "" {
			name = *cf.Context
		}
		if opts.WrapTransport != nil {
			prev := cf.WrapConfigFn
			cf.WrapConfigFn = func(c *rest.Config) *rest.Config {
				if prev != nil {
					c = prev(c)
				}
				c.Wrap(opts.WrapTransport)
				return c
			}
		}
	}
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("context %s: namespace: %w", name, err)
	}
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", name, err)
	}
	return NewForConfig(name, ns, cfg, getter, opts)
}

// NewForConfig connects with an explicit REST configuration. getter supplies
// the cached discovery client and RESTMapper; it may be nil, in which case
// discovery is cached in memory only.
func NewForConfig(name, namespace string, cfg *rest.Config, getter genericclioptions.RESTClientGetter, opts Options) (*Cluster, error) {
	def := DefaultOptions()
	if opts.QPS == 0 {
		opts.QPS = def.QPS
	}
	if opts.Burst == 0 {
		opts.Burst = def.Burst
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	if opts.WrapTransport != nil && getter == nil {
		cfg.Wrap(opts.WrapTransport)
	}
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	c := &Cluster{Name: name, Namespace: namespace, Config: cfg, converters: map[schema.GroupVersion]*converterEntry{}}
	var err error
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %s: %w", name, err)
	}
	if c.Metadata, err = metadata.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %s: %w", name, err)
	}
	if getter != nil {
		if c.discovery, err = getter.ToDiscoveryClient(); err != nil {
			return nil, fmt.Errorf("context %s: discovery: %w", name, err)
		}
	} else {
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("context %s: discovery: %w", name, err)
		}
		c.discovery = memory.NewMemCacheClient(dc)
	}
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(c.discovery)
	return c, nil
}

// Mapping resolves a kind to its resource, refreshing discovery once if the
// kind is unknown, so a CRD installed since the cache was filled is found.
func (c *Cluster) Mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil || !meta.IsNoMatchError(err) {
		return m, err
	}
	c.Mapper.Reset()
	c.discovery.Invalidate()
	return c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// ErrNoSchema is returned when the server publishes no OpenAPI schema for a
// group-version; callers fall back to schema-less comparison.
var ErrNoSchema = errors.New("no OpenAPI schema published")

// TypeConverter returns a converter to structured-merge-diff typed values for
// objects of group-version gv, built from the server's OpenAPI v3 document.
func (c *Cluster) TypeConverter(gv schema.GroupVersion) (managedfields.TypeConverter, error) {
	c.mu.Lock()
	e, ok := c.converters[gv]
	if !ok {
		e = &converterEntry{}
		c.converters[gv] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.tc, e.err = c.buildConverter(gv) })
	return e.tc, e.err
}

func (c *Cluster) buildConverter(gv schema.GroupVersion) (managedfields.TypeConverter, error) {
	paths, err := c.discovery.OpenAPIV3().Paths()
	if err != nil {
		return nil, fmt.Errorf("openapi v3 paths: %w", err)
	}
	key := "apis/" + gv.Group + "/" + gv.Version
	if gv.Group == "" {
		key = "api/" + gv.Version
	}
	p, ok := paths[key]
	if !ok {
		// A group-version served since the cache was filled (a CRD just
		// installed): ask the server directly, bypassing the disk cache
		// whose HTTP layer can still answer with the old document.
		c.discovery.Invalidate()
		direct, err := discovery.NewDiscoveryClientForConfig(c.Config)
		if err != nil {
			return nil, err
		}
		if paths, err = direct.OpenAPIV3().Paths(); err != nil {
			return nil, fmt.Errorf("openapi v3 paths: %w", err)
		}
		if p, ok = paths[key]; !ok {
			return nil, fmt.Errorf("%s: %w", gv, ErrNoSchema)
		}
	}
	// Clusters that serve the same document (same version, same CRDs) share
	// one converter: the URL carries a hash of the document's content.
	shared, _ := sharedConverters.LoadOrStore(p.ServerRelativeURL(), &converterEntry{})
	e := shared.(*converterEntry)
	e.once.Do(func() { e.tc, e.err = parseConverter(p, key) })
	return e.tc, e.err
}

// sharedConverters maps an OpenAPI v3 document's URL, hash included, to
// its converter, across every Cluster of the process (a fleet scan).
var sharedConverters sync.Map

func parseConverter(p openapi.GroupVersion, key string) (managedfields.TypeConverter, error) {
	doc, err := p.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("openapi v3 %s: %w", key, err)
	}
	var spec spec3.OpenAPI
	if err := json.Unmarshal(doc, &spec); err != nil {
		return nil, fmt.Errorf("openapi v3 %s: %w", key, err)
	}
	if spec.Components == nil {
		return nil, fmt.Errorf("%s: %w", key, ErrNoSchema)
	}
	markQuantities(spec.Components.Schemas)
	return managedfields.NewTypeConverter(spec.Components.Schemas, false)
}

// ServerVersion returns the API server's version string, e.g. "v1.37.2".
func (c *Cluster) ServerVersion() (string, error) {
	v, err := c.discovery.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

// List returns every object of resource gvr in namespace ns ("" for all
// namespaces or a cluster-scoped resource), reading in pages of 500.
func (c *Cluster) List(ctx context.Context, gvr schema.GroupVersionResource, ns string) ([]unstructured.Unstructured, error) {
	return c.ListSelected(ctx, gvr, ns, "")
}

// ListSelected is List for the objects whose labels match selector
// (kubectl's -l syntax; "" selects all).
func (c *Cluster) ListSelected(ctx context.Context, gvr schema.GroupVersionResource, ns, selector string) ([]unstructured.Unstructured, error) {
	var all []unstructured.Unstructured
	opts := metav1.ListOptions{Limit: 500, LabelSelector: selector}
	for {
		list, err := c.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		all = append(all, list.Items...)
		if list.GetContinue() == "" {
			return all, nil
		}
		opts.Continue = list.GetContinue()
	}
}
