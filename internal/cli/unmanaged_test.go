package cli

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// secretValue is the value of the Secret seedUndeclaredKinds creates; no
// output may contain it.
const secretValue = "hunter2-not-a-real-password"

// seedUndeclaredKinds applies a source that declares one ConfigMap in ns
// and creates, around it, objects of kinds the source does not declare:
// three that nobody declared (a Secret, a Role and a ServiceAccount), and
// four that the cluster made or that are never reported (a Lease, a
// PersistentVolumeClaim the kube-controller-manager created for a
// StatefulSet, a ReplicaSet a Deployment controls, an Event). A Role in
// another namespace is out of scope. It returns the source's folder.
func seedUndeclaredKinds(t *testing.T, ns string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "settings.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  mode: fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := func(stdin string, args ...string) { env.Kubectl(t, stdin, append([]string{"-n", ns}, args...)...) }
	k("", "apply", "--server-side", "-f", src)
	k("", "create", "secret", "generic", "db-password", "--from-literal=password="+secretValue)
	k("", "create", "role", "debug-reader", "--verb=get", "--resource=pods")
	k("", "create", "serviceaccount", "ci-bot")
	k(`apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: operator-leader
spec:
  holderIdentity: operator-0
`, "create", "-f", "-")
	k(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data-db-0
  labels: {app: db}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`, "create", "--field-manager=kube-controller-manager", "-f", "-")
	k(ownedReplicaSet, "create", "-f", "-")
	k(`apiVersion: v1
kind: Event
metadata:
  name: web.1
involvedObject: {kind: Pod, name: web, namespace: `+ns+`}
reason: Started
message: started
`, "create", "-f", "-")
	other := env.Namespace(t)
	env.Kubectl(t, "", "-n", other, "create", "role", "elsewhere", "--verb=get", "--resource=pods")
	return dir
}

// ownedReplicaSet is a ReplicaSet a Deployment controls: the cluster's,
// never reported as unmanaged.
const ownedReplicaSet = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: 0b7c1a9e-3f61-4a44-9f0e-2b1f6d7c8e90, controller: true}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`

// wantUndeclared is what scan and serve report of seedUndeclaredKinds:
// kind/name and the manager that created the object. kubectl create
// serviceaccount sets no field, so the server records no manager for it.
var wantUndeclared = []string{
	"Role/debug-reader:kubectl-create",
	"Secret/db-password:kubectl-create",
	"ServiceAccount/ci-bot:",
}

// TestScanUnmanagedAcrossKinds finds unmanaged objects of kinds no source
// declares, from their metadata alone, and leaves out what the cluster
// made, the kinds nobody declares, and other namespaces. The Secret's
// value is never read, so no output can show it.
func TestScanUnmanagedAcrossKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := seedUndeclaredKinds(t, ns)
	requireInSync(t, ns, "--source", src)

	code, r, stderr := scanJSON(t, ns, "--source", src, "--unmanaged")
	var got []string
	for _, f := range r.Findings {
		who := ""
		if len(f.Changes) == 1 {
			who = f.Changes[0].Manager
		}
		if f.State != "unmanaged" {
			who = string(f.State)
		}
		got = append(got, f.Kind+"/"+f.Name+":"+who)
	}
	sort.Strings(got)
	if diff := cmp.Diff(wantUndeclared, got); code != ExitDrift || diff != "" {
		t.Errorf("exit %d, findings (-want +got):\n%s\nstderr: %s", code, diff, stderr)
	}
	if s := r.Summary; s.Unmanaged != 3 || s.Coverage == nil || *s.Coverage != 0.25 {
		t.Errorf("summary = %+v, want 3 unmanaged and a coverage of 0.25", s)
	}
	for _, format := range []string{"json", "yaml", "table", "markdown"} {
		_, out, errOut := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", src, "--unmanaged", "-o", format)
		if strings.Contains(out+errOut, secretValue) || strings.Contains(out+errOut, base64.StdEncoding.EncodeToString([]byte(secretValue))) {
			t.Errorf("-o %s shows the Secret's value", format)
		}
	}
}

// TestServeUnmanagedAcrossKinds watches the kinds no source declares
// metadata-only and reports what scan reports; objects created and deleted
// while it runs open and resolve findings, and the kind of a
// CustomResourceDefinition installed meanwhile is watched at once.
func TestServeUnmanagedAcrossKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := seedUndeclaredKinds(t, ns)
	base, _ := startServe(t, "-n", ns, "--source", src, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))
	names := func() []string {
		var out []string
		for _, f := range findingsOf(t, base) {
			who := ""
			if len(f.Changes) == 1 {
				who = f.Changes[0].Manager
			}
			out = append(out, f.Kind+"/"+f.Name+":"+who)
		}
		sort.Strings(out)
		return out
	}
	if diff := cmp.Diff(wantUndeclared, names()); diff != "" {
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

// TestServeUnmanagedForbiddenKinds serves as a user who may read only some
// kinds: the kinds it may not list are skipped, not taken for an
// unreachable cluster, and the rest is reported.
func TestServeUnmanagedForbiddenKinds(t *testing.T) {
	ns := env.Namespace(t)
	src := seedUndeclaredKinds(t, ns)
	user := "some-kinds-" + ns
	env.Kubectl(t, "", "create", "clusterrole", user, "--verb=get,list,watch", "--resource=configmaps,secrets,serviceaccounts")
	env.Kubectl(t, "", "create", "clusterrolebinding", user, "--clusterrole="+user, "--user="+user)
	kubeconfig := env.User(t, user)

	base, _ := startServe(t, "--kubeconfig", kubeconfig, "-n", ns, "--source", src, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))
	var got []string
	for _, f := range findingsOf(t, base) {
		got = append(got, f.Kind+"/"+f.Name)
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{"Secret/db-password", "ServiceAccount/ci-bot"}, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	requireOneClusterOK(t, base)
}

// spreadSource declares a ConfigMap in each of namespaces, and in the
// first one also the Role "declared".
func spreadSource(namespaces []string) string {
	var b strings.Builder
	for _, ns := range namespaces {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: %s\ndata:\n  mode: fast\n", ns)
	}
	fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: declared\n  namespace: %s\nrules: []\n", namespaces[0])
	return b.String()
}

// seedSpread applies spreadSource over n new namespaces and creates, in
// each but the first, a Role "stray" nobody declared; in the first an
// undeclared Role "extra" beside the declared one; a Secret in the third; a
// ReplicaSet a Deployment controls in the second (never reported); and a
// Role in a namespace no source touches (out of scope). It returns the
// namespaces and the source file.
func seedSpread(t *testing.T, n int) ([]string, string) {
	t.Helper()
	namespaces := make([]string, n)
	for i := range namespaces {
		namespaces[i] = env.Namespace(t)
	}
	src := writeTemp(t, spreadSource(namespaces))
	env.Kubectl(t, "", "apply", "--server-side", "-f", src)
	for _, ns := range namespaces[1:] {
		env.Kubectl(t, "", "-n", ns, "create", "role", "stray", "--verb=get", "--resource=pods")
	}
	env.Kubectl(t, "", "-n", namespaces[0], "create", "role", "extra", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "-n", namespaces[2], "create", "secret", "generic", "token", "--from-literal=token="+secretValue)
	env.Kubectl(t, ownedReplicaSet, "-n", namespaces[1], "create", "-f", "-")
	env.Kubectl(t, "", "-n", env.Namespace(t), "create", "role", "elsewhere", "--verb=get", "--resource=pods")
	return namespaces, src
}

// wantSpread is what serve reports of seedSpread over namespaces: each
// finding as Kind namespace/name.
func wantSpread(namespaces []string) []string {
	want := []string{"Role " + namespaces[0] + "/extra", "Secret " + namespaces[2] + "/token"}
	for _, ns := range namespaces[1:] {
		want = append(want, "Role "+ns+"/stray")
	}
	sort.Strings(want)
	return want
}

func findingNames(t *testing.T, base string) []string {
	t.Helper()
	var out []string
	for _, f := range findingsOf(t, base) {
		s := f.Kind + " " + f.Namespace + "/" + f.Name
		if f.State != "unmanaged" {
			s += " " + string(f.State)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
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
	namespaces, src := seedSpread(t, 6)
	db := filepath.Join(t.TempDir(), "plumb.db")
	base, stop := startServe(t, "--source", src, "--unmanaged", "--store", db)
	if diff := cmp.Diff(wantSpread(namespaces), findingNames(t, base)); diff != "" {
		t.Fatalf("findings once ready (-want +got):\n%s", diff)
	}
	// Per namespace, each of the 6 would have a watch for every kind the
	// server serves (24 here); cluster-wide there is one per kind, beside
	// the 7 watches of declared objects and the CRD watch.
	wide := metricValue(t, base, "plumb_watch_starts_total", nil)
	if wide > 40 {
		t.Errorf("%v watches, want about 32: one per kind for the whole cluster", wide)
	}

	// Changes while it runs: one out of scope, then one in scope; a
	// deletion.
	other := env.Namespace(t)
	env.Kubectl(t, "", "-n", other, "create", "role", "late-elsewhere", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "-n", namespaces[4], "create", "role", "late", "--verb=get", "--resource=pods")
	env.Kubectl(t, "", "-n", namespaces[1], "delete", "role", "stray")
	want := append(wantSpread(namespaces), "Role "+namespaces[4]+"/late")
	want = slices.DeleteFunc(want, func(s string) bool { return s == "Role "+namespaces[1]+"/stray" })
	sort.Strings(want)
	testwait.For(t, 5*time.Second, "the new Role reported and the deleted one resolved", func() bool { return cmp.Equal(want, findingNames(t, base)) })
	events := func() (all, resolved int) {
		var ev struct{ Items []store.Event }
		getJSON(t, base+"/api/v1/events", &ev)
		for _, e := range ev.Items {
			if e.ResolvedAt != nil {
				resolved++
			}
		}
		return len(ev.Items), resolved
	}
	before, _ := events()

	// A restart finds the open findings where it left them.
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	base, _ = startServe(t, "--source", src, "--unmanaged", "--store", db)
	if diff := cmp.Diff(want, findingNames(t, base)); diff != "" {
		t.Errorf("findings after a restart (-want +got):\n%s", diff)
	}
	if after, _ := events(); after != before {
		t.Errorf("%d events after a restart, want the %d from before", after, before)
	}
	wide = metricValue(t, base, "plumb_watch_starts_total", nil)

	// The last namespace leaves the sources: 5 remain, watched per
	// namespace again. Its Role is resolved; nothing else moves.
	if err := os.WriteFile(src, []byte(spreadSource(namespaces[:5])), 0o644); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(want, func(s string) bool { return s == "Role "+namespaces[5]+"/stray" })
	testwait.For(t, 10*time.Second, "the Role of the namespace that left resolved", func() bool { return cmp.Equal(want, findingNames(t, base)) })
	time.Sleep(2 * time.Second) // the per-namespace watches list what the cluster-wide ones had reported
	if diff := cmp.Diff(want, findingNames(t, base)); diff != "" {
		t.Errorf("findings after going back to per-namespace watches (-want +got):\n%s", diff)
	}
	if got := metricValue(t, base, "plumb_watch_starts_total", nil) - wide; got < 5*20 {
		t.Errorf("%v watches started after the reload, want one per kind in each of the 5 namespaces", got)
	}
	if all, resolved := events(); all != len(want)+2 || resolved != 2 {
		t.Errorf("%d events, %d resolved; want %d, 2 resolved (the deleted Role and the one out of scope): the switch must not resolve and reopen", all, resolved, len(want)+2)
	}
}

// TestServeUnmanagedClusterWideRefused serves as a user who may read only
// in the sources' namespaces: the cluster-wide watches are refused, and
// plumb watches each namespace instead and reports the same.
func TestServeUnmanagedClusterWideRefused(t *testing.T) {
	namespaces, src := seedSpread(t, 6)
	kubeconfig := namespacedUser(t, namespaces)
	base, _ := startServe(t, "--kubeconfig", kubeconfig, "--source", src, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))
	if diff := cmp.Diff(wantSpread(namespaces), findingNames(t, base)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	requireOneClusterOK(t, base)
	env.Kubectl(t, "", "-n", namespaces[3], "create", "role", "late", "--verb=get", "--resource=pods")
	want := append(wantSpread(namespaces), "Role "+namespaces[3]+"/late")
	sort.Strings(want)
	testwait.For(t, 5*time.Second, "the new Role reported", func() bool { return cmp.Equal(want, findingNames(t, base)) })
}

// requireOneClusterOK checks that serve at base shows one cluster, ok: a
// refused kind is no unreachable cluster.
func requireOneClusterOK(t *testing.T, base string) {
	t.Helper()
	var clusters struct {
		Items []struct{ Status, Error string }
	}
	getJSON(t, base+"/api/v1/clusters", &clusters)
	if len(clusters.Items) != 1 || clusters.Items[0].Status != "ok" {
		t.Errorf("clusters = %+v, want one, ok", clusters.Items)
	}
}

// scanFindingNames runs plumb scan --unmanaged -o json with args and
// returns its findings as findingNames does, with its stderr.
func scanFindingNames(t *testing.T, ns string, args ...string) ([]string, string) {
	t.Helper()
	code, r, stderr := scanJSON(t, ns, append([]string{"--unmanaged"}, args...)...)
	if code != ExitDrift {
		t.Fatalf("plumb scan --unmanaged: exit %d, want %d\n%s", code, ExitDrift, stderr)
	}
	var out []string
	for _, f := range r.Findings {
		s := f.Kind + " " + f.Namespace + "/" + f.Name
		if f.State != "unmanaged" {
			s += " " + string(f.State)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, stderr
}

// TestScanUnmanagedClusterWide: over more than 5 namespaces, plumb scan
// --unmanaged lists each other kind once for the whole cluster and reports
// what it reports listing each namespace; an identity bound only in the
// sources' namespaces is refused the cluster-wide lists, and plumb lists
// each namespace instead, with the same result.
func TestScanUnmanagedClusterWide(t *testing.T) {
	namespaces, src := seedSpread(t, 6)
	want := wantSpread(namespaces)
	// -v 6 logs every request, as in kubectl.
	got, stderr := scanFindingNames(t, namespaces[0], "--source", src, "-v", "6")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, `/apis/rbac.authorization.k8s.io/v1/roles?limit=500"`) || strings.Contains(stderr, "/namespaces/"+namespaces[1]+"/roles") {
		t.Errorf("Roles were not listed once for the whole cluster:\n%s", stderr)
	}
	got, _ = scanFindingNames(t, namespaces[0], "--source", src, "--unmanaged-cluster-wide-after=-1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings listing each namespace (-want +got):\n%s", diff)
	}

	kubeconfig := namespacedUser(t, namespaces)
	got, stderr = scanFindingNames(t, namespaces[0], "--kubeconfig", kubeconfig, "--source", src, "-v", "1")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings as a namespaced user (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "not listed cluster-wide for unmanaged objects; listing each namespace instead") {
		t.Errorf("the namespaced user's scan did not try the cluster-wide list first:\n%s", stderr)
	}
}

// namespacedUser returns the kubeconfig of a user who may read ConfigMaps,
// Roles, Secrets and ReplicaSets in namespaces only, through a RoleBinding
// in each.
func namespacedUser(t *testing.T, namespaces []string) string {
	t.Helper()
	user := "namespaced-" + namespaces[0]
	env.Kubectl(t, "", "create", "clusterrole", user, "--verb=get,list,watch", "--resource=configmaps,roles,secrets,replicasets")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "clusterrole", user) })
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "create", "rolebinding", user, "--clusterrole="+user, "--user="+user)
	}
	return env.User(t, user)
}

// TestUnmanagedLeavesOutTheControlPlane scans and serves default and
// kube-system of a control plane of its own, with unmanaged objects of
// every kind. What kube-apiserver made at start (the kubernetes Service,
// bootstrap Roles and RoleBindings, its kube-system ConfigMaps, its
// identity Lease) and what the kube-controller-manager would make
// (kube-root-ca.crt and the default ServiceAccount; envtest runs no
// controllers, so the test writes them as any client would) are nobody's
// to declare: neither command reports them or counts them against the
// coverage. A ConfigMap and a Role a person made are reported.
func TestUnmanagedLeavesOutTheControlPlane(t *testing.T) {
	fresh, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Stop() })
	src := writeTemp(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: default}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: kube-system}
data: {mode: fast}
`)
	fresh.Kubectl(t, "", "apply", "--server-side", "-f", src)
	for _, ns := range []string{"default", "kube-system"} {
		fresh.Kubectl(t, "", "-n", ns, "create", "serviceaccount", "default")
		fresh.Kubectl(t, "", "-n", ns, "create", "configmap", "kube-root-ca.crt", "--from-literal=ca.crt=not-a-cert")
		fresh.Kubectl(t, "", "-n", ns, "create", "configmap", "hand-made", "--from-literal=mode=fast")
	}
	fresh.Kubectl(t, "", "-n", "kube-system", "create", "role", "hand-made", "--verb=get", "--resource=pods")
	want := []string{"ConfigMap default/hand-made", "ConfigMap kube-system/hand-made", "Role kube-system/hand-made"}
	elsewhere := []string{"--kubeconfig", fresh.Kubeconfig} // after env's: the last one counts

	got, _ := scanFindingNames(t, "default", append(elsewhere, "--source", src)...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scan --unmanaged (-want +got):\n%s", diff)
	}
	_, r, _ := scanJSON(t, "kube-system", append(elsewhere, "--source", src, "--unmanaged")...)
	if s := r.Summary; s.Unmanaged != 3 || s.Coverage == nil || *s.Coverage != 0.4 {
		t.Errorf("summary %+v, want 3 unmanaged and a coverage of 0.4 (2 of 5)", s)
	}

	base, _ := startServe(t, append(elsewhere, "--source", src, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))...)
	if diff := cmp.Diff(want, findingNames(t, base)); diff != "" {
		t.Errorf("serve --unmanaged (-want +got):\n%s", diff)
	}
}
