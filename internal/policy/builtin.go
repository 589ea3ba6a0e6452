package policy

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"plumb.dev/plumb/internal/plural"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Names of the built-in rules, for Options.Disabled.
const (
	RuleDeleteCRD        = "delete-crd"
	RuleDeleteNamespace  = "delete-namespace"
	RuleDeleteVolume     = "delete-volume"
	RuleScaleToZero      = "scale-to-zero"
	RuleImmutableField   = "immutable-field"
	RuleRemoveResources  = "remove-resources"
	RuleRBACWildcard     = "rbac-wildcard"
	RuleBindClusterAdmin = "bind-cluster-admin"
	RuleExposeService    = "expose-service"
	RulePrivilegedPod    = "privileged-pod"
	RuleHostPath         = "host-path"
)

// Builtins returns the built-in rules, every one on by default.
func Builtins() []Rule {
	return []Rule{
		{Name: RuleDeleteCRD, Description: "deleting a CustomResourceDefinition, and with it its custom resources", Severity: SeverityDeny, Check: deleting("apiextensions.k8s.io", "CustomResourceDefinition",
			"deleting a CustomResourceDefinition deletes every custom resource of it"),
			Affected: func(ctx context.Context, c Change, n Counter) (int, error) { return n.CustomResources(ctx, c.Old) }},
		{Name: RuleDeleteNamespace, Description: "deleting a Namespace, and with it the objects in it", Severity: SeverityDeny, Check: deleting("", "Namespace",
			"deleting a Namespace deletes every object in it"),
			Affected: func(ctx context.Context, c Change, n Counter) (int, error) {
				return n.InNamespace(ctx, c.Old.GetName())
			}},
		{Name: RuleDeleteVolume, Description: "deleting a PersistentVolumeClaim or PersistentVolume", Severity: SeverityDeny, Check: func(c Change) []string {
			msgs := deleting("", "PersistentVolumeClaim", "deleting a PersistentVolumeClaim deletes its volume's data unless the volume is retained")(c)
			return append(msgs, deleting("", "PersistentVolume", "deleting a PersistentVolume loses its data unless its storage is retained")(c)...)
		}},
		{Name: RuleScaleToZero, Description: "scaling a Deployment, StatefulSet or ReplicaSet to 0", Severity: SeverityDeny, Check: scaleToZero},
		{Name: RuleImmutableField, Description: "changing a field the server will not change in place", Severity: SeverityDeny, Check: immutableField},
		{Name: RuleRemoveResources, Description: "removing every resource request and limit of a container", Severity: SeverityWarn, Check: removeResources},
		{Name: RuleRBACWildcard, Description: "granting \"*\" verbs or resources", Severity: SeverityDeny, Check: rbacWildcard},
		{Name: RuleBindClusterAdmin, Description: "binding the cluster-admin ClusterRole", Severity: SeverityDeny, Check: bindClusterAdmin},
		{Name: RuleExposeService, Description: "exposing a Service as LoadBalancer or NodePort", Severity: SeverityWarn, Check: exposeService},
		{Name: RulePrivilegedPod, Description: "running a container privileged", Severity: SeverityDeny, Check: privilegedPod},
		{Name: RuleHostPath, Description: "mounting a hostPath volume", Severity: SeverityDeny, Check: hostPath},
	}
}

// is reports whether u is of group and kind.
func is(u *unstructured.Unstructured, group, kind string) bool {
	gvk := u.GroupVersionKind()
	return u != nil && gvk.Group == group && gvk.Kind == kind
}

// deleting fires on the deletion of group/kind.
func deleting(group, kind, msg string) func(Change) []string {
	return func(c Change) []string {
		if c.Operation == OperationDelete && is(c.Old, group, kind) {
			return []string{msg}
		}
		return nil
	}
}

// scalable are the workloads whose replicas the rule watches.
var scalable = map[[2]string]bool{{"apps", "Deployment"}: true, {"apps", "StatefulSet"}: true, {"apps", "ReplicaSet"}: true, {"", "ReplicationController"}: true}

func scaleToZero(c Change) []string {
	if c.Operation != OperationUpdate {
		return nil
	}
	gvk := c.New.GroupVersionKind()
	if !scalable[[2]string{gvk.Group, gvk.Kind}] {
		return nil
	}
	n, found := replicas(c.New)
	if !found || n != 0 {
		return nil
	}
	before, found := replicas(c.Old)
	if !found {
		before = 1 // the server's default
	}
	if before == 0 {
		return nil
	}
	return []string{fmt.Sprintf("scales %s from %s to 0", gvk.Kind, plural.Count(int(before), "replica"))}
}

// replicas reads .spec.replicas, whichever number type the decoder gave.
func replicas(u *unstructured.Unstructured) (int64, bool) {
	v, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas")
	switch n := v.(type) {
	case int64:
		return n, found
	case int:
		return int64(n), found
	case float64:
		return int64(n), found
	}
	return 0, false
}

// immutable lists, per group and kind, the fields the server refuses to
// change in place: the change fails, or needs the object deleted and
// created again.
var immutable = map[[2]string][][]string{
	{"apps", "Deployment"}:  {{"spec", "selector"}},
	{"apps", "ReplicaSet"}:  {{"spec", "selector"}},
	{"apps", "DaemonSet"}:   {{"spec", "selector"}},
	{"apps", "StatefulSet"}: {{"spec", "selector"}, {"spec", "volumeClaimTemplates"}, {"spec", "serviceName"}, {"spec", "podManagementPolicy"}},
	{"batch", "Job"}:        {{"spec", "selector"}, {"spec", "template"}, {"spec", "completionMode"}},
	{"", "Service"}:         {{"spec", "clusterIP"}},
	{"", "PersistentVolumeClaim"}: {{"spec", "storageClassName"}, {"spec", "accessModes"}, {"spec", "volumeName"}, {"spec", "volumeMode"},
		{"spec", "selector"}, {"spec", "dataSource"}},
}

func immutableField(c Change) []string {
	if c.Operation != OperationUpdate {
		return nil
	}
	var out []string
	gvk := c.New.GroupVersionKind()
	for _, path := range immutable[[2]string{gvk.Group, gvk.Kind}] {
		oldV, oldOK, _ := unstructured.NestedFieldNoCopy(c.Old.Object, path...)
		newV, newOK, _ := unstructured.NestedFieldNoCopy(c.New.Object, path...)
		if !oldOK && !newOK || reflect.DeepEqual(oldV, newV) {
			continue
		}
		if gvk.Kind == "Service" && (oldV == nil || oldV == "" || newV == nil || newV == "") {
			continue // an unset clusterIP is allocated: leaving it out changes nothing
		}
		out = append(out, fmt.Sprintf("changes .%s, which the server does not change in place: the update fails, or the %s must be deleted and created again",
			joinPath(path), gvk.Kind))
	}
	// A ConfigMap or Secret marked immutable keeps its data.
	if (is(c.New, "", "ConfigMap") || is(c.New, "", "Secret")) && c.Old.Object["immutable"] == true {
		for _, f := range []string{"data", "binaryData", "stringData"} {
			if !reflect.DeepEqual(c.Old.Object[f], c.New.Object[f]) {
				out = append(out, fmt.Sprintf("changes .%s of an immutable %s: the update fails; create a new one under another name", f, gvk.Kind))
				break
			}
		}
	}
	return out
}

func joinPath(p []string) string {
	s := p[0]
	for _, e := range p[1:] {
		s += "." + e
	}
	return s
}

// podSpec returns the pod spec an object runs: a Pod's, a workload's
// template's, a CronJob's job template's.
func podSpec(u *unstructured.Unstructured) (map[string]any, bool) {
	if u == nil {
		return nil, false
	}
	var path []string
	switch gvk := u.GroupVersionKind(); {
	case gvk.Group == "" && gvk.Kind == "Pod":
		path = []string{"spec"}
	case gvk.Group == "batch" && gvk.Kind == "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case gvk.Group == "apps" || gvk.Group == "batch" && gvk.Kind == "Job" || gvk.Group == "" && gvk.Kind == "ReplicationController":
		path = []string{"spec", "template", "spec"}
	default:
		return nil, false
	}
	m, ok, _ := unstructured.NestedMap(u.Object, path...)
	return m, ok
}

// containers returns a pod spec's containers and init containers by name.
func containers(spec map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		list, _ := spec[field].([]any)
		for _, x := range list {
			if ctr, ok := x.(map[string]any); ok {
				name, _ := ctr["name"].(string)
				out[name] = ctr
			}
		}
	}
	return out
}

func hasResources(ctr map[string]any) bool {
	res, _ := ctr["resources"].(map[string]any)
	for _, k := range []string{"requests", "limits"} {
		if m, ok := res[k].(map[string]any); ok && len(m) > 0 {
			return true
		}
	}
	return false
}

func removeResources(c Change) []string {
	if c.Operation != OperationUpdate {
		return nil
	}
	oldSpec, ok1 := podSpec(c.Old)
	newSpec, ok2 := podSpec(c.New)
	if !ok1 || !ok2 {
		return nil
	}
	before, after := containers(oldSpec), containers(newSpec)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if prev, ok := before[name]; ok && hasResources(prev) && !hasResources(after[name]) {
			out = append(out, fmt.Sprintf("removes every resource request and limit of container %q", name))
		}
	}
	return out
}

// wildcards lists what a Role's or ClusterRole's rules grant to "*".
func wildcards(u *unstructured.Unstructured) map[string]bool {
	out := map[string]bool{}
	if u == nil || !is(u, "rbac.authorization.k8s.io", "Role") && !is(u, "rbac.authorization.k8s.io", "ClusterRole") {
		return out
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
	for _, r := range rules {
		m, _ := r.(map[string]any)
		for _, field := range []string{"verbs", "resources"} {
			list, _ := m[field].([]any)
			for _, v := range list {
				if v == "*" {
					out[field] = true
				}
			}
		}
	}
	return out
}

func rbacWildcard(c Change) []string {
	if c.Operation == OperationDelete {
		return nil
	}
	before := wildcards(c.Old)
	var out []string
	for _, field := range []string{"verbs", "resources"} {
		if wildcards(c.New)[field] && !before[field] {
			out = append(out, fmt.Sprintf("grants every one of the %s (\"*\")", field))
		}
	}
	return out
}

func bindsClusterAdmin(u *unstructured.Unstructured) bool {
	if u == nil || !is(u, "rbac.authorization.k8s.io", "RoleBinding") && !is(u, "rbac.authorization.k8s.io", "ClusterRoleBinding") {
		return false
	}
	kind, _, _ := unstructured.NestedString(u.Object, "roleRef", "kind")
	name, _, _ := unstructured.NestedString(u.Object, "roleRef", "name")
	return kind == "ClusterRole" && name == "cluster-admin"
}

func bindClusterAdmin(c Change) []string {
	if c.Operation != OperationDelete && bindsClusterAdmin(c.New) && !bindsClusterAdmin(c.Old) {
		return []string{"binds the cluster-admin ClusterRole"}
	}
	return nil
}

func exposeService(c Change) []string {
	if c.Operation == OperationDelete || !is(c.New, "", "Service") {
		return nil
	}
	t, _, _ := unstructured.NestedString(c.New.Object, "spec", "type")
	if t != "LoadBalancer" && t != "NodePort" {
		return nil
	}
	if c.Old != nil {
		if before, _, _ := unstructured.NestedString(c.Old.Object, "spec", "type"); before == t {
			return nil
		}
	}
	return []string{fmt.Sprintf("exposes the Service outside the cluster as %s", t)}
}

func privileged(spec map[string]any) map[string]bool {
	out := map[string]bool{}
	for name, ctr := range containers(spec) {
		if p, _, _ := unstructured.NestedBool(ctr, "securityContext", "privileged"); p {
			out[name] = true
		}
	}
	return out
}

// podSpecs returns the pod specs an object runs before and after a change
// that is not a deletion; ok is false when the object runs no pods.
func podSpecs(c Change) (before, after map[string]any, ok bool) {
	if c.Operation == OperationDelete {
		return nil, nil, false
	}
	if after, ok = podSpec(c.New); !ok {
		return nil, nil, false
	}
	before, _ = podSpec(c.Old)
	return before, after, true
}

func privilegedPod(c Change) []string {
	oldSpec, spec, ok := podSpecs(c)
	if !ok {
		return nil
	}
	before, after := privileged(oldSpec), privileged(spec)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if !before[name] {
			out = append(out, fmt.Sprintf("runs container %q privileged", name))
		}
	}
	return out
}

func hostPaths(spec map[string]any) map[string]string {
	out := map[string]string{}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		m, _ := v.(map[string]any)
		if p, ok, _ := unstructured.NestedString(m, "hostPath", "path"); ok {
			name, _ := m["name"].(string)
			out[name] = p
		}
	}
	return out
}

func hostPath(c Change) []string {
	oldSpec, spec, ok := podSpecs(c)
	if !ok {
		return nil
	}
	before, after := hostPaths(oldSpec), hostPaths(spec)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(after)) {
		if p := after[name]; before[name] != p {
			out = append(out, fmt.Sprintf("mounts the node's %s (hostPath volume %q)", p, name))
		}
	}
	return out
}
