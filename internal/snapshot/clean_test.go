package snapshot

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/testcluster"
)

var env *testcluster.Env

func TestMain(m *testing.M) { testcluster.Main(m, &env) }

// manifest declares a Deployment and a Service the way people write them:
// no defaults, no cluster IP.
const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources: {limits: {memory: 64Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {port: 80, targetPort: 8080}
`

// declared returns manifest's objects in namespace ns, by kind.
func declared(t *testing.T, ns string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, doc := range strings.Split(manifest, "---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		m["metadata"].(map[string]any)["namespace"] = ns
		out[m["kind"].(string)] = m
	}
	return out
}

// live reads kind/name from ns as kubectl get -o json does.
func live(t testing.TB, ns, kind string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(env.Kubectl(t, "", "-n", ns, "get", kind+"/web", "-o", "json", "--show-managed-fields"))); err != nil {
		t.Fatal(err)
	}
	return u
}

func newCleaner(t testing.TB) *Cleaner {
	t.Helper()
	c, err := cluster.NewForConfig("envtest", "default", env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return NewCleaner(c.TypeConverter, nil)
}

// TestCleanKeepsWhatWasDeclared writes the same manifest three ways and
// expects it back exactly each time, without the defaults the server added
// (terminationMessagePath, dnsPolicy, strategy, revisionHistoryLimit, …),
// the allocated cluster IP, status and bookkeeping: from the Apply entry
// itself (server-side apply), from kubectl's last-applied record
// (client-side apply), and by the server-default rules (kubectl create,
// whose Update entry owns the defaults too). A field a person added later
// with kubectl patch is kept: somebody declared it.
func TestCleanKeepsWhatWasDeclared(t *testing.T) {
	cleaner := newCleaner(t)
	tests := []struct {
		name  string
		apply []string
		then  []string // kubectl arguments run afterwards
		// want changes the declared Deployment into what Clean returns.
		want func(deployment, service map[string]any)
	}{
		{name: "server-side apply", apply: []string{"apply", "--server-side", "-f", "-"}},
		{name: "client-side apply", apply: []string{"apply", "-f", "-"}},
		{name: "kubectl create", apply: []string{"create", "-f", "-"}},
		{name: "server-side apply, then kubectl patch", apply: []string{"apply", "--server-side", "-f", "-"},
			then: []string{"patch", "deployment/web", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":"DEBUG","value":"1"}]}]`},
			want: func(d, _ map[string]any) {
				c := d["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
				c["env"] = []any{map[string]any{"name": "DEBUG", "value": "1"}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, manifest, append([]string{"-n", ns}, tt.apply...)...)
			if tt.then != nil {
				env.Kubectl(t, "", append([]string{"-n", ns}, tt.then...)...)
			}
			want := declared(t, ns)
			// A list element is written with its key, and a port's key
			// includes its protocol.
			want["Service"]["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["protocol"] = "TCP"
			if tt.want != nil {
				tt.want(want["Deployment"], want["Service"])
			}
			for _, kind := range []string{"Deployment", "Service"} {
				l := live(t, ns, kind)
				got, err := cleaner.Clean(l)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(normalise(t, want[kind]), normalise(t, got.Object)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", kind, diff)
				}
				if _, ok, _ := unstructured.NestedString(l.Object, "spec", "template", "spec", "dnsPolicy"); kind == "Deployment" && !ok {
					t.Errorf("the live Deployment has no dnsPolicy: the server's defaults this test leaves out are not there")
				}
			}
		})
	}
}

// normalise passes obj through JSON, so numbers compare alike.
func normalise(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCleanWithoutManagedFields: with nothing to tell declared fields from
// defaults, bookkeeping, status and allocated values go and the rest stays,
// a headless Service's clusterIP: None included.
func TestCleanWithoutManagedFields(t *testing.T) {
	cleaner := NewCleaner(nil, nil) // no schema is needed
	in := func(clusterIP string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "web", "namespace": "shop", "uid": "1234", "resourceVersion": "9", "creationTimestamp": "2026-01-01T00:00:00Z",
				"annotations": map[string]any{lastApplied: "{}"}},
			"spec": map[string]any{"type": "NodePort", "clusterIP": clusterIP, "clusterIPs": []any{clusterIP}, "sessionAffinity": "None",
				"ports": []any{map[string]any{"port": int64(80), "nodePort": int64(30080), "protocol": "TCP"}}},
			"status": map[string]any{"loadBalancer": map[string]any{}},
		}}
	}
	want := func(clusterIP string) map[string]any {
		spec := map[string]any{"type": "NodePort", "sessionAffinity": "None", "ports": []any{map[string]any{"port": int64(80), "protocol": "TCP"}}}
		if clusterIP != "" {
			spec["clusterIP"], spec["clusterIPs"] = clusterIP, []any{clusterIP}
		}
		return map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": spec}
	}
	for _, tt := range []struct{ live, kept string }{{"10.0.0.7", ""}, {"None", "None"}} {
		got, err := cleaner.Clean(in(tt.live))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want(tt.kept), got.Object); diff != "" {
			t.Errorf("clusterIP %s (-want +got):\n%s", tt.live, diff)
		}
	}
}

// TestCleanSecretHasNoValues: a Secret comes out with its keys and a hash
// of its data in annotations, and no value anywhere.
func TestCleanSecretHasNoValues(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "web", "--from-literal=password=hunter2", "--from-literal=user=admin")
	got, err := newCleaner(t).Clean(live(t, ns, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got.Object)
	for _, never := range []string{"hunter2", "aHVudGVyMg==", "YWRtaW4=", `"data"`} {
		if strings.Contains(string(b), never) {
			t.Errorf("the cleaned Secret holds %q: %s", never, b)
		}
	}
	a := got.GetAnnotations()
	if a["plumb.dev/data-keys"] != "password,user" || !strings.HasPrefix(a["plumb.dev/data-hash"], "sha256:") {
		t.Errorf("annotations %v: want the keys and a sha256 of the data", a)
	}
}

// BenchmarkClean cleans a live Deployment created by kubectl create (the
// costliest case: its managedFields own the defaults, so the server-default
// rules run over every field) with the real API server's schema.
func BenchmarkClean(b *testing.B) {
	ns := env.Namespace(b)
	env.Kubectl(b, manifest, "-n", ns, "create", "-f", "-")
	l := live(b, ns, "deployment")
	cleaner := newCleaner(b)
	if _, err := cleaner.Clean(l); err != nil { // builds the schema once
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cleaner.Clean(l); err != nil {
			b.Fatal(err)
		}
	}
}

// statefulSet declares a StatefulSet with a volumeClaimTemplate and a
// generic ephemeral volume: templates of objects the server defaults as
// objects of their own.
const statefulSet = `apiVersion: apps/v1
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
      - name: db
        image: postgres:17
        volumeMounts: [{name: data, mountPath: /data}, {name: scratch, mountPath: /scratch}]
      volumes:
      - name: scratch
        ephemeral:
          volumeClaimTemplate:
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`

// TestCleanStatefulSetTemplates writes statefulSet three ways and expects
// it back exactly: managedFields own volumeClaimTemplates as one atomic
// list, into which the server writes each claim's apiVersion, kind,
// volumeMode: Filesystem and status: {phase: Pending}; none of it was
// declared. The ephemeral volume's claim template loses its defaults too,
// and kubectl create's maxUnavailable: 1 and the rest of the StatefulSet's
// defaults go as for any kind.
func TestCleanStatefulSetTemplates(t *testing.T) {
	cleaner := newCleaner(t)
	for _, tt := range []struct {
		name  string
		apply []string
	}{
		{"server-side apply", []string{"apply", "--server-side", "-f", "-"}},
		{"client-side apply", []string{"apply", "-f", "-"}},
		{"kubectl create", []string{"create", "-f", "-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, statefulSet, append([]string{"-n", ns}, tt.apply...)...)
			var want map[string]any
			if err := yaml.Unmarshal([]byte(statefulSet), &want); err != nil {
				t.Fatal(err)
			}
			want["metadata"].(map[string]any)["namespace"] = ns
			l := &unstructured.Unstructured{}
			if err := l.UnmarshalJSON([]byte(env.Kubectl(t, "", "-n", ns, "get", "statefulset/db", "-o", "json", "--show-managed-fields"))); err != nil {
				t.Fatal(err)
			}
			templates, _, _ := unstructured.NestedSlice(l.Object, "spec", "volumeClaimTemplates")
			if len(templates) != 1 {
				t.Fatalf("live volumeClaimTemplates %v, want one", templates)
			}
			live := templates[0].(map[string]any)
			phase, _, _ := unstructured.NestedString(live, "status", "phase")
			mode, _, _ := unstructured.NestedString(live, "spec", "volumeMode")
			if phase != "Pending" || mode != "Filesystem" || live["kind"] != "PersistentVolumeClaim" {
				t.Errorf("the live template %v lacks the status, volumeMode or kind this test expects the server to add", live)
			}
			got, err := cleaner.Clean(l)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(normalise(t, want), normalise(t, got.Object)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
