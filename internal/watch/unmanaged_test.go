package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/metrics"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// What plumb serve --unmanaged reports beyond the declared kinds, driven
// here as serve drives a Watcher: its own engine, a history store, and
// Options.Unmanaged. The objects are testcluster's fixtures, which scan
// (package drift) is held to as well; that serve's flag reaches the
// watcher and its API lists the findings is package cli's.

// unmanagedWatch is a running watcher with Options.Unmanaged.
type unmanagedWatch struct {
	*Watcher
	stop func()
}

// loadEncoded loads the source at src for namespace ns as serve does.
func loadEncoded(t *testing.T, ns, src string) []source.Encoded {
	t.Helper()
	set := source.Load(context.Background(), []string{src}, source.Options{Namespace: ns})
	if len(set.Errors) > 0 {
		t.Fatalf("load %s: %v", src, set.Errors)
	}
	enc, errs := source.EncodeAll(set.Objects)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return enc
}

// watchUnmanaged watches the source at src in namespace ns of the cluster
// cfg reaches with opts and Unmanaged set, recording into st, until the
// test ends or stop; it returns once every watch has listed and what it
// found is recorded.
func watchUnmanaged(t *testing.T, cfg *rest.Config, ns, src string, st Store, opts Options) unmanagedWatch {
	t.Helper()
	c, err := cluster.NewForConfig("envtest", ns, cfg, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	opts.Unmanaged = true
	w := New("envtest", c, e, loadEncoded(t, ns, src), st, func(event.Event) {}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	testwait.For(t, 60*time.Second, "the first sync", w.Ready)
	return unmanagedWatch{Watcher: w, stop: stop}
}

// openStore opens a history store of the test's own.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "plumb.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// recorded returns the open findings in st, as serve's API lists them.
func recorded(t *testing.T, st *store.DB) []drift.Finding {
	t.Helper()
	fs, err := st.Findings(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]drift.Finding, len(fs))
	for i, f := range fs {
		out[i] = f.Finding
	}
	return out
}

// whoOf lists findings as "Kind/name:manager", the manager being the one
// that created the unmanaged object, sorted.
func whoOf(findings []drift.Finding) []string {
	var out []string
	for _, f := range findings {
		who := ""
		if len(f.Changes) == 1 {
			who = f.Changes[0].Manager
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

// requireOK fails the test unless the watcher's cluster is ok: a refused
// kind is no unreachable cluster.
func requireOK(t *testing.T, w unmanagedWatch) {
	t.Helper()
	if s := w.Status(); s.State != event.StateOK || s.Error != "" {
		t.Errorf("status %+v, want ok", s)
	}
}

// TestServeUnmanagedAcrossKinds watches the kinds no source declares
// metadata-only and reports what scan reports; objects created and deleted
// while it runs open and resolve findings, and the kind of a
// CustomResourceDefinition installed meanwhile is watched at once.
func TestServeUnmanagedAcrossKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := env.SeedUndeclaredKinds(t, ns)
	st := openStore(t)
	watchUnmanaged(t, env.Config, ns, src, st, DefaultOptions())
	names := func() []string { return whoOf(recorded(t, st)) }
	if diff := cmp.Diff(testcluster.UndeclaredKinds, names()); diff != "" {
		t.Fatalf("findings once ready (-want +got):\n%s", diff)
	}

	env.Kubectl(t, "", "-n", ns, "create", "rolebinding", "debug", "--role=debug-reader", "--user=alice")
	env.Kubectl(t, "", "-n", ns, "delete", "role", "debug-reader")
	// A controller adopting an object makes it the cluster's.
	env.Kubectl(t, "", "-n", ns, "patch", "serviceaccount", "ci-bot", "--type=merge", "-p",
		`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"app-settings","uid":"0b7c1a9e-3f61-4a44-9f0e-2b1f6d7c8e91","controller":true}]}}`)
	want := []string{"RoleBinding/debug:kubectl-create", "Secret/db-password:kubectl-create"}
	testwait.For(t, 5*time.Second, "the RoleBinding reported, the Role and the adopted ServiceAccount resolved", func() bool { return cmp.Equal(want, names()) })

	group := strings.ReplaceAll(ns, "-", "") + ".example.com"
	env.Kubectl(t, fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%[1]s
spec:
  group: %[1]s
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`, group), "apply", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "crd", "widgets."+group) })
	env.Kubectl(t, "", "wait", "--for=condition=Established", "crd/widgets."+group)
	env.Kubectl(t, fmt.Sprintf("apiVersion: %s/v1\nkind: Widget\nmetadata:\n  name: hand-made\nspec:\n  size: 3\n", group), "-n", ns, "create", "-f", "-")
	want = append(want, "Widget/hand-made:kubectl-create")
	// The CRD's events read discovery again: no resync is needed (the
	// default is 10 minutes).
	testwait.For(t, 5*time.Second, "the Widget of the new CRD reported", func() bool { return cmp.Equal(want, names()) })
}

// TestServeUnmanagedForbiddenKinds watches as a user who may read only some
// kinds: the kinds it may not list are skipped, not taken for an
// unreachable cluster, and the rest is reported.
func TestServeUnmanagedForbiddenKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := env.SeedUndeclaredKinds(t, ns)
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Reader(t, "some-kinds-"+ns, "configmaps,secrets,serviceaccounts"))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	w := watchUnmanaged(t, cfg, ns, src, st, DefaultOptions())
	if diff := cmp.Diff([]string{"Secret " + ns + "/db-password", "ServiceAccount " + ns + "/ci-bot"}, keysOf(recorded(t, st))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	requireOK(t, w)
}

// watchStarts reads the plumb_watch_starts_total counter of m.
func watchStarts(t *testing.T, m *metrics.Metrics) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "plumb_watch_starts_total" {
			for _, s := range f.GetMetric() {
				n += s.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestServeUnmanagedClusterWide: sources over more than 5 namespaces get
// one metadata-only watch per kind for the whole cluster instead of one
// per namespace and kind. It reports exactly what per-namespace watches
// would: nothing outside the sources' namespaces, nothing a watch of
// declared objects already reports, nothing the cluster made. When a
// reload brings the sources back to 5 namespaces, the watches go back to
// per namespace without resolving and reopening what stays. A restart in
// between finds the open findings as they were.
func TestServeUnmanagedClusterWide(t *testing.T) {
	namespaces, src := env.SeedSpread(t, 6)
	st := openStore(t)
	opts := DefaultOptions()
	opts.Metrics = metrics.New()
	w := watchUnmanaged(t, env.Config, "default", src, st, opts)
	names := func() []string { return keysOf(recorded(t, st)) }
	if diff := cmp.Diff(testcluster.WantSpread(namespaces), names()); diff != "" {
		t.Fatalf("findings once ready (-want +got):\n%s", diff)
	}
	// Per namespace, each of the 6 would have a watch for every kind the
	// server serves (24 here); cluster-wide there is one per kind, beside
	// the 7 watches of declared objects and the CRD watch.
	if wide := watchStarts(t, opts.Metrics); wide > 40 {
		t.Errorf("%v watches, want about 32: one per kind for the whole cluster", wide)
	}

	// Changes while it runs: one out of scope, then one in scope; a
	// deletion.
	other := env.Namespace(t)
	env.Kubectl(t, "", "-n", other, "create", "role", "late-elsewhere", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "-n", namespaces[4], "create", "role", "late", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "-n", namespaces[1], "delete", "role", "stray")
	want := append(testcluster.WantSpread(namespaces), "Role "+namespaces[4]+"/late")
	want = slices.DeleteFunc(want, func(s string) bool { return s == "Role "+namespaces[1]+"/stray" })
	sort.Strings(want)
	testwait.For(t, 5*time.Second, "the new Role reported and the deleted one resolved", func() bool { return cmp.Equal(want, names()) })
	events := func() (all, resolved int) {
		evs, err := st.Events(context.Background(), store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.ResolvedAt != nil {
				resolved++
			}
		}
		return len(evs), resolved
	}
	before, _ := events()

	// A restart finds the open findings where it left them.
	w.stop()
	opts.Metrics = metrics.New()
	w = watchUnmanaged(t, env.Config, "default", src, st, opts)
	if diff := cmp.Diff(want, names()); diff != "" {
		t.Errorf("findings after a restart (-want +got):\n%s", diff)
	}
	if after, _ := events(); after != before {
		t.Errorf("%d events after a restart, want the %d from before", after, before)
	}
	wide := watchStarts(t, opts.Metrics)

	// The last namespace leaves the sources: 5 remain, watched per
	// namespace again. Its Role is resolved; nothing else moves.
	if err := os.WriteFile(src, []byte(testcluster.SpreadSource(namespaces[:5])), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(loadEncoded(t, "default", src)); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(s string) bool { return s == "Role "+namespaces[5]+"/stray" })
	testwait.For(t, 10*time.Second, "the Role of the namespace that left resolved", func() bool { return cmp.Equal(want, names()) })
	time.Sleep(2 * time.Second) // the per-namespace watches list what the cluster-wide ones had reported
	if diff := cmp.Diff(want, names()); diff != "" {
		t.Errorf("findings after going back to per-namespace watches (-want +got):\n%s", diff)
	}
	if got := watchStarts(t, opts.Metrics) - wide; got < 5*20 {
		t.Errorf("%v watches started after the reload, want one per kind in each of the 5 namespaces", got)
	}
	if all, resolved := events(); all != len(want)+2 || resolved != 2 {
		t.Errorf("%d events, %d resolved; want %d, 2 resolved (the deleted Role and the one out of scope): the switch must not resolve and reopen", all, resolved, len(want)+2)
	}
}

// TestServeUnmanagedClusterWideRefused watches as a user who may read only
// in the sources' namespaces: the cluster-wide watches are refused, and
// each namespace is watched instead and reports the same.
func TestServeUnmanagedClusterWideRefused(t *testing.T) {
	namespaces, src := env.SeedSpread(t, 6)
	cfg, err := clientcmd.BuildConfigFromFlags("", env.NamespacedUser(t, namespaces))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	w := watchUnmanaged(t, cfg, "default", src, st, DefaultOptions())
	names := func() []string { return keysOf(recorded(t, st)) }
	if diff := cmp.Diff(testcluster.WantSpread(namespaces), names()); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	requireOK(t, w)
	env.Kubectl(t, "", "-n", namespaces[3], "create", "role", "late", "--verb=get", "--resource=pods")
	want := append(testcluster.WantSpread(namespaces), "Role "+namespaces[3]+"/late")
	sort.Strings(want)
	testwait.For(t, 5*time.Second, "the new Role reported", func() bool { return cmp.Equal(want, names()) })
}

// TestUnmanagedLeavesOutTheControlPlane watches default and kube-system of
// a control plane of its own, with unmanaged objects of every kind (see
// testcluster's SeedControlPlane): what kube-apiserver made at start and
// what the kube-controller-manager would make are not reported; the
// ConfigMaps and the Role a person made are.
func TestUnmanagedLeavesOutTheControlPlane(t *testing.T) {
	fresh, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Stop() })
	src, want := fresh.SeedControlPlane(t)
	st := openStore(t)
	watchUnmanaged(t, fresh.Config, "default", src, st, DefaultOptions())
	if diff := cmp.Diff(want, keysOf(recorded(t, st))); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
