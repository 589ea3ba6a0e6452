package snapshot

import (
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"plumb.dev/plumb/internal/drift"
)

// isDefault reports whether v, found in the map parent, is the value the
// server would set had the field been left out.
type isDefault func(v any, parent map[string]any) bool

func equals(d any) isDefault {
	return func(v any, _ map[string]any) bool { return sameValue(v, d) }
}

func sameValue(a, b any) bool {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int); ok {
			return x == int64(y)
		}
	}
	return reflect.DeepEqual(a, b)
}

// emptyMap is the default of a struct the server fills in as {}.
var emptyMap = equals(map[string]any{})

// imagePullPolicy defaults to Always for an image without a tag or tagged
// latest, else IfNotPresent.
func imagePullPolicy(v any, parent map[string]any) bool {
	image, _ := parent["image"].(string)
	want := "IfNotPresent"
	if name := image[strings.LastIndex(image, "/")+1:]; !strings.Contains(image, "@") &&
		(!strings.Contains(name, ":") || strings.HasSuffix(name, ":latest")) {
		want = "Always"
	}
	return v == want
}

// targetPort defaults to the port.
func targetPort(v any, parent map[string]any) bool { return sameValue(parent["port"], v) }

// podSpecDefaults are the defaults of a pod spec and its containers
// (SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe, … in
// k8s.io/kubernetes/pkg/apis/core/v1/defaults.go), relative to the spec.
var podSpecDefaults = func() map[string]isDefault {
	out := map[string]isDefault{
		".dnsPolicy":                                         equals("ClusterFirst"),
		".restartPolicy":                                     equals("Always"),
		".schedulerName":                                     equals("default-scheduler"),
		".securityContext":                                   emptyMap,
		".terminationGracePeriodSeconds":                     equals(30),
		".volumes[].configMap.defaultMode":                   equals(420),
		".volumes[].secret.defaultMode":                      equals(420),
		".volumes[].projected.defaultMode":                   equals(420),
		".volumes[].downwardAPI.defaultMode":                 equals(420),
		".volumes[].hostPath.type":                           equals(""),
		".volumes[].emptyDir.medium":                         equals(""),
		".volumes[].downwardAPI.items[].fieldRef.apiVersion": equals("v1"),
	}
	// A generic ephemeral volume's claim template: the server writes its
	// metadata as {} and defaults its spec as a claim's.
	out[".volumes[].ephemeral.volumeClaimTemplate.metadata"] = emptyMap
	for p, d := range under(".volumes[].ephemeral.volumeClaimTemplate", pvcDefaults) {
		out[p] = d
	}
	for _, c := range []string{".containers[]", ".initContainers[]"} {
		out[c+".terminationMessagePath"] = equals("/dev/termination-log")
		out[c+".terminationMessagePolicy"] = equals("File")
		out[c+".imagePullPolicy"] = imagePullPolicy
		out[c+".resources"] = emptyMap
		out[c+".ports[].protocol"] = equals("TCP")
		out[c+".env[].valueFrom.fieldRef.apiVersion"] = equals("v1")
		for _, p := range []string{".livenessProbe", ".readinessProbe", ".startupProbe"} {
			out[c+p+".timeoutSeconds"] = equals(1)
			out[c+p+".periodSeconds"] = equals(10)
			out[c+p+".successThreshold"] = equals(1)
			out[c+p+".failureThreshold"] = equals(3)
			out[c+p+".httpGet.scheme"] = equals("HTTP")
		}
	}
	return out
}()

// pvcDefaults are the defaults of a PersistentVolumeClaim, also where one
// is embedded as a template (SetDefaults_PersistentVolumeClaimSpec).
var pvcDefaults = map[string]isDefault{".spec.volumeMode": equals("Filesystem")}

// under returns defaults with prefix put before each field pattern.
func under(prefix string, defaults map[string]isDefault) map[string]isDefault {
	out := make(map[string]isDefault, len(defaults))
	for p, d := range defaults {
		out[prefix+p] = d
	}
	return out
}

// withPodSpec returns kind's own defaults and the pod spec's under prefix.
func withPodSpec(prefix string, own ...map[string]isDefault) map[string]isDefault {
	out := under(prefix, podSpecDefaults)
	for _, m := range own {
		for p, d := range m {
			out[p] = d
		}
	}
	return out
}

// embedded are, by kind and field pattern, the objects a kind holds whole
// (a StatefulSet's volumeClaimTemplates are PersistentVolumeClaims). The
// server defaults them as objects of their own, status included ({phase:
// Pending}), and writes their apiVersion and kind; their status and
// bookkeeping are never declared.
var embedded = map[schema.GroupKind]map[string]schema.GroupVersionKind{
	{Group: "apps", Kind: "StatefulSet"}: {".spec.volumeClaimTemplates[]": {Version: "v1", Kind: "PersistentVolumeClaim"}},
}

// serverDefaults are, by kind and field pattern (kubectl's notation, with
// [] for any list element), the values the API server sets when a field
// is left out. They are consulted only for fields that managedFields
// cannot tell apart from declared ones (see Cleaner.declared): leaving out
// a default is safe, since the server puts it back on apply.
var serverDefaults = map[schema.GroupKind]map[string]isDefault{
	{Kind: "Pod"}:                   withPodSpec(".spec", map[string]isDefault{".spec.enableServiceLinks": equals(true)}),
	{Kind: "ReplicationController"}: withPodSpec(".spec.template.spec"),
	{Group: "apps", Kind: "Deployment"}: withPodSpec(".spec.template.spec", map[string]isDefault{
		".spec.replicas":                              equals(1),
		".spec.revisionHistoryLimit":                  equals(10),
		".spec.progressDeadlineSeconds":               equals(600),
		".spec.strategy.type":                         equals("RollingUpdate"),
		".spec.strategy.rollingUpdate.maxSurge":       equals("25%"),
		".spec.strategy.rollingUpdate.maxUnavailable": equals("25%"),
	}),
	{Group: "apps", Kind: "StatefulSet"}: withPodSpec(".spec.template.spec", map[string]isDefault{
		".spec.replicas":                                         equals(1),
		".spec.revisionHistoryLimit":                             equals(10),
		".spec.podManagementPolicy":                              equals("OrderedReady"),
		".spec.updateStrategy.type":                              equals("RollingUpdate"),
		".spec.updateStrategy.rollingUpdate.partition":           equals(0),
		".spec.updateStrategy.rollingUpdate.maxUnavailable":      equals(1),
		".spec.persistentVolumeClaimRetentionPolicy.whenDeleted": equals("Retain"),
		".spec.persistentVolumeClaimRetentionPolicy.whenScaled":  equals("Retain"),
	}),
	{Group: "apps", Kind: "DaemonSet"}: withPodSpec(".spec.template.spec", map[string]isDefault{
		".spec.revisionHistoryLimit":                        equals(10),
		".spec.updateStrategy.type":                         equals("RollingUpdate"),
		".spec.updateStrategy.rollingUpdate.maxUnavailable": equals(1),
		".spec.updateStrategy.rollingUpdate.maxSurge":       equals(0),
	}),
	{Group: "batch", Kind: "Job"}: withPodSpec(".spec.template.spec", map[string]isDefault{
		".spec.backoffLimit":         equals(6),
		".spec.completions":          equals(1),
		".spec.parallelism":          equals(1),
		".spec.completionMode":       equals("NonIndexed"),
		".spec.suspend":              equals(false),
		".spec.podReplacementPolicy": equals("TerminatingOrFailed"),
	}),
	{Group: "batch", Kind: "CronJob"}: withPodSpec(".spec.jobTemplate.spec.template.spec", map[string]isDefault{
		".spec.concurrencyPolicy":          equals("Allow"),
		".spec.suspend":                    equals(false),
		".spec.successfulJobsHistoryLimit": equals(3),
		".spec.failedJobsHistoryLimit":     equals(1),
	}),
	{Kind: "Service"}: {
		".spec.type":                  equals("ClusterIP"),
		".spec.sessionAffinity":       equals("None"),
		".spec.internalTrafficPolicy": equals("Cluster"),
		".spec.ports[].protocol":      equals("TCP"),
		".spec.ports[].targetPort":    targetPort,
	},
	{Kind: "PersistentVolumeClaim"}: pvcDefaults,
	{Kind: "Secret"}:                {".type": equals("Opaque")},
}

// defaultAt returns the default of the field at pattern p in an object of
// kind gk: the kind's own, or that of an object it embeds there.
func defaultAt(gk schema.GroupKind, p string) (isDefault, bool) {
	if d, ok := serverDefaults[gk][p]; ok {
		return d, true
	}
	for at, gvk := range embedded[gk] {
		rest, ok := strings.CutPrefix(p, at)
		if !ok || !strings.HasPrefix(rest, ".") {
			continue
		}
		switch rest {
		case ".apiVersion":
			return equals(gvk.GroupVersion().String()), true
		case ".kind":
			return equals(gvk.Kind), true
		}
		if d, ok := serverDefaults[gvk.GroupKind()][rest]; ok {
			return d, true
		}
	}
	return nil, false
}

// isServerDefault reports whether the field at p of obj holds the value
// the server would have set for an object of kind gk.
func isServerDefault(gk schema.GroupKind, obj map[string]any, p fieldpath.Path) bool {
	d, ok := defaultAt(gk, pattern(p))
	if !ok {
		return false
	}
	v, ok := drift.FieldValue(obj, p)
	if !ok {
		return false
	}
	parent, _ := drift.FieldValue(obj, p[:len(p)-1])
	m, _ := parent.(map[string]any)
	return d(v, m)
}

// pattern writes p as serverDefaults' keys do: field names after dots, []
// for any list element.
func pattern(p fieldpath.Path) string {
	var b strings.Builder
	for _, pe := range p {
		if pe.FieldName != nil {
			b.WriteString("." + *pe.FieldName)
		} else {
			b.WriteString("[]")
		}
	}
	return b.String()
}

// pruneWhole removes what the server set by itself from the fields of
// declared that hold a whole map or list in obj. managedFields own an
// atomic field (a StatefulSet's volumeClaimTemplates: listType atomic) as
// one piece, the defaults and the status the server wrote into it
// included, so the field set cannot leave those out; the value can.
func pruneWhole(gk schema.GroupKind, obj map[string]any, declared *fieldpath.Set) {
	for p := range declared.Leaves().All() {
		v, ok := drift.FieldValue(obj, p)
		if !ok {
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			prune(gk, v, pattern(p))
		}
	}
}

// prune removes from v, found at pattern at in an object of kind gk, the
// fields holding the server's defaults, and maps and lists left empty by
// that. It reports whether it removed anything.
func prune(gk schema.GroupKind, v any, at string) bool {
	removed := false
	switch v := v.(type) {
	case []any:
		for _, el := range v {
			removed = prune(gk, el, at+"[]") || removed
		}
	case map[string]any:
		for k, child := range v {
			p := at + "." + k
			if d, ok := defaultAt(gk, p); ok && d(child, v) {
				delete(v, k)
				removed = true
				continue
			}
			if prune(gk, child, p) {
				removed = true
				if empty(child) {
					delete(v, k)
				}
			}
		}
	}
	return removed
}

// empty reports a map or list with nothing in it.
func empty(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// eachEmbedded calls fn with every object that obj, of kind gk, embeds
// (see embedded).
func eachEmbedded(gk schema.GroupKind, obj map[string]any, fn func(map[string]any)) {
	for at := range embedded[gk] {
		walk(obj, at, fn)
	}
}

// walk calls fn with each map found at pattern p below v.
func walk(v any, p string, fn func(map[string]any)) {
	if p == "" {
		if m, ok := v.(map[string]any); ok {
			fn(m)
		}
		return
	}
	if rest, ok := strings.CutPrefix(p, "[]"); ok {
		l, _ := v.([]any)
		for _, el := range l {
			walk(el, rest, fn)
		}
		return
	}
	name, rest := p[1:], ""
	if i := strings.IndexAny(name, ".["); i >= 0 {
		name, rest = name[:i], name[i:]
	}
	if m, ok := v.(map[string]any); ok {
		if child, ok := m[name]; ok {
			walk(child, rest, fn)
		}
	}
}
