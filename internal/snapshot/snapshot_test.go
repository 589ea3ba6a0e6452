package snapshot

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/realworld"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
)

// What a snapshot is worth: a baseline that scans clean and then shows
// what changed, a folder that recreates the workload elsewhere, and
// cleaner than kubectl get. Each test takes and writes snapshots as plumb
// snapshot does (Take, then Write) and scans or fixes against them with
// packages drift and remediate, as plumb scan and plumb fix do; what the
// commands print and how they exit is package cli's.

// shop is the example application: Deployments, Services, ConfigMaps and
// a Secret.
const shop = "../../examples/shop"

// realWorld is the shared folder of unmodified public manifests.
var realWorld = realworld.MustDir()

// dial reaches the cluster cfg points at, with ns for objects without a
// namespace.
func dial(t *testing.T, cfg *rest.Config, ns string) *cluster.Cluster {
	t.Helper()
	c, err := cluster.NewForConfig("envtest", ns, cfg, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// snapshotInto takes a snapshot with opts of the cluster cfg reaches and
// writes it into dir. Only a cluster that cannot be read at all fails the
// test; the result's problems are the caller's to check.
func snapshotInto(t *testing.T, cfg *rest.Config, opts Options, dir string) (Result, Written) {
	t.Helper()
	res, err := Take(context.Background(), dial(t, cfg, opts.Namespace), opts)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Write(dir, res.Objects, false)
	if err != nil {
		t.Fatal(err)
	}
	return res, w
}

// mustSnapshot snapshots namespace ns into dir as a cluster administrator;
// the snapshot must be complete.
func mustSnapshot(t *testing.T, ns, dir string) Result {
	t.Helper()
	opts := DefaultOptions()
	opts.Namespace = ns
	res, _ := snapshotInto(t, env.Config, opts, dir)
	if len(res.Problems) > 0 {
		t.Fatalf("snapshot of %s is incomplete: %v", ns, res.Problems)
	}
	return res
}

// filesIn returns every file below dir, relative to it, with their content.
func filesIn(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loadSource loads the source at path (a snapshot's folder, a manifest) for
// namespace ns, as plumb scan --source does.
func loadSource(t *testing.T, ns, path string) []source.Object {
	t.Helper()
	set := source.Load(context.Background(), []string{path}, source.Options{Namespace: ns})
	if len(set.Errors) > 0 {
		t.Fatalf("load %s: %v", path, set.Errors)
	}
	return set.Objects
}

// scanOf scans the cluster cfg reaches, in namespace ns, against the
// snapshot in dir; errors fail the test.
func scanOf(t *testing.T, cfg *rest.Config, ns, dir string) drift.Result {
	t.Helper()
	e, err := drift.New(dial(t, cfg, ns), drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Scan(context.Background(), loadSource(t, ns, dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("scan errors: %v", r.Errors)
	}
	return r
}

// requireInSync fails the test with the findings unless a scan against the
// snapshot in dir compares every object it holds and finds each one as
// written.
func requireInSync(t *testing.T, cfg *rest.Config, ns, dir string) drift.Result {
	t.Helper()
	r := scanOf(t, cfg, ns, dir)
	if len(r.Findings) != 0 || r.Objects == 0 || r.InSync != r.Objects {
		for _, f := range r.Findings {
			t.Logf("%s %s/%s: %+v", f.Kind, f.Namespace, f.Name, f.Changes)
		}
		t.Fatalf("%d of %d objects in sync, want all; changes: %v", r.InSync, r.Objects, changesOf(r))
	}
	return r
}

// seen is what a test asserts of one change.
type seen struct{ Object, Path, Type, Manager string }

// changesOf flattens a scan to comparable lines, one per change, and one
// per missing or unmanaged object (Path "-").
func changesOf(r drift.Result) []seen {
	var out []seen
	for _, f := range r.Findings {
		obj := f.Kind + "/" + f.Name
		if f.State != drift.StateDrifted {
			out = append(out, seen{Object: obj, Path: "-", Type: string(f.State)})
			continue
		}
		for _, c := range f.Changes {
			out = append(out, seen{Object: obj, Path: c.Path, Type: string(c.Type), Manager: c.Manager})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// requireHidden fails the test if the findings, or the two objects a diff
// of them prints, hold any of values.
func requireHidden(t *testing.T, r drift.Result, values ...string) {
	t.Helper()
	shown := []any{r.Findings}
	for _, f := range r.Findings {
		for _, u := range []*unstructured.Unstructured{f.Desired, f.Live} {
			if u != nil {
				shown = append(shown, u.Object)
			}
		}
	}
	for _, s := range shown {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if strings.Contains(string(b), v) {
				t.Errorf("a Secret value is shown (%s):\n%s", v, b)
			}
		}
	}
}

// TestSnapshotIsACleanBaseline snapshots the shop beside objects the
// cluster makes (which are left out), scans against the snapshot (nothing),
// changes an image and a Secret's value (both found, the value never
// shown), and puts the Secret back (nothing again).
func TestSnapshotIsACleanBaseline(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	// What controllers would make; envtest runs none, so the test does.
	uid := k("get", "deployment/web", "-o", "jsonpath={.metadata.uid}")
	owned := fmt.Sprintf(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: %[1]s, controller: true}]
spec:
  selector: {matchLabels: {app.kubernetes.io/name: web}}
  template:
    metadata: {labels: {app.kubernetes.io/name: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abcde, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: []
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt}
data: {ca.crt: not-a-cert}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default}
---
apiVersion: v1
kind: Secret
metadata: {name: default-token, annotations: {kubernetes.io/service-account.name: default}}
---
apiVersion: v1
kind: Event
metadata: {name: web.1}
involvedObject: {kind: Deployment, name: web, namespace: %[2]s}
reason: ScalingReplicaSet
`, uid, ns)
	env.Kubectl(t, owned, "-n", ns, "create", "-f", "-")

	dir := filepath.Join(t.TempDir(), "baseline")
	if res := mustSnapshot(t, ns, dir); res.Secrets != 1 {
		t.Errorf("%d Secrets written without values, want 1", res.Secrets)
	}
	files := filesIn(t, dir)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{MarkerFile, KustomizationFile}
	for _, f := range []string{"configmap-flags", "configmap-settings", "deployment-api", "deployment-cache", "deployment-web", "deployment-worker",
		"secret-api-credentials", "service-api", "service-web"} {
		want = append(want, ns+"/"+f+".yaml")
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("files written (-want +got):\n%s", diff)
	}
	for name, content := range files {
		for _, never := range []string{"not-a-real-token", base64.StdEncoding.EncodeToString([]byte("not-a-real-token")),
			"managedFields", "resourceVersion", "uid:", "creationTimestamp", "status:", "last-applied-configuration", "clusterIP"} {
			if strings.Contains(content, never) {
				t.Errorf("%s holds %q:\n%s", name, never, content)
			}
		}
	}
	secret := files[ns+"/secret-api-credentials.yaml"]
	for _, w := range []string{"plumb.dev/data-keys: token", "plumb.dev/data-hash: sha256:", "kubectl create secret generic api-credentials"} {
		if !strings.Contains(secret, w) {
			t.Errorf("the Secret's file lacks %q:\n%s", w, secret)
		}
	}

	// Scanning right after: nothing, every object compared.
	if r := requireInSync(t, env.Config, ns, dir); r.Objects != len(want)-2 {
		t.Errorf("compared %d objects, want the %d written", r.Objects, len(want)-2)
	}

	// The same cluster gives the same folder, byte for byte.
	again := filepath.Join(t.TempDir(), "again")
	mustSnapshot(t, ns, again)
	if diff := cmp.Diff(files, filesIn(t, again)); diff != "" {
		t.Errorf("a second snapshot differs (-first +second):\n%s", diff)
	}

	// A folder with files is not overwritten unless told.
	res := mustSnapshot(t, ns, filepath.Join(t.TempDir(), "third"))
	if _, err := Write(dir, res.Objects, false); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("writing into a full folder: %v; want ErrNotEmpty and a hint at --force", err)
	}
	if _, err := Write(dir, res.Objects, true); err != nil {
		t.Errorf("replacing the snapshot: %v", err)
	}

	// A baseline shows what changed since, with the Secret's value hidden.
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"rotated-by-hand"}}`)
	got := scanOf(t, env.Config, ns, dir)
	wantChanges := []seen{
		{Object: "Deployment/api", Path: `.spec.template.spec.containers[name="api"].image`, Type: "modified", Manager: "kubectl-set"},
		{Object: "Secret/api-credentials", Path: ".data", Type: "modified", Manager: "kubectl-patch"},
	}
	if diff := cmp.Diff(wantChanges, changesOf(got)); diff != "" {
		t.Errorf("after the changes (-want +got):\n%s", diff)
	}
	for _, f := range got.Findings {
		file := filepath.Join(dir, ns, strings.ToLower(f.Kind)+"-"+f.Name+".yaml")
		if f.Source == nil || f.Source.Path != file || f.Source.Line == 0 {
			t.Errorf("%s/%s: provenance %v, want %s with a line", f.Kind, f.Name, f.Source, file)
		}
	}
	requireHidden(t, got, "rotated-by-hand", base64.StdEncoding.EncodeToString([]byte("rotated-by-hand")))

	// A key added is named; the value put back is in sync again.
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"not-a-real-token","extra":"x"}}`)
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.4.2")
	wantChanges = []seen{{Object: "Secret/api-credentials", Path: ".data.extra", Type: "added", Manager: "kubectl-patch"}}
	if diff := cmp.Diff(wantChanges, changesOf(scanOf(t, env.Config, ns, dir))); diff != "" {
		t.Errorf("with a key added (-want +got):\n%s", diff)
	}
	k("patch", "secret/api-credentials", "--type=json", "-p", `[{"op":"remove","path":"/data/extra"}]`)
	requireInSync(t, env.Config, ns, dir)
}

// TestSnapshotRecreatesTheWorkloadElsewhere adopts a snapshot into the
// empty namespace of another cluster (a second API server), as plumb fix
// does: everything is created but the Secret, which is skipped with how to
// supply its values; once created by hand with the same value, the
// namespace is in sync with the snapshot.
func TestSnapshotRecreatesTheWorkloadElsewhere(t *testing.T) {
	to := env.Namespace(t)
	env.Kubectl(t, "", "-n", to, "apply", "-f", shop)
	dir := filepath.Join(t.TempDir(), "adopt")
	mustSnapshot(t, to, dir)
	// Another cluster, with the same namespace, empty.
	other, err := testcluster.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Stop() })
	other.Kubectl(t, "", "create", "namespace", to)

	e, err := drift.New(dial(t, other.Config, to), drift.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := remediate.NewPlanner(e, remediate.DefaultGuardrails(), remediate.Options{})
	plan, err := p.Plan(context.Background(), loadSource(t, to, dir))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Refused() || len(plan.Errors) > 0 {
		t.Fatalf("plan refused %+v, errors %v", plan.Refusals, plan.Errors)
	}
	if len(plan.Skipped) != 1 || plan.Skipped[0].Object != "Secret "+to+"/api-credentials" ||
		!strings.Contains(plan.Skipped[0].Reason, "not created") || !strings.Contains(plan.Skipped[0].Reason, "kubectl create secret generic api-credentials") {
		t.Errorf("skipped %+v; want the Secret, saying how to supply its values", plan.Skipped)
	}
	var created []string
	for _, s := range plan.Steps {
		created = append(created, s.Kind+"/"+s.Name+" "+string(s.Action))
	}
	slices.Sort(created)
	wantCreated := []string{"ConfigMap/flags create", "ConfigMap/settings create", "Deployment/api create", "Deployment/cache create", "Deployment/web create",
		"Deployment/worker create", "Service/api create", "Service/web create"}
	if diff := cmp.Diff(wantCreated, created); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	results, err := p.Apply(context.Background(), plan, remediate.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != store.StepApplied {
			t.Errorf("result %+v, want applied", r)
		}
	}

	// Only the Secret is missing; supplied with the same value and labels,
	// its hash matches and the namespace is in sync with the snapshot.
	if diff := cmp.Diff([]seen{{Object: "Secret/api-credentials", Path: "-", Type: "missing"}}, changesOf(scanOf(t, other.Config, to, dir))); diff != "" {
		t.Errorf("after the fix (-want +got):\n%s", diff)
	}
	other.Kubectl(t, "", "-n", to, "create", "secret", "generic", "api-credentials", "--from-literal=token=not-a-real-token")
	other.Kubectl(t, "", "-n", to, "label", "secret/api-credentials", "app.kubernetes.io/part-of=shop")
	requireInSync(t, other.Config, to, dir)
}

// TestSnapshotOfRealWorldManifestsIsCleanerThanKubectlGet applies public
// projects' manifests three ways (server-side apply, client-side apply,
// kubectl create) and compares the snapshot with kubectl get -o yaml of the
// same objects: the server's defaults, allocated values and bookkeeping
// that kubectl shows are absent from the snapshot; every declared field is
// in it (with kubectl create, whose managedFields own the defaults too,
// defaults are left out even where declared); and the snapshot scans clean.
func TestSnapshotOfRealWorldManifestsIsCleanerThanKubectlGet(t *testing.T) {
	demo := filepath.Join(realWorld, "microservices-demo/release/kubernetes-manifests.yaml")
	podinfo := filepath.Join(realWorld, "podinfo/kustomize")
	// kubectl get -o yaml shows all of these, and nobody declared them.
	serverAdded := []string{"terminationMessagePath", "dnsPolicy", "schedulerName", "clusterIP", "sessionAffinity",
		"resourceVersion", "creationTimestamp", "uid:"}
	// podinfo declares revisionHistoryLimit, progressDeadlineSeconds and
	// imagePullPolicy; the demo declares none, and has a LoadBalancer.
	demoAdded := append([]string{"revisionHistoryLimit", "progressDeadlineSeconds", "imagePullPolicy", "nodePort"}, serverAdded...)
	tests := []struct {
		name   string
		source string
		apply  []string
		absent []string
		// tolerated are declared fields left out because they hold the
		// server's default, which kubectl create's managedFields cannot
		// tell from one the server set (path suffixes).
		tolerated []string
	}{
		{"microservices-demo/server-side-apply", demo, []string{"apply", "--server-side", "-f", demo}, demoAdded, nil},
		{"microservices-demo/client-side-apply", demo, []string{"apply", "-f", demo}, append(demoAdded, "last-applied"), nil},
		{"microservices-demo/create", demo, []string{"create", "-f", demo}, demoAdded,
			[]string{".spec.type", ".targetPort", ".periodSeconds", ".spec.replicas", ".restartPolicy"}},
		{"podinfo-kustomize/server-side-apply", podinfo, []string{"apply", "--server-side", "-k", podinfo}, serverAdded, nil},
		{"podinfo-kustomize/client-side-apply", podinfo, []string{"apply", "-k", podinfo}, serverAdded, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, "", append([]string{"-n", ns}, tt.apply...)...)
			dir := filepath.Join(t.TempDir(), "snap")
			mustSnapshot(t, ns, dir)

			got := env.Kubectl(t, "", "-n", ns, "get", "deployments,services,serviceaccounts,horizontalpodautoscalers", "-o", "yaml")
			var snap strings.Builder
			for _, c := range filesIn(t, dir) {
				snap.WriteString(c)
			}
			for _, s := range tt.absent {
				if !strings.Contains(got, s) {
					t.Errorf("kubectl get -o yaml has no %q: the comparison proves nothing", s)
				}
				if strings.Contains(snap.String(), s) {
					t.Errorf("the snapshot has %q, which nobody declared", s)
				}
			}
			if len(snap.String()) >= len(got) {
				t.Errorf("the snapshot is %d bytes, kubectl get -o yaml %d", len(snap.String()), len(got))
			}
			requireDeclaredKept(t, tt.source, dir, tt.tolerated)
			requireInSync(t, env.Config, ns, dir)
		})
	}
}

// requireDeclaredKept fails the test for every field a manifest of src
// declares that the snapshot in dir lacks or holds another value for, but
// those whose path ends in one of tolerated.
func requireDeclaredKept(t *testing.T, src, dir string, tolerated []string) {
	t.Helper()
	byKey := func(path string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, o := range loadSource(t, "", path) {
			out[o.Object.GetKind()+"/"+o.Object.GetName()] = o.Object.Object
		}
		return out
	}
	snap := byKey(dir)
	for key, declared := range byKey(src) {
		s, ok := snap[key]
		if !ok {
			t.Errorf("%s is not in the snapshot", key)
			continue
		}
		unstructuredDelete(declared, "metadata", "namespace")
		for _, p := range missingIn(declared, s, key) {
			if !slices.ContainsFunc(tolerated, func(suffix string) bool { return strings.HasSuffix(p, suffix) }) {
				t.Errorf("declared but not in the snapshot: %s", p)
			}
		}
	}
}

func unstructuredDelete(obj map[string]any, path ...string) {
	m := obj
	for _, p := range path[:len(path)-1] {
		m, _ = m[p].(map[string]any)
	}
	delete(m, path[len(path)-1])
}

// missingIn lists the paths of declared whose value got lacks or differs
// from; lists are compared element by element, in order.
func missingIn(declared, got any, at string) []string {
	switch d := declared.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		var out []string
		for k, v := range d {
			gv, ok := g[k]
			if !ok {
				out = append(out, at+"."+k)
				continue
			}
			out = append(out, missingIn(v, gv, at+"."+k)...)
		}
		return out
	case []any:
		g, _ := got.([]any)
		if len(g) != len(d) {
			return []string{at}
		}
		var out []string
		for i := range d {
			out = append(out, missingIn(d[i], g[i], fmt.Sprintf("%s[%d]", at, i))...)
		}
		return out
	}
	if dq, err := resource.ParseQuantity(fmt.Sprint(declared)); err == nil {
		if gq, err := resource.ParseQuantity(fmt.Sprint(got)); err == nil && dq.Cmp(gq) == 0 {
			return nil // the server writes 2000m as 2
		}
	}
	if fmt.Sprint(declared) != fmt.Sprint(got) {
		return []string{fmt.Sprintf("%s (%v, snapshot %v)", at, declared, got)}
	}
	return nil
}

// TestSnapshotForbiddenKindIsIncomplete snapshots as a user who may list
// the shop's kinds but Secrets: the Secrets are a problem naming them, the
// rest is written and scans clean.
func TestSnapshotForbiddenKindIsIncomplete(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	cfg, err := clientcmd.BuildConfigFromFlags("", env.Reader(t, "snapshot-no-secrets-"+ns, "configmaps,services,deployments.apps"))
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "snap")
	opts := DefaultOptions()
	opts.Namespace = ns
	res, w := snapshotInto(t, cfg, opts, dir)
	named := slices.ContainsFunc(res.Problems, func(err error) bool {
		return strings.Contains(err.Error(), "list secrets") && strings.Contains(err.Error(), "forbidden")
	})
	if !named || len(w.Files) != 8 {
		t.Errorf("problems %v, %d objects written; want the Secrets named and the 8 others written", res.Problems, len(w.Files))
	}
	requireInSync(t, env.Config, ns, dir)
}

// TestSnapshotAllNamespaces: with AllNamespaces, cluster-scoped objects
// people made are written under _cluster/ and every namespace under its
// name, while the cluster's own objects (system: roles, kube-system's
// defaults, the namespaces every cluster starts with) are not; scanning
// the folder right after reports nothing.
func TestSnapshotAllNamespaces(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	role := ns + "-reader"
	env.Kubectl(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: `+role+`}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
`, "apply", "--server-side", "-f", "-")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "clusterrole", role) })

	dir := filepath.Join(t.TempDir(), "all")
	opts := DefaultOptions()
	opts.AllNamespaces = true
	if res, _ := snapshotInto(t, env.Config, opts, dir); len(res.Problems) > 0 {
		t.Fatalf("snapshot of every namespace is incomplete: %v", res.Problems)
	}
	files := filesIn(t, dir)
	for _, want := range []string{"_cluster/clusterrole-" + role + ".yaml", ns + "/deployment-web.yaml", ns + "/configmap-settings.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("the snapshot of every namespace lacks %s", want)
		}
	}
	for name := range files {
		if strings.Contains(name, "system:") || strings.Contains(name, "-system_") || strings.HasPrefix(name, "kube-system/") || name == "_cluster/namespace-default.yaml" ||
			strings.HasPrefix(name, "default/") && strings.Contains(name, "kubernetes") {
			t.Errorf("the snapshot of every namespace wrote the cluster's own %s", name)
		}
	}
	requireInSync(t, env.Config, ns, dir)
}

// TestSnapshotOfAStatefulSet snapshots a StatefulSet with a
// volumeClaimTemplate made by client-side apply and by kubectl create: the
// status and volumeMode the server writes into the template are not in
// the file, and a scan of the snapshot right after finds nothing.
func TestSnapshotOfAStatefulSet(t *testing.T) {
	const sts = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: postgres:17, volumeMounts: [{name: data, mountPath: /data}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`
	for _, tt := range []struct {
		name  string
		apply []string
	}{
		{"client-side apply", []string{"apply", "-f", "-"}},
		{"kubectl create", []string{"create", "-f", "-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, sts, append([]string{"-n", ns}, tt.apply...)...)
			if live := env.Kubectl(t, "", "-n", ns, "get", "statefulset/db", "-o", "yaml"); !strings.Contains(live, "phase: Pending") || !strings.Contains(live, "volumeMode: Filesystem") {
				t.Fatalf("the live StatefulSet lacks the template's status or volumeMode: the test proves nothing\n%s", live)
			}
			dir := filepath.Join(t.TempDir(), "snap")
			mustSnapshot(t, ns, dir)
			file := filesIn(t, dir)[ns+"/statefulset-db.yaml"]
			if file == "" {
				t.Fatalf("no %s/statefulset-db.yaml in %v", ns, filesIn(t, dir))
			}
			for _, never := range []string{"status", "phase", "volumeMode"} {
				if strings.Contains(file, never) {
					t.Errorf("the snapshot holds %q:\n%s", never, file)
				}
			}
			requireInSync(t, env.Config, ns, dir)
		})
	}
}

// TestSnapshotOfUnusualNames snapshots objects whose names the API server
// takes but no file should have: a ConfigMap named with 253 characters,
// and Roles (whose names may hold anything but '/' and '%') named with a
// newline and YAML after it, an escape sequence, and a colon. Each is
// written to its own file inside the folder, the kustomization lists
// exactly those files (no namespace or images key injected), the folder
// scans clean, and a second snapshot with replace works.
func TestSnapshotOfUnusualNames(t *testing.T) {
	ns := env.Namespace(t)
	long := strings.Repeat("n", 253)
	unusual := []string{"x\nnamespace: evil\nimages:\n- {name: nginx, newName: evil.example}", "\x1b[2Jclear", "cert-manager:leader"}
	manifests := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + long + "}\ndata: {mode: fast}\n"
	for _, name := range unusual {
		q, err := json.Marshal(name)
		if err != nil {
			t.Fatal(err)
		}
		manifests += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: " + string(q) + "}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get]}]\n"
	}
	env.Kubectl(t, manifests, "-n", ns, "apply", "--server-side", "-f", "-")

	dir := filepath.Join(t.TempDir(), "snap")
	res := mustSnapshot(t, ns, dir)
	names := map[string]bool{}
	for _, u := range res.Objects {
		names[u.GetName()] = true
	}
	for _, want := range append([]string{long}, unusual...) {
		if !names[want] {
			t.Fatalf("the snapshot lacks %q: %v", want, names)
		}
	}
	files := filesIn(t, dir)
	var top map[string]any
	if err := yaml.Unmarshal([]byte(files[KustomizationFile]), &top); err != nil {
		t.Fatal(err)
	}
	if want := []string{"apiVersion", "kind", "resources"}; !cmp.Equal(want, slices.Sorted(maps.Keys(top))) {
		t.Errorf("kustomization.yaml has keys %v, want %v:\n%s", slices.Sorted(maps.Keys(top)), want, files[KustomizationFile])
	}
	var listed []string
	for f := range files {
		if f != KustomizationFile && f != MarkerFile {
			listed = append(listed, f)
		}
	}
	sort.Strings(listed)
	var resources []string
	for _, r := range top["resources"].([]any) {
		resources = append(resources, r.(string))
	}
	sort.Strings(resources)
	if diff := cmp.Diff(listed, resources); diff != "" || len(listed) != len(res.Objects) {
		t.Errorf("kustomization.yaml lists (-written +listed):\n%s", diff)
	}
	requireInSync(t, env.Config, ns, dir)

	if _, err := Write(dir, res.Objects, true); err != nil {
		t.Errorf("replacing the snapshot: %v", err)
	}
	if diff := cmp.Diff(files, filesIn(t, dir)); diff != "" {
		t.Errorf("the snapshot replaced by the same objects differs (-first +second):\n%s", diff)
	}
}
