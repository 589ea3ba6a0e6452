package drift_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/testcluster"
)

// What plumb scan --unmanaged finds beyond the declared kinds. The objects
// are testcluster's fixtures, which serve (package watch) is held to as
// well; what the command prints of them is package cli's.

// unmanagedOptions are the options plumb scan --unmanaged scans with.
func unmanagedOptions() drift.Options {
	opts := drift.DefaultOptions()
	opts.Unmanaged, opts.UnmanagedAllKinds = true, true
	return opts
}

// scanOn scans the source at src in namespace ns of the cluster cfg
// reaches, with opts; wrap, if set, wraps every request. Errors fail the
// test.
func scanOn(t *testing.T, cfg *rest.Config, ns, src string, opts drift.Options, wrap func(http.RoundTripper) http.RoundTripper) drift.Result {
	t.Helper()
	copts := cluster.DefaultOptions()
	copts.WrapTransport = wrap
	c, err := cluster.NewForConfig("envtest", ns, cfg, nil, copts)
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Scan(t.Context(), load(t, appAt(ns, src)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("scan errors: %v", r.Errors)
	}
	return r
}

// whoOf lists findings as "Kind/name:manager", the manager being the one
// that created the unmanaged object (its state, for a finding that is not
// unmanaged), sorted.
func whoOf(findings []drift.Finding) []string {
	var out []string
	for _, f := range findings {
		who := ""
		if len(f.Changes) == 1 {
			who = f.Changes[0].Manager
		}
		if f.State != drift.StateUnmanaged {
			who = string(f.State)
		}
		out = append(out, f.Kind+"/"+f.Name+":"+who)
	}
	sort.Strings(out)
	return out
}

// keysOf lists findings as "Kind namespace/name", with the state after it
// for one that is not unmanaged, sorted.
func keysOf(findings []drift.Finding) []string {
	var out []string
	for _, f := range findings {
		s := f.Kind + " " + f.Namespace + "/" + f.Name
		if f.State != drift.StateUnmanaged {
			s += " " + string(f.State)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// TestScanUnmanagedAcrossKinds finds unmanaged objects of kinds no source
// declares, from their metadata alone, and leaves out what the cluster
// made, the kinds nobody declares, and other namespaces. Of the 4 live
// objects in scope, the one declared is covered. The Secret's value is
// never read, so no finding can show it.
func TestScanUnmanagedAcrossKinds(t *testing.T) {
	t.Parallel()
	env := drift.SharedEnv()
	ns := env.Namespace(t)
	a := appAt(ns, env.SeedUndeclaredKinds(t, ns))
	requireInSync(t, a, drift.DefaultOptions())

	r := scanWith(t, a, unmanagedOptions())
	if diff := cmp.Diff(testcluster.UndeclaredKinds, whoOf(r.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if !r.UnmanagedChecked || r.Managed != 1 || r.Unmanaged != 3 {
		t.Errorf("unmanaged checked %v, %d managed, %d unmanaged; want checked, 1 managed and 3 unmanaged (a coverage of 0.25)", r.UnmanagedChecked, r.Managed, r.Unmanaged)
	}
	b, err := json.Marshal(r.Findings)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{testcluster.SecretValue, base64.StdEncoding.EncodeToString([]byte(testcluster.SecretValue))} {
		if strings.Contains(string(b), v) {
			t.Errorf("the findings show the Secret's value:\n%s", b)
		}
	}
}

// requests records the path and query of every request made through the
// transports it wraps.
type requests struct {
	mu   sync.Mutex
	uris []string
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (q *requests) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		q.mu.Lock()
		q.uris = append(q.uris, r.URL.RequestURI())
		q.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

func (q *requests) list() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.uris)
}

// TestScanUnmanagedClusterWide: over more than 5 namespaces, a scan for
// unmanaged objects lists each other kind once for the whole cluster and
// reports what it reports listing each namespace; an identity bound only in
// the sources' namespaces is refused the cluster-wide lists, and the scan
// lists each namespace instead, saying so, with the same result.
func TestScanUnmanagedClusterWide(t *testing.T) {
	t.Parallel()
	env := drift.SharedEnv()
	namespaces, src := env.SeedSpread(t, 6)
	want := testcluster.WantSpread(namespaces)

	var wide requests
	r := scanOn(t, env.Config, namespaces[0], src, unmanagedOptions(), wide.wrap)
	if diff := cmp.Diff(want, keysOf(r.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	perNamespace := "/apis/rbac.authorization.k8s.io/v1/namespaces/" + namespaces[1] + "/roles"
	listedIn := func(uris []string, prefix string) bool {
		return slices.ContainsFunc(uris, func(u string) bool { return strings.HasPrefix(u, prefix) })
	}
	if got := wide.list(); !slices.Contains(got, "/apis/rbac.authorization.k8s.io/v1/roles?limit=500") || listedIn(got, perNamespace) {
		t.Errorf("Roles were not listed once for the whole cluster:\n%s", strings.Join(got, "\n"))
	}

	opts := unmanagedOptions()
	opts.UnmanagedClusterWideAfter = -1
	var narrow requests
	r = scanOn(t, env.Config, namespaces[0], src, opts, narrow.wrap)
	if diff := cmp.Diff(want, keysOf(r.Findings)); diff != "" {
		t.Errorf("findings listing each namespace (-want +got):\n%s", diff)
	}
	if got := narrow.list(); !listedIn(got, perNamespace) {
		t.Errorf("Roles were not listed in each namespace:\n%s", strings.Join(got, "\n"))
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", env.NamespacedUser(t, namespaces))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	opts = unmanagedOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	r = scanOn(t, cfg, namespaces[0], src, opts, nil)
	if diff := cmp.Diff(want, keysOf(r.Findings)); diff != "" {
		t.Errorf("findings as a namespaced user (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "not listed cluster-wide for unmanaged objects; listing each namespace instead") {
		t.Errorf("the namespaced user's scan did not try the cluster-wide list first:\n%s", log.String())
	}
}

// TestUnmanagedLeavesOutTheControlPlane scans default and kube-system of a
// control plane of its own, with unmanaged objects of every kind (see
// testcluster's SeedControlPlane): what kube-apiserver made at start and
// what the kube-controller-manager would make are nobody's to declare, so
// they are neither reported nor counted against the coverage; the
// ConfigMaps and the Role a person made are reported.
func TestUnmanagedLeavesOutTheControlPlane(t *testing.T) {
	t.Parallel()
	fresh, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Stop() })
	src, want := fresh.SeedControlPlane(t)
	for _, ns := range []string{"default", "kube-system"} {
		r := scanOn(t, fresh.Config, ns, src, unmanagedOptions(), nil)
		if diff := cmp.Diff(want, keysOf(r.Findings)); diff != "" {
			t.Errorf("-n %s (-want +got):\n%s", ns, diff)
		}
		if r.Managed != 2 || r.Unmanaged != 3 {
			t.Errorf("-n %s: %d managed, %d unmanaged; want 2 and 3 (a coverage of 0.4)", ns, r.Managed, r.Unmanaged)
		}
	}
}
