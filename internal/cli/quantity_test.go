package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"plumb.dev/plumb/internal/testwait"
)

// clusterScoped declares the cluster-scoped objects with quantities, named
// after the test's namespace so that tests do not share them.
func clusterScoped(ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %[1]s-pv
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/%[1]s}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: %[1]s-sandboxed
handler: kata
overhead:
  podFixed: {cpu: 250m, memory: 120Mi}
`, ns)
}

// equalSpellings rewrites every declared quantity as the same amount spelt
// another way, the way a person does with kubectl patch.
var equalSpellings = []struct{ object, patch string }{
	{"statefulset/cassandra", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/memory","value":"1073741824"},
	  {"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/cpu","value":"0.3"}]`},
	{"resourcequota/compute", `[{"op":"replace","path":"/spec/hard/cpu","value":"2000m"},{"op":"replace","path":"/spec/hard/memory","value":"4096Mi"},
	  {"op":"replace","path":"/spec/hard/requests.storage","value":"10737418240"}]`},
	{"limitrange/limits", `[{"op":"replace","path":"/spec/limits/0/max/memory","value":"1073741824"},{"op":"replace","path":"/spec/limits/0/default/cpu","value":"0.5"},
	  {"op":"replace","path":"/spec/limits/0/defaultRequest/memory","value":"131072Ki"}]`},
	{"persistentvolumeclaim/data", `[{"op":"replace","path":"/spec/resources/requests/storage","value":"1024Mi"}]`},
	{"horizontalpodautoscaler/cache", `[{"op":"replace","path":"/spec/metrics/0/resource/target/averageValue","value":"536870912"}]`},
	{"deployment/cache", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"268435456"},
	  {"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/ephemeral-storage","value":"2000M"},
	  {"op":"replace","path":"/spec/template/spec/volumes/0/emptyDir/sizeLimit","value":"65536Ki"}]`},
	{"widget/big", `[{"op":"replace","path":"/spec/size","value":"1073741824"}]`},
}

// TestEqualQuantitiesAreNotDrift is issue 14's false positive: a quantity
// rewritten as the same amount (1Gi as 1073741824) was reported modified,
// because the dry-run keeps the live spelling. Every kind of quantity
// field is rewritten so, and scan, diff, fix and serve report nothing of
// it, with either apply, while two changes that only look alike (a
// ConfigMap's "1" and "1.0", an int-or-string port that is not a
// quantity) are still drift.
func TestEqualQuantitiesAreNotDrift(t *testing.T) {
	env.Kubectl(t, "", "apply", "--server-side", "-f", "testdata/widget-crd.yaml")
	env.Kubectl(t, "", "wait", "--for=condition=Established", "crd/widgets.example.com")
	for _, apply := range [][]string{{"apply", "--server-side"}, {"apply"}} {
		t.Run(apply[len(apply)-1], func(t *testing.T) {
			ns := env.Namespace(t)
			k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
			dir := t.TempDir()
			for _, f := range []string{"cassandra.yaml", "quotas.yaml"} {
				b, err := os.ReadFile(filepath.Join("testdata/quantities", f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(clusterScoped(ns)), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_, _ = env.KubectlErr("", "delete", "--ignore-not-found", "--wait=false", "-f", filepath.Join(dir, "cluster.yaml"))
			})
			k(append(apply, "-f", dir)...)
			requireInSync(t, ns, "--source", dir)

			for _, s := range equalSpellings {
				k("patch", s.object, "--type=json", "-p", s.patch)
			}
			env.Kubectl(t, "", "patch", "persistentvolume/"+ns+"-pv", "--type=json", "-p", `[{"op":"replace","path":"/spec/capacity/storage","value":"5368709120"}]`)
			env.Kubectl(t, "", "patch", "runtimeclass/"+ns+"-sandboxed", "--type=json", "-p", `[{"op":"replace","path":"/overhead/podFixed/memory","value":"125829120"}]`)
			if got := k("get", "statefulset/cassandra", "-o", "jsonpath={.spec.template.spec.containers[0].resources.requests.memory}"); got != "1073741824" {
				t.Fatalf("live memory request = %q; the patch did not take", got)
			}
			requireInSync(t, ns, "--source", dir)
			if code, out, stderr := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir); code != ExitInSync || out != "" {
				t.Errorf("diff: exit %d, want 0 and nothing printed\n%s\n%s", code, out, stderr)
			}
			if code, d, stderr := fix(t, ns, "--source", dir); code != ExitInSync || len(d.Steps) != 0 {
				t.Errorf("fix: exit %d, steps %+v, want no plan\n%s", code, d.Steps, stderr)
			}

			// A real change next to a respelt quantity is found alone (the
			// dry-run compares the whole object), and look-alikes that are
			// not quantities are still drift.
			k("set", "image", "statefulset/cassandra", "cassandra=gcr.io/google-samples/cassandra:v14")
			k("patch", "configmap/tuning", "--type=merge", "-p", `{"data":{"ratio":"1.0"}}`)
			k("patch", "widget/big", "--type=merge", "-p", `{"spec":{"port":"8080"}}`)
			code, r, stderr := scanJSON(t, ns, "--source", dir)
			want := []seen{
				{"ConfigMap/tuning", ".data.ratio", "modified", "kubectl-patch"},
				{"StatefulSet/cassandra", `.spec.template.spec.containers[name="cassandra"].image`, "modified", "kubectl-set"},
				{"Widget/big", ".spec.port", "modified", "kubectl-patch"},
			}
			if diff := cmp.Diff(want, changesOf(r)); code != ExitDrift || diff != "" {
				t.Errorf("look-alikes: exit %d, changes (-want +got):\n%s\nstderr: %s", code, diff, stderr)
			}
			code, out, _ := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir)
			var changed []string
			for _, l := range strings.Split(out, "\n") {
				if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
					changed = append(changed, strings.Join(strings.Fields(l), " "))
				}
			}
			wantLines := []string{`- ratio: "1.0"`, `+ ratio: "1"`, `- image: gcr.io/google-samples/cassandra:v14`, `+ image: gcr.io/google-samples/cassandra:v13`, `- port: "8080"`, `+ port: 8080`}
			if diff := cmp.Diff(wantLines, changed); code != ExitDrift || diff != "" {
				t.Errorf("diff of the look-alikes: exit %d, changed lines (-want +got):\n%s\n%s", code, diff, out)
			}
			if _, d, _ := fix(t, ns, "--source", dir); len(d.Steps) != 3 || fmt.Sprint(d.Steps[1].Changes) != `[{.spec.template.spec.containers[name="cassandra"].image high}]` {
				t.Errorf("fix plan = %+v, want the ConfigMap, the StatefulSet's image and the Widget only", d.Steps)
			}

			// serve compares the same way.
			base, _ := startServe(t, "-n", ns, "--source", dir, "--store", filepath.Join(t.TempDir(), "plumb.db"))
			var got []string
			for _, f := range findingsOf(t, base) {
				got = append(got, f.Kind+"/"+f.Name)
			}
			sort.Strings(got)
			if diff := cmp.Diff([]string{"ConfigMap/tuning", "StatefulSet/cassandra", "Widget/big"}, got); diff != "" {
				t.Errorf("serve findings (-want +got):\n%s", diff)
			}
			k("patch", "deployment/cache", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"0.5"}]`)
			k("set", "image", "deployment/cache", "cache=memcached:1.7")
			testwait.For(t, 10*time.Second, "the new cache image", func() bool { return len(findingsOf(t, base)) == 4 })
			for _, f := range findingsOf(t, base) {
				if (f.Name == "cache" || f.Name == "cassandra") && (len(f.Changes) != 1 || !strings.HasSuffix(f.Changes[0].Path, "].image")) {
					t.Errorf("%s changes = %+v, want only the image", f.Name, f.Changes)
				}
			}
		})
	}
}
