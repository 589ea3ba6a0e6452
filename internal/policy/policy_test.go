package policy

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"plumb.dev/plumb/internal/realworld"
	"plumb.dev/plumb/internal/source"
)

// objs parses YAML documents separated by "---".
func objs(t *testing.T, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatalf("%v in:\n%s", err, d)
		}
		out = append(out, u)
	}
	return out
}

// declared wraps objects as a source declares them, from nowhere.
func declared(us []*unstructured.Unstructured) []source.Object {
	out := make([]source.Object, len(us))
	for i, u := range us {
		out[i] = source.Object{Object: u}
	}
	return out
}

// fired lists "rule severity kind/name affected: message" per violation.
func fired(vs []Violation) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, strings.Join([]string{v.Rule, string(v.Severity), v.Kind + "/" + v.Name, strconv.Itoa(v.Affected), v.Message}, " | "))
	}
	return out
}

const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources: {requests: {cpu: 100m}}
`

func TestBuiltins(t *testing.T) {
	base := deploy + `---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, names: {kind: Widget, plural: widgets}, scope: Namespaced}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: a, namespace: shop}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: b, namespace: shop}
`
	tests := []struct {
		name   string
		before string
		after  string
		want   []string
	}{
		{"nothing changes", base, base, []string{}},
		{"a harmless image bump", deploy, strings.Replace(deploy, "nginx:1.27", "nginx:1.28", 1), []string{}},
		{"everything deleted", base, "", []string{
			"delete-crd | deny | CustomResourceDefinition/widgets.example.com | 2 | deleting a CustomResourceDefinition deletes every custom resource of it",
			"delete-namespace | deny | Namespace/shop | 5 | deleting a Namespace deletes every object in it",
			"delete-volume | deny | PersistentVolumeClaim/data | 0 | deleting a PersistentVolumeClaim deletes its volume's data unless the volume is retained",
		}},
		{"scaled to 0", deploy, strings.Replace(deploy, "replicas: 3", "replicas: 0", 1), []string{
			"scale-to-zero | deny | Deployment/web | 0 | scales Deployment from 3 replicas to 0",
		}},
		{"selector changed", deploy, strings.ReplaceAll(deploy, "app: web", "app: www"), []string{
			"immutable-field | deny | Deployment/web | 0 | changes .spec.selector, which the server does not change in place: the update fails, or the Deployment must be deleted and created again",
		}},
		{"resources removed", deploy, strings.Replace(deploy, "          resources: {requests: {cpu: 100m}}\n", "", 1), []string{
			`remove-resources | warn | Deployment/web | 0 | removes every resource request and limit of container "web"`,
		}},
		{"privileged and hostPath", deploy, strings.Replace(deploy, "      containers:\n", "      volumes: [{name: root, hostPath: {path: /}}]\n      containers:\n", 1) +
			"---\n", []string{}},
	}
	// The hostPath case gets its container privileged too.
	tests[len(tests)-1].after = strings.Replace(tests[len(tests)-1].after, "image: nginx:1.27", "image: nginx:1.27\n          securityContext: {privileged: true}", 1)
	tests[len(tests)-1].want = []string{
		`privileged-pod | deny | Deployment/web | 0 | runs container "web" privileged`,
		`host-path | deny | Deployment/web | 0 | mounts the node's / (hostPath volume "root")`,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := objs(t, tt.before)
			vs := Evaluate(context.Background(), Diff(declared(before), declared(objs(t, tt.after))), Builtins(), Options{Counter: SourceCounter(before)})
			if diff := cmp.Diff(tt.want, fired(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRBACAndServices(t *testing.T) {
	after := objs(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ops}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80}]}
`)
	vs := Evaluate(context.Background(), Diff(nil, declared(after)), Builtins(), Options{})
	want := []string{
		`rbac-wildcard | deny | ClusterRole/ops | 0 | grants every one of the verbs ("*")`,
		`rbac-wildcard | deny | ClusterRole/ops | 0 | grants every one of the resources ("*")`,
		"bind-cluster-admin | deny | ClusterRoleBinding/ops-admin | 0 | binds the cluster-admin ClusterRole",
		"expose-service | warn | Service/web | 0 | exposes the Service outside the cluster as LoadBalancer",
	}
	if diff := cmp.Diff(want, fired(vs)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	// Each rule is one name to turn off.
	vs = Evaluate(context.Background(), Diff(nil, declared(after)), Builtins(), Options{Disabled: []string{RuleRBACWildcard, RuleBindClusterAdmin, RuleExposeService}})
	if len(vs) != 0 {
		t.Errorf("with the rules off: %v", fired(vs))
	}
	// What was already there is no change.
	if vs := Evaluate(context.Background(), Diff(declared(after), declared(after)), Builtins(), Options{}); len(vs) != 0 {
		t.Errorf("unchanged RBAC and Service: %v", fired(vs))
	}
}

// TestRealWorldUpgradesRaiseNoAlarm: an image bump of every workload in
// real manifests raises nothing, except where the server would refuse it:
// ingress-nginx's admission Jobs, whose pod template cannot change.
func TestRealWorldUpgradesRaiseNoAlarm(t *testing.T) {
	rw := realworld.MustDir()
	for _, dir := range []string{"microservices-demo/release", "ingress-nginx/deploy", "podinfo/kustomize"} {
		set := source.Load(context.Background(), []string{filepath.Join(rw, dir)}, source.Options{})
		if len(set.Errors) > 0 || len(set.Objects) == 0 {
			t.Fatalf("%s: %d objects, errors %v", dir, len(set.Objects), set.Errors)
		}
		var before, bumped []*unstructured.Unstructured
		for _, o := range set.Objects {
			before = append(before, o.Object)
			c := o.Object.DeepCopy()
			if cs, ok, _ := unstructured.NestedSlice(c.Object, "spec", "template", "spec", "containers"); ok {
				for i := range cs {
					cs[i].(map[string]any)["image"] = "registry.example/bumped:2"
				}
				_ = unstructured.SetNestedSlice(c.Object, cs, "spec", "template", "spec", "containers")
			}
			bumped = append(bumped, c)
		}
		want := []string{}
		if dir == "ingress-nginx/deploy" {
			for _, job := range []string{"ingress-nginx-admission-create", "ingress-nginx-admission-patch"} {
				want = append(want, "immutable-field | deny | Job/"+job+" | 0 | changes .spec.template, which the server does not change in place: the update fails, or the Job must be deleted and created again")
			}
		}
		if diff := cmp.Diff(want, fired(Evaluate(context.Background(), Diff(declared(before), declared(bumped)), Builtins(), Options{}))); diff != "" {
			t.Errorf("%s: an image bump (-want +got):\n%s", dir, diff)
		}
	}
}
