package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"

	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/testcluster"
)

// snapshotTo runs plumb snapshot of namespace ns into dir.
func snapshotTo(t *testing.T, ns, dir string, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append([]string{"snapshot", "--kubeconfig", env.Kubeconfig, "-n", ns, "--out", dir}, args...)...)
}

// mustSnapshot is snapshotTo for a snapshot that must be complete.
func mustSnapshot(t *testing.T, ns, dir string) {
	t.Helper()
	if code, out, stderr := snapshotTo(t, ns, dir); code != ExitInSync {
		t.Fatalf("snapshot: exit %d\n%s\n%s", code, out, stderr)
	}
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
	code, out, stderr := snapshotTo(t, ns, dir)
	if code != ExitInSync || !strings.Contains(out, "1 Secrets are written without values") {
		t.Fatalf("snapshot: exit %d\n%s\n%s", code, out, stderr)
	}
	files := filesIn(t, dir)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"kustomization.yaml"}
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
	r := requireInSync(t, ns, "--source", dir)
	if r.Summary.Objects != len(want)-1 {
		t.Errorf("compared %d objects, want the %d written", r.Summary.Objects, len(want)-1)
	}

	// The same cluster gives the same folder, byte for byte.
	again := filepath.Join(t.TempDir(), "again")
	mustSnapshot(t, ns, again)
	if diff := cmp.Diff(files, filesIn(t, again)); diff != "" {
		t.Errorf("a second snapshot differs (-first +second):\n%s", diff)
	}

	// A folder with files is not overwritten unless told.
	if code, _, stderr := snapshotTo(t, ns, dir); code != ExitError || !strings.Contains(stderr, "--force") {
		t.Errorf("snapshot into a full folder: exit %d, stderr %s; want 2 and a hint at --force", code, stderr)
	}
	if code, out, stderr := snapshotTo(t, ns, dir, "--force"); code != ExitInSync {
		t.Errorf("snapshot --force: exit %d\n%s\n%s", code, out, stderr)
	}

	// A baseline shows what changed since, with the Secret's value hidden.
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"rotated-by-hand"}}`)
	code, got, _ := scanJSON(t, ns, "--source", dir)
	wantChanges := []seen{
		{Object: "Deployment/api", Path: `.spec.template.spec.containers[name="api"].image`, Type: "modified", Manager: "kubectl-set"},
		{Object: "Secret/api-credentials", Path: ".data", Type: "modified", Manager: "kubectl-patch"},
	}
	if diff := cmp.Diff(wantChanges, changesOf(got)); code != ExitDrift || diff != "" {
		t.Errorf("after the changes: exit %d, changes (-want +got):\n%s", code, diff)
	}
	for _, f := range got.Findings {
		file := filepath.Join(dir, ns, strings.ToLower(f.Kind)+"-"+f.Name+".yaml")
		if f.Source == nil || f.Source.Path != file || f.Source.Line == 0 {
			t.Errorf("%s/%s: provenance %v, want %s with a line", f.Kind, f.Name, f.Source, file)
		}
	}
	_, scanOut, _ := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir)
	_, diffOut, _ := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir)
	for _, o := range []string{scanOut, diffOut} {
		if strings.Contains(o, "rotated-by-hand") || strings.Contains(o, base64.StdEncoding.EncodeToString([]byte("rotated-by-hand"))) {
			t.Errorf("a Secret value is printed:\n%s", o)
		}
	}

	// A key added is named; the value put back is in sync again.
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"not-a-real-token","extra":"x"}}`)
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.4.2")
	code, got, _ = scanJSON(t, ns, "--source", dir)
	wantChanges = []seen{{Object: "Secret/api-credentials", Path: ".data.extra", Type: "added", Manager: "kubectl-patch"}}
	if diff := cmp.Diff(wantChanges, changesOf(got)); code != ExitDrift || diff != "" {
		t.Errorf("with a key added: exit %d, changes (-want +got):\n%s", code, diff)
	}
	k("patch", "secret/api-credentials", "--type=json", "-p", `[{"op":"remove","path":"/data/extra"}]`)
	requireInSync(t, ns, "--source", dir)
}

// TestSnapshotRecreatesTheWorkloadElsewhere adopts a snapshot into the
// empty namespace of another cluster (a second API server) with plumb fix: everything is created but the Secret,
// which is skipped with how to supply its values; once created by hand with
// the same value, the namespace is in sync with the snapshot.
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
	elsewhere := []string{"--kubeconfig", other.Kubeconfig} // after env's: the last one counts

	code, d, stderr := fix(t, to, append(elsewhere, "--source", dir, "--yes")...)
	if code != ExitDrift {
		t.Fatalf("fix: exit %d, want 1 (a Secret skipped)\n%+v\n%s", code, d, stderr)
	}
	if len(d.Skipped) != 1 || d.Skipped[0].Object != "Secret "+to+"/api-credentials" ||
		!strings.Contains(d.Skipped[0].Reason, "not created") || !strings.Contains(d.Skipped[0].Reason, "kubectl create secret generic api-credentials") {
		t.Errorf("skipped %+v; want the Secret, saying how to supply its values", d.Skipped)
	}
	if !strings.Contains(stderr, "skipped Secret "+to+"/api-credentials") {
		t.Errorf("stderr does not name the skipped Secret:\n%s", stderr)
	}
	var created []string
	for _, r := range d.Steps {
		created = append(created, r.Kind+"/"+r.Name+" "+r.Action)
	}
	slices.Sort(created)
	wantCreated := []string{"ConfigMap/flags create", "ConfigMap/settings create", "Deployment/api create", "Deployment/cache create", "Deployment/web create",
		"Deployment/worker create", "Service/api create", "Service/web create"}
	if diff := cmp.Diff(wantCreated, created); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	for _, r := range d.Results {
		if r.Outcome != "applied" {
			t.Errorf("result %+v, want applied", r)
		}
	}

	// Only the Secret is missing; supplied with the same value and labels,
	// its hash matches and the namespace is in sync with the snapshot.
	code, r, _ := scanJSON(t, to, append(elsewhere, "--source", dir)...)
	if diff := cmp.Diff([]seen{{Object: "Secret/api-credentials", Path: "-", Type: "missing"}}, changesOf(r)); code != ExitDrift || diff != "" {
		t.Errorf("after fix: exit %d (-want +got):\n%s", code, diff)
	}
	other.Kubectl(t, "", "-n", to, "create", "secret", "generic", "api-credentials", "--from-literal=token=not-a-real-token")
	other.Kubectl(t, "", "-n", to, "label", "secret/api-credentials", "app.kubernetes.io/part-of=shop")
	requireInSync(t, to, append(elsewhere, "--source", dir)...)
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
			requireInSync(t, ns, "--source", dir)
		})
	}
}

// requireDeclaredKept fails the test for every field a manifest of src
// declares that the snapshot in dir lacks or holds another value for, but
// those whose path ends in one of tolerated.
func requireDeclaredKept(t *testing.T, src, dir string, tolerated []string) {
	t.Helper()
	byKey := func(path string) map[string]map[string]any {
		set := source.Load(context.Background(), []string{path}, source.Options{})
		if len(set.Errors) > 0 {
			t.Fatalf("load %s: %v", path, set.Errors)
		}
		out := map[string]map[string]any{}
		for _, o := range set.Objects {
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
// the shop's kinds but Secrets: the Secrets are an error naming them, the
// rest is written and scans clean, and the exit code says incomplete.
func TestSnapshotForbiddenKindIsIncomplete(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	kubeconfig := readerOf(t, "snapshot-no-secrets-"+ns, "configmaps,services,deployments.apps")

	dir := filepath.Join(t.TempDir(), "snap")
	code, out, stderr := run(t, "snapshot", "--kubeconfig", kubeconfig, "-n", ns, "--out", dir)
	if code != ExitError || !strings.Contains(stderr, "list secrets") || !strings.Contains(stderr, "forbidden") ||
		!strings.Contains(stderr, "incomplete") || !strings.Contains(out, "Wrote 8 objects") {
		t.Errorf("exit %d, want 2 with the Secrets named and the 8 others written\n%s\n%s", code, out, stderr)
	}
	requireInSync(t, ns, "--source", dir)
}

// TestSnapshotBadInput: missing or malformed flags are clear errors that
// write nothing.
func TestSnapshotBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"snapshot", "-n", "default"}, "--out DIR is required"},
		{[]string{"snapshot", "-n", "default", "--out", dir, "-l", "app in (web"}, `-l "app in (web"`},
		{[]string{"snapshot", "-n", "default", "--out", dir, "-o", "json"}, "not supported by snapshot"},
		{[]string{"snapshot", "-n", "default", "--out", dir, "--concurrency", "0"}, "--concurrency"},
	} {
		code, _, stderr := run(t, append(tt.args, "--kubeconfig", env.Kubeconfig)...)
		if code != ExitError || !strings.Contains(stderr, tt.want) {
			t.Errorf("plumb %s: exit %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("bad input wrote %s (%v)", dir, err)
	}
}

// TestSnapshotAllNamespaces: with -A, cluster-scoped objects people made
// are written under _cluster/ and every namespace under its name, while the
// cluster's own objects (system: roles, kube-system's defaults, the
// namespaces every cluster starts with) are not; scanning the folder right
// after reports nothing.
func TestSnapshotAllNamespaces(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	role := ns + "-reader"
	env.Kubectl(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: `+role+`}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
`, "apply", "--server-side", "-f", "-")
	t.Cleanup(func() { env.KubectlErr("", "delete", "clusterrole", role) })

	dir := filepath.Join(t.TempDir(), "all")
	code, out, stderr := run(t, "snapshot", "--kubeconfig", env.Kubeconfig, "-A", "--out", dir)
	if code != ExitInSync {
		t.Fatalf("snapshot -A: exit %d\n%s\n%s", code, out, stderr)
	}
	files := filesIn(t, dir)
	for _, want := range []string{"_cluster/clusterrole-" + role + ".yaml", ns + "/deployment-web.yaml", ns + "/configmap-settings.yaml"} {
		if _, ok := files[want]; !ok {
			t.Errorf("snapshot -A lacks %s", want)
		}
	}
	for name := range files {
		if strings.Contains(name, "system:") || strings.HasPrefix(name, "kube-system/") || name == "_cluster/namespace-default.yaml" ||
			strings.HasPrefix(name, "default/") && strings.Contains(name, "kubernetes") {
			t.Errorf("snapshot -A wrote the cluster's own %s", name)
		}
	}
	code, r, stderr := scanJSON(t, ns, "--source", dir)
	if code != ExitInSync {
		t.Errorf("scan of the -A snapshot right after: exit %d, %d findings, errors %v\n%s", code, len(r.Findings), r.Errors, stderr)
		for _, f := range r.Findings {
			t.Logf("%s %s/%s: %+v", f.Kind, f.Namespace, f.Name, f.Changes)
		}
	}
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
			requireInSync(t, ns, "--source", dir)
		})
	}
}
