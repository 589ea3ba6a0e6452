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

// withPodSpec returns kind's own defaults and the pod spec's under prefix.
func withPodSpec(prefix string, own map[string]isDefault) map[string]isDefault {
	out := map[string]isDefault{}
	for p, d := range podSpecDefaults {
		out[prefix+p] = d
	}
	for p, d := range own {
		out[p] = d
	}
	return out
}

// serverDefaults are, by kind and field pattern (kubectl's notation, with
// [] for any list element), the values the API server sets when a field
// is left out. They are consulted only for fields that managedFields
// cannot tell apart from declared ones (see Cleaner.declared): leaving out
// a default is safe, since the server puts it back on apply.
var serverDefaults = map[schema.GroupKind]map[string]isDefault{
	{Kind: "Pod"}:                   withPodSpec(".spec", map[string]isDefault{".spec.enableServiceLinks": equals(true)}),
	{Kind: "ReplicationController"}: withPodSpec(".spec.template.spec", nil),
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
		".spec.persistentVolumeClaimRetentionPolicy.whenDeleted": equals("Retain"),
		".spec.persistentVolumeClaimRetentionPolicy.whenScaled":  equals("Retain"),
		".spec.volumeClaimTemplates[].spec.volumeMode":           equals("Filesystem"),
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
	{Kind: "PersistentVolumeClaim"}: {".spec.volumeMode": equals("Filesystem")},
	{Kind: "Secret"}:                {".type": equals("Opaque")},
}

// isServerDefault reports whether the field at p of obj holds the value
// the server would have set for an object of kind gk.
func isServerDefault(gk schema.GroupKind, obj map[string]any, p fieldpath.Path) bool {
	d, ok := serverDefaults[gk][pattern(p)]
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
