package cost

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// workload says where a kind keeps its pod spec and its replica count.
type workload struct {
	spec     []string // path to the PodSpec
	replicas []string // path to the replica count; nil: one pod
}

var workloads = map[string]workload{
	"apps/Deployment":        {spec: []string{"spec", "template", "spec"}, replicas: []string{"spec", "replicas"}},
	"apps/StatefulSet":       {spec: []string{"spec", "template", "spec"}, replicas: []string{"spec", "replicas"}},
	"apps/ReplicaSet":        {spec: []string{"spec", "template", "spec"}, replicas: []string{"spec", "replicas"}},
	"/ReplicationController": {spec: []string{"spec", "template", "spec"}, replicas: []string{"spec", "replicas"}},
	"apps/DaemonSet":         {spec: []string{"spec", "template", "spec"}},
	"batch/Job":              {spec: []string{"spec", "template", "spec"}, replicas: []string{"spec", "parallelism"}},
	"batch/CronJob":          {spec: []string{"spec", "jobTemplate", "spec", "template", "spec"}, replicas: []string{"spec", "jobTemplate", "spec", "parallelism"}},
	"/Pod":                   {spec: []string{"spec"}},
}

// Workload reports whether objects of this group and kind run pods whose
// requests Delta adds up.
func Workload(group, kind string) bool {
	w, ok := workloads[group+"/"+kind]
	return ok && w.spec != nil
}

// Delta is live's requests minus desired's, each the pod's effective
// requests times its replicas, per resource; nil when the object is not
// a workload, either side is missing, or nothing differs.
func Delta(desired, live *unstructured.Unstructured) corev1.ResourceList {
	if desired == nil || live == nil {
		return nil
	}
	gvk := live.GroupVersionKind()
	w, ok := workloads[gvk.Group+"/"+gvk.Kind]
	if !ok || w.spec == nil {
		return nil
	}
	want, have := w.requests(desired.Object), w.requests(live.Object)
	out := corev1.ResourceList{}
	for name, q := range have {
		d := q.DeepCopy()
		if wq, ok := want[name]; ok {
			d.Sub(wq)
		}
		out[name] = d
	}
	for name, q := range want {
		if _, ok := have[name]; !ok {
			d := q.DeepCopy()
			d.Neg()
			out[name] = d
		}
	}
	for name, q := range out {
		if q.IsZero() {
			delete(out, name)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// requests are the workload's pod requests times its replicas.
func (w workload) requests(obj map[string]any) corev1.ResourceList {
	spec, _, _ := unstructured.NestedMap(obj, w.spec...)
	pod := PodRequests(spec)
	replicas := int64(1)
	if w.replicas != nil {
		if n, ok, _ := unstructured.NestedFieldNoCopy(obj, w.replicas...); ok {
			replicas = asInt(n)
		}
	}
	out := corev1.ResourceList{}
	for name, q := range pod {
		out[name] = times(q, replicas)
	}
	return out
}

// PodRequests are the effective requests of a pod spec (unstructured):
// containers and sidecars added up, or the largest plain init container
// where that asks for more.
func PodRequests(spec map[string]any) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, c := range containers(spec, "containers") {
		add(sum, containerRequests(c))
	}
	inits := corev1.ResourceList{}
	for _, c := range containers(spec, "initContainers") {
		r := containerRequests(c)
		if policy, _, _ := unstructured.NestedString(c, "restartPolicy"); policy == string(corev1.ContainerRestartPolicyAlways) {
			add(sum, r) // a sidecar runs beside the containers
			continue
		}
		for name, q := range r {
			if cur, ok := inits[name]; !ok || q.Cmp(cur) > 0 {
				inits[name] = q
			}
		}
	}
	for name, q := range inits {
		if cur, ok := sum[name]; !ok || q.Cmp(cur) > 0 {
			sum[name] = q
		}
	}
	return sum
}

func containers(spec map[string]any, field string) []map[string]any {
	list, _, _ := unstructured.NestedSlice(spec, field)
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// containerRequests are a container's requests; a resource with a limit
// and no request requests its limit, as the API server defaults it.
func containerRequests(c map[string]any) corev1.ResourceList {
	out := corev1.ResourceList{}
	requests, _, _ := unstructured.NestedMap(c, "resources", "requests")
	limits, _, _ := unstructured.NestedMap(c, "resources", "limits")
	for name, v := range limits {
		if q, ok := quantity(v); ok {
			out[corev1.ResourceName(name)] = q
		}
	}
	for name, v := range requests {
		if q, ok := quantity(v); ok {
			out[corev1.ResourceName(name)] = q
		}
	}
	return out
}

func quantity(v any) (resource.Quantity, bool) {
	switch v := v.(type) {
	case string:
		q, err := resource.ParseQuantity(v)
		return q, err == nil
	case int64:
		return *resource.NewQuantity(v, resource.DecimalSI), true
	case float64:
		q, err := resource.ParseQuantity(resource.NewMilliQuantity(int64(v*1000), resource.DecimalSI).String())
		return q, err == nil
	}
	return resource.Quantity{}, false
}

func asInt(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case float64:
		return int64(v)
	case int:
		return int64(v)
	}
	return 1
}

func add(into, r corev1.ResourceList) {
	for name, q := range r {
		cur := into[name]
		cur.Add(q)
		into[name] = cur
	}
}

// times multiplies q by n (quantities have no Mul), to the milli-unit.
func times(q resource.Quantity, n int64) resource.Quantity {
	n = max(n, 0)
	if q.Format == resource.BinarySI && q.MilliValue()%1000 == 0 {
		return *resource.NewQuantity(q.Value()*n, resource.BinarySI)
	}
	return *resource.NewMilliQuantity(q.MilliValue()*n, q.Format)
}
