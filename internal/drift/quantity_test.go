package drift_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
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
// field, built-in, cluster-scoped and in a CRD, is rewritten so, with
// either apply, and a scan reports nothing, serve's comparison of each
// live object neither, and fix plans nothing. Two changes that only look
// alike (a ConfigMap's "1" and "1.0", an int-or-string port that is not a
// quantity) are still drift, found alone next to the respelt quantities;
// the two objects a diff prints differ at those changes only, and fix
// plans those changes only.
func TestEqualQuantitiesAreNotDrift(t *testing.T) {
	env := drift.SharedEnv()
	env.Kubectl(t, "", "apply", "--server-side", "-f", "testdata/widget-crd.yaml")
	env.Kubectl(t, "", "wait", "--for=condition=Established", "crd/widgets.example.com")
	waitForOpenAPI(t, "example.com/v1")
	for _, apply := range [][]string{{"apply", "--server-side"}, {"apply"}} {
		t.Run(apply[len(apply)-1], func(t *testing.T) {
			t.Parallel()
			ns := env.Namespace(t)
			k := kubectlIn(t, ns)
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
			k("", append(apply, "-f", dir)...)
			a := appAt(ns, dir)
			requireInSync(t, a, drift.DefaultOptions())

			for _, s := range equalSpellings {
				k("", "patch", s.object, "--type=json", "-p", s.patch)
			}
			env.Kubectl(t, "", "patch", "persistentvolume/"+ns+"-pv", "--type=json", "-p", `[{"op":"replace","path":"/spec/capacity/storage","value":"5368709120"}]`)
			env.Kubectl(t, "", "patch", "runtimeclass/"+ns+"-sandboxed", "--type=json", "-p", `[{"op":"replace","path":"/overhead/podFixed/memory","value":"125829120"}]`)
			if got := env.Kubectl(t, "", "-n", ns, "get", "statefulset/cassandra", "-o", "jsonpath={.spec.template.spec.containers[0].resources.requests.memory}"); got != "1073741824" {
				t.Fatalf("live memory request = %q; the patch did not take", got)
			}
			checkServe(t, a, requireInSync(t, a, drift.DefaultOptions()))
			if steps := planSteps(t, a); len(steps) != 0 {
				t.Errorf("fix plans %v, want nothing", steps)
			}

			// A real change next to a respelt quantity is found alone (the
			// dry-run compares the whole object), and look-alikes that are
			// not quantities are still drift.
			k("", "set", "image", "statefulset/cassandra", "cassandra=gcr.io/google-samples/cassandra:v14")
			k("", "patch", "configmap/tuning", "--type=merge", "-p", `{"data":{"ratio":"1.0"}}`)
			k("", "patch", "widget/big", "--type=merge", "-p", `{"spec":{"port":"8080"}}`)
			r := scan(t, a)
			image := `.spec.template.spec.containers[name="cassandra"].image`
			want := []owned{
				{"ConfigMap/tuning", ".data.ratio", "modified", "kubectl-patch"},
				{"StatefulSet/cassandra", image, "modified", "kubectl-set"},
				{"Widget/big", ".spec.port", "modified", "kubectl-patch"},
			}
			if d := cmp.Diff(want, ownedChangesOf(r)); d != "" {
				t.Errorf("look-alikes: changes (-want +got):\n%s", d)
			}
			checkServe(t, a, r)

			// What a diff prints: the desired view keeps the live spelling
			// of every quantity, so the views differ where the changes are
			// and nowhere else, with the values (and types) of each side.
			wantViews := map[string][]string{
				"ConfigMap/tuning":      {".data.ratio"},
				"StatefulSet/cassandra": {".spec.template.spec.containers[0].image"},
				"Widget/big":            {".spec.port"},
			}
			wantValues := map[string][2]any{ // desired, live
				".data.ratio": {"1", "1.0"},
				image:         {"gcr.io/google-samples/cassandra:v13", "gcr.io/google-samples/cassandra:v14"},
				".spec.port":  {int64(8080), "8080"},
			}
			for _, f := range r.Findings {
				obj := f.Kind + "/" + f.Name
				if f.Desired == nil || f.Live == nil {
					t.Errorf("%s: no views to diff", obj)
					continue
				}
				if d := cmp.Diff(wantViews[obj], differences(f.Live.Object, f.Desired.Object, "")); d != "" {
					t.Errorf("%s: the views differ at (-want +got):\n%s", obj, d)
				}
				for _, c := range f.Changes {
					dv, _ := drift.ValueAt(f.Desired.Object, c.Path)
					lv, _ := drift.ValueAt(f.Live.Object, c.Path)
					if d := cmp.Diff(wantValues[c.Path], [2]any{dv, lv}); d != "" {
						t.Errorf("%s %s: views (desired, live) (-want +got):\n%s", obj, c.Path, d)
					}
				}
			}
			steps := planSteps(t, a)
			var objects []string
			for _, s := range steps {
				objects = append(objects, strings.Fields(s)[0])
			}
			if !slices.Equal(objects, []string{"ConfigMap/tuning", "StatefulSet/cassandra", "Widget/big"}) ||
				!slices.Contains(steps, "StatefulSet/cassandra ["+image+" high]") {
				t.Errorf("fix plan = %v, want the ConfigMap, the StatefulSet's image and the Widget only", steps)
			}

			// A quantity respelt next to a real change in the same object.
			k("", "patch", "deployment/cache", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"0.5"}]`)
			k("", "set", "image", "deployment/cache", "cache=memcached:1.7")
			r = scan(t, a)
			checkServe(t, a, r)
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Kind+"/"+f.Name)
				if (f.Name == "cache" || f.Name == "cassandra") && (len(f.Changes) != 1 || !strings.HasSuffix(f.Changes[0].Path, "].image")) {
					t.Errorf("%s changes = %+v, want only the image", f.Name, f.Changes)
				}
			}
			sort.Strings(got)
			if d := cmp.Diff([]string{"ConfigMap/tuning", "Deployment/cache", "StatefulSet/cassandra", "Widget/big"}, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}

// planSteps is the plan plumb fix makes for the app: per step, the object
// and each change's path and risk.
func planSteps(t *testing.T, a app) []string {
	t.Helper()
	plan, err := planner(t, a).Plan(context.Background(), load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range plan.Steps {
		var changes []string
		for _, c := range s.Changes {
			changes = append(changes, c.Path+" "+string(c.Risk))
		}
		out = append(out, s.Kind+"/"+s.Name+" ["+strings.Join(changes, ", ")+"]")
	}
	sort.Strings(out)
	return out
}

// differences lists the paths, with list indexes, at which two decoded
// objects hold different values, leaf by leaf.
func differences(a, b any, at string) []string {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		var keys []string
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, differences(am[k], bm[k], at+"."+k)...)
		}
		return out
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList && len(al) == len(bl) {
		var out []string
		for i := range al {
			out = append(out, differences(al[i], bl[i], fmt.Sprintf("%s[%d]", at, i))...)
		}
		return out
	}
	if cmp.Equal(a, b) {
		return nil
	}
	return []string{at}
}
