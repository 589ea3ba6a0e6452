package testcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Fixtures that more than one package's tests seed: the same objects, so
// that plumb scan (package drift), plumb serve (package watch) and the
// commands (package cli) are held to the same expectations.

// SecretValue is the value of the Secrets SeedUndeclaredKinds and
// SeedSpread create; no output may contain it.
const SecretValue = "hunter2-not-a-real-password"

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

// SeedUndeclaredKinds applies a source that declares one ConfigMap in ns
// and creates, around it, objects of kinds the source does not declare:
// three that nobody declared (a Secret holding SecretValue, a Role and a
// ServiceAccount), and four that the cluster made or that are never
// reported (a Lease, a PersistentVolumeClaim the kube-controller-manager
// created for a StatefulSet, a ReplicaSet a Deployment controls, an
// Event). A Role in another namespace is out of scope. It returns the
// source's folder; UndeclaredKinds is what is reported of it.
func (e *Env) SeedUndeclaredKinds(t testing.TB, ns string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "settings.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-settings\ndata:\n  mode: fast\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := func(stdin string, args ...string) { e.Kubectl(t, stdin, append([]string{"-n", ns}, args...)...) }
	k("", "apply", "--server-side", "-f", src)
	k("", "create", "secret", "generic", "db-password", "--from-literal=password="+SecretValue)
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
	other := e.Namespace(t)
	e.Kubectl(t, "", "-n", other, "create", "role", "elsewhere", "--verb=get", "--resource=pods")
	return dir
}

// UndeclaredKinds is what scan and serve report of SeedUndeclaredKinds,
// sorted: kind/name and the manager that created the object. kubectl
// create serviceaccount sets no field, so the server records no manager
// for it.
var UndeclaredKinds = []string{
	"Role/debug-reader:kubectl-create",
	"Secret/db-password:kubectl-create",
	"ServiceAccount/ci-bot:",
}

// SpreadSource declares a ConfigMap in each of namespaces, and in the
// first one also the Role "declared".
func SpreadSource(namespaces []string) string {
	var b strings.Builder
	for _, ns := range namespaces {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: %s\ndata:\n  mode: fast\n", ns)
	}
	fmt.Fprintf(&b, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: declared\n  namespace: %s\nrules: []\n", namespaces[0])
	return b.String()
}

// SeedSpread writes SpreadSource over n new namespaces to a file, applies
// it, and creates, in each namespace but the first, a Role "stray" nobody
// declared; in the first an undeclared Role "extra" beside the declared
// one; a Secret in the third; a ReplicaSet a Deployment controls in the
// second (never reported); and a Role in a namespace no source touches
// (out of scope). It returns the namespaces and the source file;
// WantSpread is what is reported of it.
func (e *Env) SeedSpread(t testing.TB, n int) ([]string, string) {
	t.Helper()
	namespaces := make([]string, n)
	for i := range namespaces {
		namespaces[i] = e.Namespace(t)
	}
	src := filepath.Join(t.TempDir(), "spread.yaml")
	if err := os.WriteFile(src, []byte(SpreadSource(namespaces)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Kubectl(t, "", "apply", "--server-side", "-f", src)
	for _, ns := range namespaces[1:] {
		e.Kubectl(t, "", "-n", ns, "create", "role", "stray", "--verb=get", "--resource=pods")
	}
	e.Kubectl(t, "", "-n", namespaces[0], "create", "role", "extra", "--verb=get", "--resource=pods")
	e.Kubectl(t, "", "-n", namespaces[2], "create", "secret", "generic", "token", "--from-literal=token="+SecretValue)
	e.Kubectl(t, ownedReplicaSet, "-n", namespaces[1], "create", "-f", "-")
	e.Kubectl(t, "", "-n", e.Namespace(t), "create", "role", "elsewhere", "--verb=get", "--resource=pods")
	return namespaces, src
}

// WantSpread is what scan and serve report of SeedSpread over namespaces,
// sorted: each finding as "Kind namespace/name".
func WantSpread(namespaces []string) []string {
	want := []string{"Role " + namespaces[0] + "/extra", "Secret " + namespaces[2] + "/token"}
	for _, ns := range namespaces[1:] {
		want = append(want, "Role "+ns+"/stray")
	}
	sort.Strings(want)
	return want
}

// NamespacedUser returns the kubeconfig of a user who may read ConfigMaps,
// Roles, Secrets and ReplicaSets in namespaces only, through a RoleBinding
// in each: the cluster refuses it every list for the whole cluster.
func (e *Env) NamespacedUser(t testing.TB, namespaces []string) string {
	t.Helper()
	user := "namespaced-" + namespaces[0]
	e.Kubectl(t, "", "create", "clusterrole", user, "--verb=get,list,watch", "--resource=configmaps,roles,secrets,replicasets")
	t.Cleanup(func() { _, _ = e.KubectlErr("", "delete", "clusterrole", user) })
	for _, ns := range namespaces {
		e.Kubectl(t, "", "-n", ns, "create", "rolebinding", user, "--clusterrole="+user, "--user="+user)
	}
	return e.User(t, user)
}

// Reader returns the kubeconfig of a new user who may get, list and watch
// resources (kubectl's --resource list) in every namespace, and nothing
// else.
func (e *Env) Reader(t testing.TB, user, resources string) string {
	t.Helper()
	e.Kubectl(t, "", "create", "clusterrole", user, "--verb=get,list,watch", "--resource="+resources)
	e.Kubectl(t, "", "create", "clusterrolebinding", user, "--clusterrole="+user, "--user="+user)
	return e.User(t, user)
}

// SeedControlPlane makes a control plane of its own (e, which no other
// test uses) look like a real one in default and kube-system, with
// unmanaged objects of every kind: it applies a source that declares the
// ConfigMap "declared" in both, writes what the kube-controller-manager
// would make there (kube-root-ca.crt and the default ServiceAccount;
// envtest runs no controllers, so the test writes them as any client
// would), and creates a ConfigMap in both and a Role in kube-system by
// hand. Beside these, kube-apiserver made at start the kubernetes
// Service, bootstrap Roles and RoleBindings, its kube-system ConfigMaps
// and its identity Lease. It returns the source file and what is
// reported, sorted, each as "Kind namespace/name": only what a person
// made. Of the 5 objects in scope, the 2 declared are covered.
func (e *Env) SeedControlPlane(t testing.TB) (src string, want []string) {
	t.Helper()
	src = filepath.Join(t.TempDir(), "declared.yaml")
	if err := os.WriteFile(src, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: default}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: declared, namespace: kube-system}
data: {mode: fast}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Kubectl(t, "", "apply", "--server-side", "-f", src)
	for _, ns := range []string{"default", "kube-system"} {
		e.Kubectl(t, "", "-n", ns, "create", "serviceaccount", "default")
		e.Kubectl(t, "", "-n", ns, "create", "configmap", "kube-root-ca.crt", "--from-literal=ca.crt=not-a-cert")
		e.Kubectl(t, "", "-n", ns, "create", "configmap", "hand-made", "--from-literal=mode=fast")
	}
	e.Kubectl(t, "", "-n", "kube-system", "create", "role", "hand-made", "--verb=get", "--resource=pods")
	return src, []string{"ConfigMap default/hand-made", "ConfigMap kube-system/hand-made", "Role kube-system/hand-made"}
}
