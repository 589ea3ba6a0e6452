// Package helmrelease reads what a live Helm release declares: the
// manifest of its latest deployed revision, from Helm's own storage in the
// cluster (Secrets by default, ConfigMaps too), through the Helm v4 SDK.
//
// It must not render charts or contact anything but the release's
// namespace: a release source is what Helm last deployed, not what a chart
// would render today.
package helmrelease

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	rspb "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Prefix marks a source given as a live Helm release.
const Prefix = "helm:"

// Storage drivers a release can be read from, as Helm names them.
const (
	Secrets    = "secret"
	ConfigMaps = "configmap"
)

// Ref names a release.
type Ref struct {
	Namespace, Name string
	// Driver is Secrets or ConfigMaps; "" means $HELM_DRIVER when set,
	// else Secrets, as helm does.
	Driver string
}

// Is reports whether spec names a live Helm release.
func Is(spec string) bool { return strings.HasPrefix(spec, Prefix) }

// Parse reads helm:NAMESPACE/NAME[?driver=secret|configmap].
func Parse(spec string) (Ref, error) {
	if !Is(spec) {
		return Ref{}, fmt.Errorf("%s: not a Helm release (want helm:NAMESPACE/NAME)", spec)
	}
	body, query, _ := strings.Cut(strings.TrimPrefix(spec, Prefix), "?")
	ns, name, ok := strings.Cut(body, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("%s: want helm:NAMESPACE/NAME", spec)
	}
	r := Ref{Namespace: ns, Name: name}
	q, err := url.ParseQuery(query)
	if err != nil {
		return Ref{}, fmt.Errorf("%s: %w", spec, err)
	}
	for k, v := range q {
		if k != "driver" {
			return Ref{}, fmt.Errorf("%s: unknown parameter %q (only driver is known)", spec, k)
		}
		r.Driver = v[len(v)-1]
	}
	if r.Driver != "" {
		if r.Driver, err = driverName(r.Driver); err != nil {
			return Ref{}, fmt.Errorf("%s: %w", spec, err)
		}
	}
	return r, nil
}

// String writes r back as a source.
func (r Ref) String() string {
	s := Prefix + r.Namespace + "/" + r.Name
	if r.Driver != "" {
		s += "?driver=" + r.Driver
	}
	return s
}

// driverName accepts Helm's spellings of the two Kubernetes storage drivers.
func driverName(d string) (string, error) {
	switch strings.ToLower(d) {
	case "", "secret", "secrets":
		return Secrets, nil
	case "configmap", "configmaps":
		return ConfigMaps, nil
	}
	return "", fmt.Errorf("unsupported Helm storage driver %q (want secret or configmap)", d)
}

// Release is what a release's latest deployed revision declares.
type Release struct {
	Ref
	// Revision is the deployed revision's number.
	Revision int
	// Chart is "name-version".
	Chart string
	// Manifest is the rendered manifest Helm applied (hooks excluded), as
	// `helm get manifest` prints it.
	Manifest string
}

// Reader reads releases from one cluster.
type Reader struct {
	client kubernetes.Interface
}

// NewReader reads releases through cfg.
func NewReader(cfg *rest.Config) (*Reader, error) {
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Reader{client: c}, nil
}

// StorageDriver is the driver r is read with: Driver, else $HELM_DRIVER,
// else Secrets. An unknown $HELM_DRIVER reads as Secrets here; Deployed
// reports it.
func (r Ref) StorageDriver() string {
	if r.Driver != "" {
		return r.Driver
	}
	d, _ := driverName(os.Getenv("HELM_DRIVER"))
	if d == "" {
		return Secrets
	}
	return d
}

// Deployed returns the latest deployed revision of r. Errors name the
// release and say what failed: no such release, no deployed revision, or
// the storage cannot be read.
func (rd *Reader) Deployed(r Ref) (Release, error) {
	if rd == nil {
		return Release{}, fmt.Errorf("%s: a Helm release is read from a cluster, and none is connected here", r)
	}
	name := r.Driver
	if name == "" {
		var err error
		if name, err = driverName(os.Getenv("HELM_DRIVER")); err != nil {
			return Release{}, fmt.Errorf("%s: $HELM_DRIVER: %w", r, err)
		}
	}
	var d driver.Driver
	if name == ConfigMaps {
		d = driver.NewConfigMaps(rd.client.CoreV1().ConfigMaps(r.Namespace))
	} else {
		d = driver.NewSecrets(rd.client.CoreV1().Secrets(r.Namespace))
	}
	st := storage.Init(d)
	rel, err := st.Deployed(r.Name)
	if errors.Is(err, driver.ErrNoDeployedReleases) {
		// Helm says the same when there is no release at all: tell the two apart.
		if _, herr := st.History(r.Name); errors.Is(herr, driver.ErrReleaseNotFound) {
			return Release{}, fmt.Errorf("%s: no release %q in namespace %s (Helm storage: %ss)", r, r.Name, r.Namespace, name)
		}
		return Release{}, fmt.Errorf("%s: release %q has no deployed revision", r, r.Name)
	}
	if err != nil {
		return Release{}, fmt.Errorf("%s: read Helm storage: %w", r, err)
	}
	v1, ok := rel.(*rspb.Release)
	if !ok {
		return Release{}, fmt.Errorf("%s: unsupported Helm release type %T", r, rel)
	}
	out := Release{Ref: r, Revision: v1.Version, Manifest: v1.Manifest}
	if v1.Chart != nil && v1.Chart.Metadata != nil {
		out.Chart = v1.Chart.Metadata.Name + "-" + v1.Chart.Metadata.Version
	}
	return out, nil
}
