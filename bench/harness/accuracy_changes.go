package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// changeKind says what a drift detector should make of a change.
type changeKind string

const (
	// kindDrift is a real drift: a declared field or object no longer is
	// as declared, or a field was added to a declared object. It must be
	// reported, on the changed object.
	kindDrift changeKind = "drift"
	// kindNoop changes nothing a source declares: it must not be reported.
	kindNoop changeKind = "no-op"
)

// object is one declared object with where it lives.
type object struct {
	// u is the object as the set declares it (as rendered); the harness
	// never edits it.
	u   *unstructured.Unstructured
	key objectKey
	// apiVersion is u's, for kubectl diff's file names.
	apiVersion string
}

// objectKey names an object across API versions.
type objectKey struct {
	Group, Kind, Namespace, Name string
}

func (k objectKey) String() string {
	kind := k.Kind
	if k.Group != "" {
		kind += "." + k.Group
	}
	if k.Namespace == "" {
		return kind + " " + k.Name
	}
	return kind + " " + k.Namespace + "/" + k.Name
}

// ref is the object's name for kubectl's resource arguments, with the
// namespace flag it needs.
func (o *object) ref() []string {
	r := strings.ToLower(o.key.Kind)
	if o.key.Group != "" {
		r += "." + o.key.Group
	}
	r += "/" + o.key.Name
	if o.key.Namespace == "" {
		return []string{r}
	}
	return []string{r, "-n", o.key.Namespace}
}

// kubectlDiffName is the file name kubectl diff gives the object in the
// folders it compares (k8s.io/kubectl/pkg/cmd/diff InfoObject.Name), which
// its output prints in each "diff -u -N" line.
func (o *object) kubectlDiffName() string {
	gv, _ := schema.ParseGroupVersion(o.apiVersion)
	name := fmt.Sprintf("%s.%s.%s.%s", gv.Version, o.key.Kind, o.key.Namespace, o.key.Name)
	if gv.Group != "" {
		name = gv.Group + "." + name
	}
	return name
}

// planInput is what a change is planned from.
type planInput struct {
	objects []*object
	// otherApply re-applies the whole set with the deploy mode not used.
	otherApply []string
}

// plan is one change planned for one set.
type plan struct {
	// target is the object the change touches; nil when it touches none
	// or all.
	target *object
	// all: the change touches every object of the set.
	all bool
	// commands are kubectl's arguments, run in order.
	commands []command
	// fields are where a drift shows on target, as prefixes of plumb's
	// paths; a reported change of target elsewhere is an extra field.
	fields []string
	// missing: the drift is target's deletion.
	missing bool
}

// command is one kubectl invocation.
type command struct {
	args  []string
	stdin []byte
}

// change is something engineers do to a live cluster.
type change struct {
	name string
	kind changeKind
	// plan picks the object the change is made to in a set, and how;
	// false when the set holds no object it fits.
	plan func(in planInput) (plan, bool)
}

// changes are the changes -accuracy makes, each to a fresh deployment of
// a set. Each picks its object by kind and by what the object declares,
// so a new set needs no new code.
var changes = []change{
	{name: "none", kind: kindNoop, plan: func(planInput) (plan, bool) { return plan{}, true }},

	{name: "scale", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// Only a Deployment that declares replicas: one that leaves them
		// to an autoscaler does not drift when scaled.
		o, ok := first(in.objects, func(o *object) bool {
			_, found, _ := unstructured.NestedFieldNoCopy(o.u.Object, "spec", "replicas")
			return isDeployment(o) && found
		})
		if !ok {
			return plan{}, false
		}
		n, _, _ := unstructured.NestedInt64(o.u.Object, "spec", "replicas")
		return kubectlPlan(o, []string{".spec.replicas"}, append([]string{"scale"}, append(o.ref(), fmt.Sprintf("--replicas=%d", n+1))...)), true
	}},

	{name: "set-image", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, c, ok := firstContainer(in.objects, func(map[string]any) bool { return true })
		if !ok {
			return plan{}, false
		}
		name, _ := c["name"].(string)
		image, _ := c["image"].(string)
		return kubectlPlan(o, []string{containerPath(name) + ".image"},
			append(append([]string{"set", "image"}, o.ref()...), name+"="+otherImage(image))), true
	}},

	{name: "set-image-other-manager", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// As an image updater does: set image under its own field
		// manager, so the image is the only field that manager owns.
		o, c, ok := firstContainer(in.objects, func(map[string]any) bool { return true })
		if !ok {
			return plan{}, false
		}
		name, _ := c["name"].(string)
		image, _ := c["image"].(string)
		return kubectlPlan(o, []string{containerPath(name) + ".image"},
			append(append([]string{"set", "image"}, o.ref()...), name+"="+otherImage(image), "--field-manager=image-updater")), true
	}},

	{name: "set-env", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, c, ok := firstContainer(in.objects, func(map[string]any) bool { return true })
		if !ok {
			return plan{}, false
		}
		name, _ := c["name"].(string)
		return kubectlPlan(o, []string{containerPath(name) + ".env"},
			append(append([]string{"set", "env"}, o.ref()...), "-c", name, "PLUMB_BENCH_DRIFT=1")), true
	}},

	{name: "set-resources", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// A declared quantity doubled; a container that declares none
		// gets a CPU limit added.
		o, c, ok := firstContainer(in.objects, func(c map[string]any) bool { _, _, ok := firstQuantity(c); return ok })
		flag := "--limits=cpu=250m"
		if ok {
			class, res, _ := firstQuantity(c)
			q := resource.MustParse(quantityAt(c, class, res))
			q.Add(q)
			flag = fmt.Sprintf("--%s=%s=%s", class, res, q.String())
		} else if o, c, ok = firstContainer(in.objects, func(map[string]any) bool { return true }); !ok {
			return plan{}, false
		}
		name, _ := c["name"].(string)
		return kubectlPlan(o, []string{containerPath(name) + ".resources"},
			append(append([]string{"set", "resources"}, o.ref()...), "-c", name, flag)), true
	}},

	{name: "label-add", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, ok := preferred(in.objects, func(*object) bool { return true })
		if !ok {
			return plan{}, false
		}
		return kubectlPlan(o, []string{".metadata.labels"}, append(append([]string{"label"}, o.ref()...), "plumb-bench-drift=true")), true
	}},

	{name: "annotate-add", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, ok := preferred(in.objects, func(*object) bool { return true })
		if !ok {
			return plan{}, false
		}
		return kubectlPlan(o, []string{".metadata.annotations"}, append(append([]string{"annotate"}, o.ref()...), "plumb.dev/bench-drift=true")), true
	}},

	{name: "label-remove", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, ok := preferred(in.objects, func(o *object) bool { return len(o.u.GetLabels()) > 0 })
		if !ok {
			return plan{}, false
		}
		// The first in name order, but not the label Helm adds to every
		// object when the object has others.
		var keys []string
		for k := range o.u.GetLabels() {
			if k != "app.kubernetes.io/managed-by" {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			keys = []string{"app.kubernetes.io/managed-by"}
		}
		slices.Sort(keys)
		return kubectlPlan(o, []string{".metadata.labels"}, append(append([]string{"label"}, o.ref()...), keys[0]+"-")), true
	}},

	{name: "configmap-data", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// A declared key's value changed; a ConfigMap without data gets
		// a key added.
		o, ok := first(in.objects, func(o *object) bool { return isKind(o, "", "ConfigMap") && len(stringMap(o.u.Object, "data")) > 0 })
		key, value := "plumb-bench-drift", "true"
		if ok {
			data := stringMap(o.u.Object, "data")
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			key, value = keys[0], "plumb-bench-drift"
			if data[key] == value {
				value += "-2"
			}
		} else if o, ok = first(in.objects, func(o *object) bool { return isKind(o, "", "ConfigMap") }); !ok {
			return plan{}, false
		}
		patch, _ := json.Marshal(map[string]any{"data": map[string]string{key: value}})
		return kubectlPlan(o, []string{".data"}, append(append([]string{"patch"}, o.ref()...), "--type=merge", "-p", string(patch))), true
	}},

	{name: "container-port", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// As kubectl edit would: a JSON patch of the first declared port.
		for _, o := range in.objects {
			if !isDeployment(o) {
				continue
			}
			for i, c := range containers(o) {
				ports, _ := c["ports"].([]any)
				if len(ports) == 0 {
					continue
				}
				port, _ := ports[0].(map[string]any)
				n, ok := intValue(port["containerPort"])
				if !ok {
					continue
				}
				name, _ := c["name"].(string)
				patch := jsonPatch(fmt.Sprintf("/spec/template/spec/containers/%d/ports/0/containerPort", i), otherPort(n))
				return kubectlPlan(o, []string{containerPath(name) + ".ports"}, append(append([]string{"patch"}, o.ref()...), "--type=json", "-p", patch)), true
			}
		}
		return plan{}, false
	}},

	{name: "service-port", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, ok := first(in.objects, func(o *object) bool {
			ports, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ports")
			return isKind(o, "", "Service") && len(ports) > 0
		})
		if !ok {
			return plan{}, false
		}
		ports, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ports")
		port, _ := ports[0].(map[string]any)
		n, ok := intValue(port["port"])
		if !ok {
			return plan{}, false
		}
		patch := jsonPatch("/spec/ports/0/port", otherPort(n))
		return kubectlPlan(o, []string{".spec.ports"}, append(append([]string{"patch"}, o.ref()...), "--type=json", "-p", patch)), true
	}},

	{name: "service-target-port", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// The port numbers above are merge keys: a declared port whose
		// number was edited no longer merges with the live one, and the
		// declaration may then not apply at all (two ports of one name).
		// targetPort is an ordinary field of the same entry.
		hasPorts := func(o *object) bool {
			ports, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ports")
			return isKind(o, "", "Service") && len(ports) > 0
		}
		o, ok := first(in.objects, func(o *object) bool {
			ports, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ports")
			if !hasPorts(o) {
				return false
			}
			port, _ := ports[0].(map[string]any)
			_, declared := port["targetPort"]
			return declared
		})
		if !ok {
			if o, ok = first(in.objects, hasPorts); !ok {
				return plan{}, false
			}
		}
		ports, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ports")
		port, _ := ports[0].(map[string]any)
		target := int64(9999)
		if n, isInt := intValue(port["targetPort"]); isInt && n == target {
			target--
		}
		patch := jsonPatch("/spec/ports/0/targetPort", target)
		return kubectlPlan(o, []string{".spec.ports"}, append(append([]string{"patch"}, o.ref()...), "--type=json", "-p", patch)), true
	}},

	{name: "hotfix-apply", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		// Another field manager server-side applies the declared
		// Deployment with its first container's image changed, taking
		// the field over with --force-conflicts.
		o, c, ok := firstContainer(in.objects, func(map[string]any) bool { return true })
		if !ok {
			return plan{}, false
		}
		name, _ := c["name"].(string)
		mod := o.u.DeepCopy()
		mod.SetNamespace(o.key.Namespace)
		cs, _, _ := unstructured.NestedSlice(mod.Object, "spec", "template", "spec", "containers")
		first := cs[0].(map[string]any)
		image, _ := first["image"].(string)
		first["image"] = otherImage(image)
		_ = unstructured.SetNestedSlice(mod.Object, cs, "spec", "template", "spec", "containers")
		body, err := yaml.Marshal(mod.Object)
		if err != nil {
			return plan{}, false
		}
		return plan{target: o, fields: []string{containerPath(name) + ".image"}, commands: []command{{
			args:  []string{"apply", "--server-side", "--field-manager=hotfix", "--force-conflicts", "-f", "-"},
			stdin: body,
		}}}, true
	}},

	{name: "delete", kind: kindDrift, plan: func(in planInput) (plan, bool) {
		o, ok := preferredOf(in.objects, []objectKey{{Kind: "Service"}, {Kind: "ConfigMap"}, {Group: "apps", Kind: "Deployment"}},
			func(o *object) bool { return o.key.Namespace != "" })
		if !ok {
			return plan{}, false
		}
		p := kubectlPlan(o, nil, append(append([]string{"delete"}, o.ref()...), "--wait=true"))
		p.missing = true
		return p, true
	}},

	{name: "ssa-defaults", kind: kindNoop, plan: func(in planInput) (plan, bool) {
		// Another manager server-side applies fields the source leaves
		// out, at the values the API server defaults them to.
		for _, o := range in.objects {
			if !isDeployment(o) {
				continue
			}
			spec := map[string]any{}
			for field, value := range map[string]int64{"progressDeadlineSeconds": 600, "revisionHistoryLimit": 10} {
				if _, found, _ := unstructured.NestedFieldNoCopy(o.u.Object, "spec", field); !found {
					spec[field] = value
				}
			}
			cs := containers(o)
			if len(cs) > 0 {
				if _, declared := cs[0]["terminationMessagePath"]; !declared {
					spec["template"] = map[string]any{"spec": map[string]any{"containers": []any{
						map[string]any{"name": cs[0]["name"], "terminationMessagePath": "/dev/termination-log"},
					}}}
				}
			}
			if len(spec) == 0 {
				continue
			}
			partial := map[string]any{
				"apiVersion": o.apiVersion, "kind": o.key.Kind,
				"metadata": map[string]any{"name": o.key.Name, "namespace": o.key.Namespace},
				"spec":     spec,
			}
			body, err := yaml.Marshal(partial)
			if err != nil {
				return plan{}, false
			}
			return plan{target: o, commands: []command{{
				args:  []string{"apply", "--server-side", "--field-manager=other", "-f", "-"},
				stdin: body,
			}}}, true
		}
		return plan{}, false
	}},

	{name: "quantity-spelling", kind: kindNoop, plan: func(in planInput) (plan, bool) {
		// Every declared quantity of a container patched to the same
		// value spelt another way (500m as 0.5, 128Mi as 134217728).
		o, c, ok := firstContainer(in.objects, func(c map[string]any) bool { _, _, ok := firstQuantity(c); return ok })
		if !ok {
			return plan{}, false
		}
		res := map[string]any{}
		for _, class := range []string{"limits", "requests"} {
			m, _ := c["resources"].(map[string]any)
			qs, _ := m[class].(map[string]any)
			out := map[string]any{}
			for name, v := range qs {
				s, ok := quantityString(v)
				if !ok {
					continue
				}
				if other, ok := respell(s); ok {
					out[name] = other
				}
			}
			if len(out) > 0 {
				res[class] = out
			}
		}
		if len(res) == 0 {
			return plan{}, false
		}
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": c["name"], "resources": res}},
		}}}})
		return kubectlPlan(o, nil, append(append([]string{"patch"}, o.ref()...), "-p", string(patch))), true
	}},

	{name: "rollout-restart", kind: kindNoop, plan: func(in planInput) (plan, bool) {
		o, ok := first(in.objects, isDeployment)
		if !ok {
			return plan{}, false
		}
		return kubectlPlan(o, nil, append([]string{"rollout", "restart"}, o.ref()...)), true
	}},

	{name: "controller-annotation", kind: kindNoop, plan: func(in planInput) (plan, bool) {
		o, ok := first(in.objects, isDeployment)
		if !ok {
			return plan{}, false
		}
		return kubectlPlan(o, nil, append(append([]string{"annotate"}, o.ref()...), "deployment.kubernetes.io/revision=1")), true
	}},

	// Last: it touches every object, so the set is deployed afresh after it.
	{name: "reapply-other-mode", kind: kindNoop, plan: func(in planInput) (plan, bool) {
		return plan{all: true, commands: []command{{args: in.otherApply}}}, true
	}},
}

// selectChanges returns the changes named in the comma-separated list
// (all when it is empty), in the order of changes.
func selectChanges(names string) ([]change, error) {
	if strings.TrimSpace(names) == "" {
		return changes, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []change
	for _, c := range changes {
		if want[c.name] {
			out = append(out, c)
			delete(want, c.name)
		}
	}
	if len(want) > 0 {
		var known, unknown []string
		for _, c := range changes {
			known = append(known, c.name)
		}
		for n := range want {
			unknown = append(unknown, n)
		}
		slices.Sort(unknown)
		return nil, fmt.Errorf("-changes: unknown %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

func kubectlPlan(o *object, fields []string, args []string) plan {
	return plan{target: o, fields: fields, commands: []command{{args: args}}}
}

func isKind(o *object, group, kind string) bool { return o.key.Group == group && o.key.Kind == kind }

func isDeployment(o *object) bool { return isKind(o, "apps", "Deployment") }

func first(objs []*object, ok func(*object) bool) (*object, bool) {
	for _, o := range objs {
		if ok(o) {
			return o, true
		}
	}
	return nil, false
}

// preferred is the first object that satisfies ok, a Deployment before a
// Service before a ConfigMap before any other kind but Namespaces and
// CustomResourceDefinitions.
func preferred(objs []*object, ok func(*object) bool) (*object, bool) {
	return preferredOf(objs, []objectKey{{Group: "apps", Kind: "Deployment"}, {Kind: "Service"}, {Kind: "ConfigMap"}}, ok)
}

func preferredOf(objs []*object, kinds []objectKey, ok func(*object) bool) (*object, bool) {
	for _, k := range kinds {
		if o, found := first(objs, func(o *object) bool { return isKind(o, k.Group, k.Kind) && ok(o) }); found {
			return o, true
		}
	}
	return first(objs, func(o *object) bool {
		return !isKind(o, "", "Namespace") && !isKind(o, "apiextensions.k8s.io", "CustomResourceDefinition") && ok(o)
	})
}

// containers are a Deployment's declared containers.
func containers(o *object) []map[string]any {
	cs, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "template", "spec", "containers")
	var out []map[string]any
	for _, c := range cs {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// firstContainer is the first container of a Deployment that satisfies ok.
func firstContainer(objs []*object, ok func(map[string]any) bool) (*object, map[string]any, bool) {
	for _, o := range objs {
		if !isDeployment(o) {
			continue
		}
		for _, c := range containers(o) {
			if _, named := c["name"].(string); named && ok(c) {
				return o, c, true
			}
		}
	}
	return nil, nil, false
}

// containerPath is plumb's path of a container.
func containerPath(name string) string {
	return ".spec.template.spec.containers[name=" + strconv.Quote(name) + "]"
}

// firstQuantity is the first quantity a container declares: limits before
// requests, cpu before memory before others in name order.
func firstQuantity(c map[string]any) (class, name string, ok bool) {
	res, _ := c["resources"].(map[string]any)
	for _, class := range []string{"limits", "requests"} {
		qs, _ := res[class].(map[string]any)
		names := make([]string, 0, len(qs))
		for n := range qs {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int {
			rank := func(s string) int {
				switch s {
				case "cpu":
					return 0
				case "memory":
					return 1
				}
				return 2
			}
			if d := rank(a) - rank(b); d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		for _, n := range names {
			if _, ok := quantityString(qs[n]); ok {
				return class, n, true
			}
		}
	}
	return "", "", false
}

func quantityAt(c map[string]any, class, name string) string {
	res, _ := c["resources"].(map[string]any)
	qs, _ := res[class].(map[string]any)
	s, _ := quantityString(qs[name])
	return s
}

// quantityString is a declared quantity as written: YAML gives 1 as a
// number and 500m as a string.
func quantityString(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return "", false
	}
	if _, err := resource.ParseQuantity(s); err != nil {
		return "", false
	}
	return s, true
}

// respell writes quantity s another way with the same value: a decimal
// or binary suffix as the plain number (128Mi as 134217728), millis as a
// decimal fraction (500m as 0.5) or a whole number (2000m as 2), and a
// plain number in millis (1 as 1000m, 0.5 as 500m).
func respell(s string) (string, bool) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return "", false
	}
	var out string
	switch {
	case strings.HasSuffix(s, "m"):
		milli := q.MilliValue()
		if milli%1000 == 0 {
			out = strconv.FormatInt(milli/1000, 10)
		} else {
			out = strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
		}
	case strings.TrimLeft(s, "0123456789.+-") == "":
		out = strconv.FormatInt(q.MilliValue(), 10) + "m"
	default:
		out = strconv.FormatInt(q.Value(), 10)
	}
	back, err := resource.ParseQuantity(out)
	if err != nil || back.Cmp(q) != 0 || out == s {
		return "", false
	}
	return out, true
}

// otherImage is image with another tag.
func otherImage(image string) string {
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	if colon := strings.LastIndex(image, ":"); colon > strings.LastIndex(image, "/") {
		image = image[:colon]
	}
	return image + ":plumb-bench-drift"
}

func otherPort(n int64) int64 {
	if n >= 65535 {
		return n - 1
	}
	return n + 1
}

func jsonPatch(path string, value any) string {
	b, _ := json.Marshal([]map[string]any{{"op": "replace", "path": path, "value": value}})
	return string(b)
}

func intValue(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), v == float64(int64(v))
	}
	return 0, false
}

func stringMap(obj map[string]any, field string) map[string]string {
	m, _, _ := unstructured.NestedStringMap(obj, field)
	return m
}
