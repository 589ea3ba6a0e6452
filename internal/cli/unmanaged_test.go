package cli

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
	k(`apiVersion: apps/v1
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
`, "create", "-f", "-")
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
	waitFor(t, 5*time.Second, "the RoleBinding reported, the Role and the adopted ServiceAccount resolved", func() bool { return cmp.Equal(want, names()) })

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
	waitFor(t, 5*time.Second, "the Widget of the new CRD reported", func() bool { return cmp.Equal(want, names()) })
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
	var clusters struct {
		Items []struct{ Status, Error string }
	}
	getJSON(t, base+"/api/v1/clusters", &clusters)
	if len(clusters.Items) != 1 || clusters.Items[0].Status != "ok" {
		t.Errorf("clusters = %+v, want one, ok", clusters.Items)
	}
}
