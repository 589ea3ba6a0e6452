package drift_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	sigsyaml "sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/cluster"
	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/skew"
	"plumb.dev/plumb/internal/source"
	"plumb.dev/plumb/internal/store"
)

// The matrix: every way objects get deployed × every change engineers
// make × every consumer of a comparison. Each change acts on objects of
// its own (named after it), so one deployment per path carries all of
// them without mixing; every object a change does not touch must stay in
// sync, on every path.

// appObjects is what each change's objects are declared as: a ConfigMap,
// a Service, a Deployment with replicas, and one without (left to its
// default or an autoscaler). THIS_POD's fieldRef is an atomic struct the
// server completes (apiVersion: v1), as ingress-nginx declares it.
const appObjects = `apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME
  labels:
    tier: backend
data:
  mode: fast
---
apiVersion: v1
kind: Service
metadata:
  name: NAME
spec:
  selector:
    app: NAME
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
spec:
  replicas: 2
  minReadySeconds: 0
  selector:
    matchLabels:
      app: NAME
  template:
    metadata:
      labels:
        app: NAME
    spec:
      containers:
        - name: app
          image: nginx:1.27
          env:
            - name: MODE
              value: fast
            - name: EMPTY
              value: ""
            - name: THIS_POD
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
          ports:
            - name: http
              containerPort: 8080
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: 500m
              memory: 128Mi
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME-auto
spec:
  selector:
    matchLabels:
      app: NAME-auto
  template:
    metadata:
      labels:
        app: NAME-auto
    spec:
      containers:
        - name: app
          image: busybox:1.36
          args: ["sleep", "infinity"]
`

// seen is what the matrix asserts of one change: object, path, type.
type seen struct{ Object, Path, Type string }

// kubectlFn runs kubectl in the test's namespace.
type kubectlFn func(stdin string, args ...string)

// engineerChange is one change an engineer makes to the objects named o.
type engineerChange struct {
	name string
	do   func(t *testing.T, k kubectlFn, ns, o string)
	// want is what a scan must report, and nothing else.
	want func(o string) []seen
}

const container = `.spec.template.spec.containers[name="app"]`

var engineerChanges = []engineerChange{
	{"patch", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "patch", "configmap/"+o, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	}, func(o string) []seen { return []seen{{"ConfigMap/" + o, ".data.mode", "modified"}} }},
	{"scale", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "scale", "deployment/"+o, "--replicas=5")
	}, func(o string) []seen { return []seen{{"Deployment/" + o, ".spec.replicas", "modified"}} }},
	{"scale-default", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "scale", "deployment/"+o+"-auto", "--replicas=3")
	}, func(o string) []seen { return []seen{{"Deployment/" + o + "-auto", ".spec.replicas", "modified"}} }},
	{"set-image", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "set", "image", "deployment/"+o, "app=nginx:1.28")
	}, func(o string) []seen { return []seen{{"Deployment/" + o, container + ".image", "modified"}} }},
	{"set-env", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "set", "env", "deployment/"+o, "DEBUG=1")
	}, func(o string) []seen { return []seen{{"Deployment/" + o, container + `.env[name="DEBUG"]`, "added"}} }},
	{"set-resources", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "set", "resources", "deployment/"+o, "--limits=cpu=2")
	}, func(o string) []seen {
		return []seen{{"Deployment/" + o, container + ".resources.limits.cpu", "modified"}}
	}},
	{"label", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "label", "service/"+o, "team=checkout")
	}, func(o string) []seen { return []seen{{"Service/" + o, ".metadata.labels.team", "added"}} }},
	{"annotate", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "annotate", "configmap/"+o, "example.com/owner=me")
	}, func(o string) []seen {
		return []seen{{"ConfigMap/" + o, `.metadata.annotations["example.com/owner"]`, "added"}}
	}},
	{"unlabel", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "label", "configmap/"+o, "tier-")
	}, func(o string) []seen { return []seen{{"ConfigMap/" + o, ".metadata.labels.tier", "removed"}} }},
	{"other-apply", func(t *testing.T, k kubectlFn, ns, o string) {
		k(fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},
			"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:1.29"}]}}}}`, o),
			"apply", "--server-side", "--field-manager=hotfix", "--force-conflicts", "-f", "-")
	}, func(o string) []seen { return []seen{{"Deployment/" + o, container + ".image", "modified"}} }},
	{"port-edit", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "patch", "service/"+o, "--type=json", "-p", `[{"op":"replace","path":"/spec/ports/0/port","value":8080}]`)
	}, func(o string) []seen {
		return []seen{
			{"Service/" + o, `.spec.ports[port=80,protocol="TCP"]`, "removed"},
			{"Service/" + o, `.spec.ports[port=8080,protocol="TCP"]`, "added"},
		}
	}},
	{"container-port", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "patch", "deployment/"+o, "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/ports/0/containerPort","value":9090}]`)
	}, func(o string) []seen {
		return []seen{
			{"Deployment/" + o, container + `.ports[containerPort=8080,protocol="TCP"]`, "removed"},
			{"Deployment/" + o, container + `.ports[containerPort=9090,protocol="TCP"]`, "added"},
		}
	}},
	{"autoscaler", func(t *testing.T, k kubectlFn, ns, o string) {
		// A HorizontalPodAutoscaler (KEDA makes one too) scaling, through
		// the scale subresource, a Deployment that leaves replicas out.
		k(fmt.Sprintf(`{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":%q},
			"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":%q},"minReplicas":2,"maxReplicas":6,
			"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]}}`, o, o+"-auto"),
			"create", "-f", "-")
		env := drift.SharedEnv()
		sc := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: o + "-auto", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 4}}
		if _, err := env.Clientset.AppsV1().Deployments(ns).UpdateScale(context.Background(), o+"-auto", sc,
			metav1.UpdateOptions{FieldManager: "kube-controller-manager"}); err != nil {
			t.Fatal(err)
		}
	}, func(o string) []seen { return nil }},
	{"explicit-defaults", func(t *testing.T, k kubectlFn, ns, o string) {
		k(fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},
			"spec":{"progressDeadlineSeconds":600,"revisionHistoryLimit":10,"template":{"spec":{"dnsPolicy":"ClusterFirst",
			"containers":[{"name":"app","terminationMessagePath":"/dev/termination-log","imagePullPolicy":"IfNotPresent"}]}}}}`, o),
			"apply", "--server-side", "--field-manager=defaults-writer", "-f", "-")
		k(fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":%q},"spec":{"sessionAffinity":"None"}}`, o),
			"apply", "--server-side", "--field-manager=defaults-writer", "-f", "-")
	}, func(o string) []seen { return nil }},
	{"quantity-spelling", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "patch", "deployment/"+o, "--type=json", "-p", `[
			{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"0.5"},
			{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/memory","value":"134217728"}]`)
	}, func(o string) []seen { return nil }},
	{"controller-annotations", func(t *testing.T, k kubectlFn, ns, o string) {
		env := drift.SharedEnv()
		if _, err := env.Clientset.AppsV1().Deployments(ns).Patch(context.Background(), o, types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"deployment.kubernetes.io/revision":"7"}}}`),
			metav1.PatchOptions{FieldManager: "kube-controller-manager"}); err != nil {
			t.Fatal(err)
		}
		k("", "rollout", "restart", "deployment/"+o)
	}, func(o string) []seen { return nil }},
	{"delete", func(t *testing.T, k kubectlFn, ns, o string) {
		k("", "delete", "configmap/"+o)
	}, func(o string) []seen { return []seen{{"ConfigMap/" + o, "-", "missing"}} }},
}

// deployPath deploys the app in dir into ns and says what source
// declares it.
type deployPath struct {
	name   string
	deploy func(t *testing.T, k kubectlFn, app app)
}

// app is the declaration laid out every way the paths need it.
type app struct {
	ns string
	// file is the plain manifest; kustomize a kustomize root over it;
	// chart a chart whose template is the manifest.
	file, kustomize, chart string
	// source is what scans load; opts how.
	source string
	opts   source.Options
}

var deployPaths = []deployPath{
	{"kubectl-csa", func(t *testing.T, k kubectlFn, a app) { k("", "apply", "-f", a.file) }},
	{"kubectl-ssa", func(t *testing.T, k kubectlFn, a app) { k("", "apply", "--server-side", "-f", a.file) }},
	{"kubectl-create", func(t *testing.T, k kubectlFn, a app) { k("", "create", "-f", a.file) }},
	{"kustomize", func(t *testing.T, k kubectlFn, a app) { k("", "apply", "-k", a.kustomize) }},
	{"helm-ssa", func(t *testing.T, k kubectlFn, a app) { helmInstall(t, a, true, false) }},
	{"helm-csa-upgrade", func(t *testing.T, k kubectlFn, a app) { helmInstall(t, a, false, true) }},
	{"rendered-chart", func(t *testing.T, k kubectlFn, a app) { k(renderedChart(t, a), "apply", "-f", "-") }},
	{"gitops-argo", func(t *testing.T, k kubectlFn, a app) {
		gitopsApply(t, a, "argocd-controller", func(u *unstructured.Unstructured) {
			ann := u.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann["argocd.argoproj.io/tracking-id"] = "shop:" + u.GroupVersionKind().GroupKind().String() + ":" + a.ns + "/" + u.GetName()
			u.SetAnnotations(ann)
		})
	}},
	{"gitops-flux", func(t *testing.T, k kubectlFn, a app) {
		gitopsApply(t, a, "kustomize-controller", func(u *unstructured.Unstructured) {
			l := u.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			l["kustomize.toolkit.fluxcd.io/name"] = "shop"
			l["kustomize.toolkit.fluxcd.io/namespace"] = "flux-system"
			u.SetLabels(l)
		})
	}},
	{"plumb-fix", func(t *testing.T, k kubectlFn, a app) {
		// Deployed with kubectl, drifted everywhere, put back by plumb
		// fix: the objects now carry plumb's writes beside kubectl's.
		k("", "apply", "-f", a.file)
		for _, c := range engineerChanges {
			k("", "scale", "deployment/"+c.name, "--replicas=9")
			k("", "set", "image", "deployment/"+c.name+"-auto", "app=busybox:1.37")
			k("", "patch", "configmap/"+c.name, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
			k("", "label", "service/"+c.name, "team=checkout")
		}
		fixAll(t, a)
		if r := scan(t, a); len(r.Findings) != 0 {
			t.Fatalf("after plumb fix: %v", changesOf(r))
		}
	}},
}

// TestDeployPathsByChanges is the accuracy matrix: for every deploy path,
// every change is found exactly (object, path, type), nothing else is,
// and every consumer agrees: a scan, serve's comparison of one live
// object, the admission decision, the diff's two views, skew against an
// untouched cluster, and the fix, after which a scan is clean except for
// what the plan said it cannot put back.
func TestDeployPathsByChanges(t *testing.T) {
	for _, path := range deployPaths {
		t.Run(path.name, func(t *testing.T) {
			t.Parallel()
			a := layout(t)
			k := kubectlIn(t, a.ns)
			path.deploy(t, k, a)
			clean := scan(t, a)
			if len(clean.Findings) != 0 || len(clean.Errors) != 0 {
				t.Fatalf("right after deploying: %v, errors %v", changesOf(clean), clean.Errors)
			}
			before := liveObjects(t, a)
			for _, c := range engineerChanges {
				c.do(t, k, a.ns, c.name)
			}
			r := scan(t, a)
			checkMatrix(t, r)
			checkServe(t, a, r)
			checkAdmission(t, a, before, liveObjects(t, a))
			checkDiffViews(t, r)
			checkSkew(t, clean, r)

			fixAll(t, a)
			after := scan(t, a)
			var left []seen
			for _, f := range after.Findings {
				if f.Replace == "" {
					left = append(left, changesOf(drift.Result{Findings: []drift.Finding{f}})...)
				}
			}
			if len(left) != 0 {
				t.Errorf("after fix --remove-added, a scan still reports %v", left)
			}
		})
	}
}

// TestUndoReportsWhatWasThere fixes every change, undoes the fix, and
// expects a scan to report exactly what it reported before the fix, with
// the same attribution.
func TestUndoReportsWhatWasThere(t *testing.T) {
	t.Parallel()
	a := layout(t)
	k := kubectlIn(t, a.ns)
	k("", "apply", "-f", a.file)
	for _, c := range engineerChanges {
		if c.name != "delete" { // a recreated object is new, with new owners
			c.do(t, k, a.ns, c.name)
		}
	}
	before := scan(t, a)
	p := planner(t, a)
	plan, results := fixAll(t, a)
	run, err := remediate.Record(remediate.RunInfo{Command: "fix"}, plan, results)
	if err != nil {
		t.Fatal(err)
	}
	undo, err := p.PlanUndo(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	undone, err := p.Apply(context.Background(), undo, remediate.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range undone {
		if r.Outcome != store.StepApplied || r.Message != "" {
			t.Errorf("undo of %s: %s %s", r.Step.Object(), r.Outcome, r.Message)
		}
	}
	after := scan(t, a)
	attributed := func(r drift.Result) []string {
		var out []string
		for _, f := range r.Findings {
			for _, c := range f.Changes {
				out = append(out, fmt.Sprintf("%s/%s %s %s by %s (%s %s) desired %v live %v",
					f.Kind, f.Name, c.Path, c.Type, c.Manager, c.Operation, c.Subresource, c.Desired, c.Live))
			}
		}
		return out
	}
	if d := cmp.Diff(attributed(before), attributed(after)); d != "" {
		t.Errorf("after the undo, the scan differs from the one before the fix (-before +after):\n%s", d)
	}
}

// checkMatrix compares the scan with what each change must produce.
func checkMatrix(t *testing.T, r drift.Result) {
	t.Helper()
	var want []seen
	for _, c := range engineerChanges {
		want = append(want, c.want(c.name)...)
	}
	sortSeen(want)
	if d := cmp.Diff(want, changesOf(r)); d != "" {
		b, _ := json.MarshalIndent(r.Findings, "", "  ")
		t.Errorf("changes (-want +got):\n%s\nfindings:\n%s", d, b)
	}
	for _, f := range r.Findings {
		for _, c := range f.Changes {
			switch {
			case f.Name == "scale-default-auto" && c.Path == ".spec.replicas":
				// kubectl scale leaves no owner when nobody owned
				// replicas before (server-side apply without them).
				if !c.Default || c.Desired != int64(1) && c.Desired != float64(1) {
					t.Errorf("replicas left to the default and scaled: %+v, want desired 1 (the default)", c)
				}
			case c.Type != drift.ChangeRemoved && c.Manager == "":
				t.Errorf("%s/%s %s: no manager", f.Kind, f.Name, c.Path)
			}
		}
		if (f.Name == "port-edit" || f.Name == "container-port") && f.Replace == "" {
			t.Errorf("Service port-edit: the server refuses its declaration over the live object, but Replace is empty")
		}
	}
}

// checkServe compares every finding again the way plumb serve does, one
// live object at a time with a new engine, and expects the same changes.
func checkServe(t *testing.T, a app, r drift.Result) {
	t.Helper()
	e := engine(t, a)
	targets, _, err := e.Resolve(load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	hpa := e.HPATargets(context.Background(), targets)
	for _, tg := range targets {
		live, err := e.Get(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		if live == nil {
			continue
		}
		f, err := e.CompareLive(context.Background(), tg, live, hpa)
		if err != nil {
			t.Errorf("%s: %v", tg.Key(), err)
			continue
		}
		var got, want []drift.Change
		if f != nil {
			got = f.Changes
		}
		for _, sf := range r.Findings {
			if sf.Key() == tg.Key() {
				want = sf.Changes
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: serve's comparison differs from the scan (-scan +serve):\n%s", tg.Key(), d)
		}
	}
}

// liveObjects reads every declared object as it is now, by key.
func liveObjects(t *testing.T, a app) map[drift.ObjectKey]*unstructured.Unstructured {
	t.Helper()
	e := engine(t, a)
	targets, _, err := e.Resolve(load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	out := map[drift.ObjectKey]*unstructured.Unstructured{}
	for _, tg := range targets {
		live, err := e.Get(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		if live != nil {
			out[tg.Key()] = live
		}
	}
	return out
}

// checkAdmission asks the admission decision about each change, as the
// write from the object before it to the object after it: a change that
// moves a declared field away from the source overrides it, whatever field
// manager it names (enforce mode refuses it unless its author deploys the
// source); a change that adds
// undeclared fields, writes defaults or respells quantities, or an
// autoscaler's, overrides nothing.
func checkAdmission(t *testing.T, a app, before, after map[drift.ObjectKey]*unstructured.Unstructured) {
	t.Helper()
	e := engine(t, a)
	targets, _, err := e.Resolve(load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	hpa := e.HPATargets(context.Background(), targets)
	declaredChange := map[string]bool{}
	for _, c := range engineerChanges {
		for _, s := range c.want(c.name) {
			if s.Type == "modified" || s.Type == "removed" {
				declaredChange[s.Object] = true
			}
		}
	}
	declaredChange["Deployment/scale-default-auto"] = false // replicas are not declared there
	// The fieldManager each change's request names, as the admission
	// review carries it.
	writer := map[string]string{"patch": "kubectl-patch", "scale": "kubectl", "set-image": "kubectl-set",
		"set-resources": "kubectl-set", "unlabel": "kubectl-label", "other-apply": "hotfix", "port-edit": "kubectl-patch",
		"container-port": "kubectl-patch"}
	for _, tg := range targets {
		old, now := before[tg.Key()], after[tg.Key()]
		if old == nil || now == nil || old.GetResourceVersion() == now.GetResourceVersion() {
			continue
		}
		ov, err := e.Overrides(tg, drift.Write{Old: old, New: now, Manager: writer[tg.Key().Name]}, hpa[tg.Key()])
		if err != nil {
			t.Errorf("%s: %v", tg.Key(), err)
			continue
		}
		obj := tg.Key().Kind + "/" + tg.Key().Name
		// The admission webhook refuses a write that overrides declared
		// fields unless its authenticated author deploys the source; the
		// field manager it names (kubectl scale names kubectl, as kubectl
		// apply --server-side does) decides nothing.
		switch {
		case declaredChange[obj] && len(ov.Paths) == 0:
			t.Errorf("%s: the admission decision lets the change through: %+v", obj, ov)
		case !declaredChange[obj] && len(ov.Paths) > 0:
			t.Errorf("%s: the admission decision sees declared fields overridden by a change that overrides none: %+v", obj, ov)
		}
	}
}

// checkSkew compares the scan made right after deploying, as a cluster
// nobody touched, with the scan after the changes, as a second cluster of
// the same group: plumb skew must list every change (the live values
// differ, the second cluster drifted) and nothing else, and show the
// untouched cluster's value as declared, or the server's default.
func checkSkew(t *testing.T, clean, changed drift.Result) {
	t.Helper()
	rep := skew.Compute([]skew.Cluster{{Name: "untouched", Result: clean}, {Name: "changed", Result: changed}}, "")
	var got []seen
	for _, g := range rep.Groups {
		for _, o := range g.Objects {
			obj := o.Kind + "/" + o.Name
			for range o.MissingOn {
				got = append(got, seen{obj, "-", string(drift.StateMissing)})
			}
			for _, d := range o.Differences {
				got = append(got, seen{obj, d.Path, ""})
				if !slices.Equal(d.Drifted, []string{"changed"}) {
					t.Errorf("skew %s %s: drifted on %v, want only the changed cluster", obj, d.Path, d.Drifted)
				}
				if obj == "Deployment/scale-default-auto" && d.Values["untouched"] != int64(1) && d.Values["untouched"] != float64(1) {
					t.Errorf("skew %s %s: the untouched cluster shows %v, want the default 1", obj, d.Path, d.Values["untouched"])
				}
			}
		}
	}
	want := changesOf(changed)
	for i := range want {
		if want[i].Path != "-" {
			want[i].Type = ""
		}
	}
	sortSeen(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("skew between an untouched cluster and the changed one (-scan +skew):\n%s", d)
	}
}

// checkDiffViews checks that the two objects plumb diff prints show each
// change as the scan reports it: the desired view holds the desired value
// (nothing for an added field), the live view the live value.
func checkDiffViews(t *testing.T, r drift.Result) {
	t.Helper()
	for _, f := range r.Findings {
		if f.State != drift.StateDrifted {
			continue
		}
		for _, c := range f.Changes {
			dv, inDesired := drift.ValueAt(f.Desired.Object, c.Path)
			lv, inLive := drift.ValueAt(f.Live.Object, c.Path)
			switch c.Type {
			case drift.ChangeAdded:
				if inDesired || !inLive {
					t.Errorf("%s/%s %s (added): desired view has it %v, live view has it %v", f.Kind, f.Name, c.Path, inDesired, inLive)
				}
			case drift.ChangeRemoved:
				if !inDesired {
					// A declared list element may leave its key fields
					// to the server's defaults (a port's protocol): look
					// for it in its list.
					inDesired = listHolds(f.Desired.Object, c.Path, c.Desired)
				}
				if !inDesired || inLive {
					t.Errorf("%s/%s %s (removed): desired view has it %v, live view has it %v", f.Kind, f.Name, c.Path, inDesired, inLive)
				}
			case drift.ChangeModified:
				if !inDesired || !inLive || fmt.Sprint(dv) == fmt.Sprint(lv) {
					t.Errorf("%s/%s %s (modified): desired view %v, live view %v", f.Kind, f.Name, c.Path, dv, lv)
				}
			}
		}
	}
}

// listHolds reports whether the list that path's last element is in holds
// v.
func listHolds(obj map[string]any, path string, v any) bool {
	i := strings.LastIndex(path, "[")
	if i < 0 {
		return false
	}
	l, ok := drift.ValueAt(obj, path[:i])
	items, isList := l.([]any)
	if !ok || !isList {
		return false
	}
	return slices.ContainsFunc(items, func(x any) bool { return cmp.Equal(x, v) })
}

// layout writes the app for every change into a new folder, as a plain
// manifest, a kustomize root and a chart, and makes a namespace for it.
func layout(t *testing.T) app {
	t.Helper()
	env := drift.SharedEnv()
	a := app{ns: env.Namespace(t)}
	dir := t.TempDir()
	var docs []string
	for _, c := range engineerChanges {
		docs = append(docs, strings.ReplaceAll(appObjects, "NAME", c.name))
	}
	manifest := strings.Join(docs, "---\n")
	a.file = filepath.Join(dir, "plain", "app.yaml")
	a.kustomize = filepath.Join(dir, "kustomize")
	a.chart = filepath.Join(dir, "chart")
	files := map[string]string{
		a.file:                                 manifest,
		filepath.Join(a.kustomize, "app.yaml"): manifest,
		filepath.Join(a.kustomize, "kustomization.yaml"): "resources:\n  - app.yaml\n",
		filepath.Join(a.chart, "Chart.yaml"):             "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		filepath.Join(a.chart, "values.yaml"):            "image: nginx:1.27\n",
		filepath.Join(a.chart, "templates", "app.yaml"):  strings.ReplaceAll(manifest, "image: nginx:1.27", "image: {{ .Values.image }}"),
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.source, a.opts = a.file, source.Options{Namespace: a.ns}
	switch {
	case strings.Contains(t.Name(), "kustomize"):
		a.source = a.kustomize
	case strings.Contains(t.Name(), "helm"), strings.Contains(t.Name(), "chart"):
		a.source, a.opts.ReleaseName = a.chart, "shop"
	}
	return a
}

func kubectlIn(t *testing.T, ns string) kubectlFn {
	return func(stdin string, args ...string) {
		t.Helper()
		drift.SharedEnv().Kubectl(t, stdin, append([]string{"-n", ns}, args...)...)
	}
}

func load(t *testing.T, a app) []source.Object {
	t.Helper()
	set := source.Load(context.Background(), []string{a.source}, a.opts)
	if len(set.Errors) > 0 {
		t.Fatalf("load %s: %v", a.source, set.Errors)
	}
	return set.Objects
}

func engine(t *testing.T, a app) *drift.Engine {
	t.Helper()
	return engineWith(t, a, drift.DefaultOptions())
}

// engineWith is an engine for the app's namespace with opts.
func engineWith(t *testing.T, a app, opts drift.Options) *drift.Engine {
	t.Helper()
	c, err := cluster.NewForConfig("envtest", a.ns, drift.SharedEnv().Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	e, err := drift.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func scan(t *testing.T, a app) drift.Result {
	t.Helper()
	return scanWith(t, a, drift.DefaultOptions())
}

// scanWith scans the app with an engine made with opts; errors fail the
// test.
func scanWith(t *testing.T, a app, opts drift.Options) drift.Result {
	t.Helper()
	r, err := engineWith(t, a, opts).Scan(context.Background(), load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Errorf("scan errors: %v", r.Errors)
	}
	return r
}

func planner(t *testing.T, a app) *remediate.Planner {
	g := remediate.DefaultGuardrails()
	g.MaxObjects, g.AllowRisk = 1000, true
	return remediate.NewPlanner(engine(t, a), g, remediate.Options{RemoveAdded: true})
}

// fixAll runs plumb fix --remove-added --yes over the app; every step
// must apply.
func fixAll(t *testing.T, a app) (remediate.Plan, []remediate.Result) {
	t.Helper()
	p := planner(t, a)
	plan, err := p.Plan(context.Background(), load(t, a))
	if err != nil {
		t.Fatal(err)
	}
	results, err := p.Apply(context.Background(), plan, remediate.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != store.StepApplied {
			t.Errorf("fix %s: %s %s", r.Step.Object(), r.Outcome, r.Message)
		}
	}
	return plan, results
}

// changesOf is ownedChangesOf without the managers.
func changesOf(r drift.Result) []seen {
	var out []seen
	for _, o := range ownedChangesOf(r) {
		out = append(out, seen{o.Object, o.Path, o.Type})
	}
	return out
}

func sortSeen(s []seen) {
	slices.SortFunc(s, func(a, b seen) int {
		if c := strings.Compare(a.Object, b.Object); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

// helmInstall installs the chart with the Helm SDK as helm install does
// (server-side apply, Helm 4's default, or client-side, Helm 3's way), and
// with upgrade, upgrades it once with the same chart and values.
func helmInstall(t *testing.T, a app, serverSide, upgrade bool) {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kc := drift.SharedEnv().Kubeconfig
	flags.KubeConfig, flags.Namespace = &kc, &a.ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, a.ns, "secret"); err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(a.chart)
	if err != nil {
		t.Fatal(err)
	}
	inst := action.NewInstall(cfg)
	inst.ReleaseName, inst.Namespace, inst.ServerSideApply = a.opts.ReleaseName, a.ns, serverSide
	inst.WaitStrategy = kube.HookOnlyStrategy
	if _, err := inst.RunWithContext(context.Background(), ch, map[string]any{}); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	if upgrade {
		up := action.NewUpgrade(cfg)
		up.Namespace, up.WaitStrategy = a.ns, kube.HookOnlyStrategy
		up.ServerSideApply = "false"
		if _, err := up.RunWithContext(context.Background(), a.opts.ReleaseName, ch, map[string]any{}); err != nil {
			t.Fatalf("helm upgrade: %v", err)
		}
	}
}

// renderedChart is the chart as helm template renders it: plumb's own
// render without the release metadata that only helm install writes.
func renderedChart(t *testing.T, a app) string {
	t.Helper()
	var docs []string
	for _, o := range load(t, a) {
		u := o.Object.DeepCopy()
		ann := u.GetAnnotations()
		delete(ann, "meta.helm.sh/release-name")
		delete(ann, "meta.helm.sh/release-namespace")
		u.SetAnnotations(ann)
		b, err := sigsyaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// gitopsApply applies the app server-side as a GitOps controller does:
// with its own field manager, after adding its tracking metadata.
func gitopsApply(t *testing.T, a app, manager string, track func(*unstructured.Unstructured)) {
	t.Helper()
	env := drift.SharedEnv()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.NewForConfig("envtest", a.ns, env.Config, nil, cluster.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range load(t, a) {
		u := o.Object.DeepCopy()
		u.SetNamespace(a.ns)
		track(u)
		m, err := c.Mapping(u.GroupVersionKind())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = dyn.Resource(m.Resource).Namespace(a.ns).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: manager, Force: true})
		cancel()
		if err != nil {
			t.Fatalf("apply %s as %s: %v", u.GetName(), manager, err)
		}
	}
}
