package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// shopValues are values that make the chart watch examples/shop in ns,
// with extra (YAML) merged over them.
func shopValues(t testing.TB, ns string, extra string) map[string]any {
	t.Helper()
	manifests := map[string]any{}
	for _, f := range []string{"api.yaml", "config.yaml", "web.yaml", "worker.yaml"} {
		b, err := os.ReadFile(filepath.Join("../../examples/shop", f))
		if err != nil {
			t.Fatal(err)
		}
		manifests[f] = string(b)
	}
	base := map[string]any{"sources": map[string]any{"namespace": ns, "manifests": manifests}}
	return merge(base, values(t, extra))
}

// merge merges over into base, maps key by key, as helm merges -f files.
func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				base[k] = merge(bm, vm)
				continue
			}
		}
		base[k] = v
	}
	return base
}

func typed[T any](t testing.TB, o *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
	}
	return out
}

var rel = release{name: "plumb", namespace: "plumb-system"}

// TestLint: helm lint --strict passes with sources, and with every option
// on; with nothing to compare, rendering stops and says what to set.
func TestLint(t *testing.T) {
	if err := lint(shopValues(t, "shop", "")); err != nil {
		t.Errorf("lint with the shop: %v", err)
	}
	if err := lint(shopValues(t, "shop", everything)); err != nil {
		t.Errorf("lint with every option: %v", err)
	}
	_, _, err := render(rel, nil)
	if err == nil || !strings.Contains(err.Error(), "set sources.manifests, sources.configMaps or sources.remote") {
		t.Errorf("render with no sources: %v, want an error naming the values to set", err)
	}
}

// everything turns every option of the chart on, but sharding (a fleet's,
// with PostgreSQL: TestSharding).
const everything = `
remediation: {enabled: true, mode: auto}
admission: {enabled: true, mode: enforce, tokenSecret: {name: plumb-admission}, deployers: ["system:serviceaccount:flux-system:*"], breakGlass: [sre]}
audit: {enabled: true, tlsSecret: plumb-audit-tls, tokenSecret: {name: plumb-audit}}
serviceMonitor: {enabled: true}
pdb: {enabled: true}
unmanaged: true
store: {persistence: {enabled: true}}
sources:
  configMaps: [more-manifests]
  remote: ["git+https://example.com/acme/platform.git//deploy?ref=main"]
remoteClusters: {kubeconfigs: {prod-eu: "apiVersion: v1\nkind: Config\n"}}
allowedHosts: [plumb.example.com]
`

// TestDeploymentIsLockedDown: the pod runs as non-root with a read-only
// root filesystem, no capabilities and the runtime's seccomp profile; the
// probes are /healthz and /readyz; the store and /tmp are volumes; the API
// listens beyond loopback only with the token, for the Service's names.
func TestDeploymentIsLockedDown(t *testing.T) {
	_, objs := mustRender(t, rel, shopValues(t, "shop", ""))
	d := typed[appsv1.Deployment](t, mustFind(t, objs, "Deployment", "plumb"))
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if psc := spec.SecurityContext; psc == nil || !ptr.Deref(psc.RunAsNonRoot, false) || ptr.Deref(psc.RunAsUser, 0) != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v: want non-root 65532 and seccomp RuntimeDefault", psc)
	}
	sc := c.SecurityContext
	if sc == nil || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) || ptr.Deref(sc.AllowPrivilegeEscalation, true) ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext %+v: want a read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe %+v, want /healthz", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %+v, want /readyz", p)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want memory requests and limits", c.Resources)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for _, path := range []string{"/var/lib/plumb", "/tmp", "/etc/plumb/config", "/var/run/secrets/plumb", "/etc/plumb/sources/inline"} {
		if mounts[path] == "" {
			t.Errorf("nothing mounted at %s; mounts %v", path, mounts)
		}
	}
	p := pod{args: c.Args}
	wantFlags := map[string]string{
		"listen":      "0.0.0.0:8080",
		"token-file":  "/var/run/secrets/plumb/token",
		"store":       "/var/lib/plumb/plumb.db",
		"namespace":   "shop",
		"source":      "/etc/plumb/sources/inline",
		"remediation": "off",
	}
	for name, want := range wantFlags {
		if got := p.flag(name); got != want {
			t.Errorf("--%s=%q, want %q; args %q", name, got, want, c.Args)
		}
	}
	var hosts []string
	for _, a := range c.Args {
		if h, ok := strings.CutPrefix(a, "--allowed-host="); ok {
			hosts = append(hosts, h)
		}
	}
	if diff := cmp.Diff([]string{"plumb", "plumb.plumb-system", "plumb.plumb-system.svc", "plumb.plumb-system.svc.cluster.local"}, hosts); diff != "" {
		t.Errorf("--allowed-host (-want +got):\n%s", diff)
	}
	if c.Image != "plumb:0.1.0" {
		t.Errorf("image %q, want plumb:0.1.0 (the appVersion)", c.Image)
	}
	if find(objs, "ServiceMonitor", "plumb") != nil || find(objs, "PodDisruptionBudget", "plumb") != nil || find(objs, "Role", "plumb-leases") != nil {
		t.Error("an optional object is rendered with its option off")
	}
}

// rulesOf returns the rendered ClusterRole's rules.
func rulesOf(t *testing.T, objs []*unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	return typed[rbacv1.ClusterRole](t, mustFind(t, objs, "ClusterRole", "plumb")).Rules
}

// verbs returns every verb the rules grant on resources.
func verbs(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		if len(r.Resources) > 0 {
			out = append(out, r.Verbs...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestClusterRoleIsLeastPrivilege: reading only, unless remediation is on;
// then patch and create, only in the sources' namespace; never delete,
// bind, escalate or impersonate, no wildcard, no subresource but scale, no
// Secrets cluster-wide and no RBAC, admission or certificate kind unless
// asked for, which the chart refuses to render even when the values ask.
func TestClusterRoleIsLeastPrivilege(t *testing.T) {
	_, objs := mustRender(t, rel, shopValues(t, "shop", ""))
	if diff := cmp.Diff([]string{"get", "list", "watch"}, verbs(rulesOf(t, objs))); diff != "" {
		t.Errorf("cluster-wide verbs without remediation (-want +got):\n%s", diff)
	}
	_, objs = mustRender(t, rel, shopValues(t, "shop", "remediation: {enabled: true}"))
	if diff := cmp.Diff([]string{"get", "list", "watch"}, verbs(rulesOf(t, objs))); diff != "" {
		t.Errorf("cluster-wide verbs with remediation (-want +got):\n%s", diff)
	}
	namespaced := typed[rbacv1.ClusterRole](t, mustFind(t, objs, "ClusterRole", "plumb-namespaced")).Rules
	if diff := cmp.Diff([]string{"create", "get", "list", "patch", "watch"}, verbs(namespaced)); diff != "" {
		t.Errorf("verbs in the sources' namespace with remediation (-want +got):\n%s", diff)
	}
	if rb := typed[rbacv1.RoleBinding](t, mustFind(t, objs, "RoleBinding", "plumb")); rb.Namespace != "shop" || rb.RoleRef.Name != "plumb-namespaced" {
		t.Errorf("RoleBinding %s/%s to %s, want shop/plumb to plumb-namespaced", rb.Namespace, rb.Name, rb.RoleRef.Name)
	}
	for rules, want := range map[string]string{
		"write: [{apiGroups: [apps], resources: [deployments], verbs: [patch, delete]}]":                   "never granted",
		"write: [{apiGroups: [apps], resources: [deployments], verbs: [bind]}]":                            "never granted",
		"read: [{apiGroups: [''], resources: [pods], verbs: [impersonate]}]":                               "never granted",
		"write: [{apiGroups: ['*'], resources: [deployments]}]":                                            "every group",
		"read: [{apiGroups: [''], resources: ['*']}]":                                                      "every kind",
		"write: [{apiGroups: [''], resources: [serviceaccounts/token]}]":                                   "subresource",
		"write: [{apiGroups: [''], resources: [pods/exec]}]":                                               "subresource",
		"read: [{apiGroups: [''], resources: [nodes/proxy]}]":                                              "subresource",
		"read: [{apiGroups: [''], resources: [secrets]}]":                                                  "only in rbac.namespaces",
		"write: [{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings]}]":              "rbac.sensitive",
		"write: [{apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations]}]": "rbac.sensitive",
		"write: [{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests]}]":             "rbac.sensitive",
	} {
		v := shopValues(t, "shop", "remediation: {enabled: true}\nrbac:\n  "+rules)
		if _, _, err := render(rel, v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rbac %s: %v, want a refusal saying %q", rules, err, want)
		}
	}
	if _, _, err := render(rel, shopValues(t, "shop", "remediation: {enabled: true}\nrbac:\n  sensitive: true\n  write: [{apiGroups: [rbac.authorization.k8s.io], resources: [roles]}]")); err != nil {
		t.Errorf("an RBAC kind with rbac.sensitive: %v", err)
	}
	if _, _, err := render(rel, shopValues(t, "shop", "config: {bindings: [{source: shop, clusters: {}, remediation: auto}]}")); err == nil ||
		!strings.Contains(err.Error(), "remediation.enabled=true") {
		t.Errorf("a binding asking for remediation without remediation.enabled: %v, want a refusal", err)
	}
}

// TestOptions: each option renders what it is for.
func TestOptions(t *testing.T) {
	_, objs := mustRender(t, rel, shopValues(t, "shop", everything))
	for _, o := range [][2]string{
		{"ServiceMonitor", "plumb"}, {"PodDisruptionBudget", "plumb"},
		{"PersistentVolumeClaim", "plumb-store"}, {"Secret", "plumb-kubeconfigs"}, {"Secret", "plumb-token"},
	} {
		mustFind(t, objs, o[0], o[1])
	}
	d := typed[appsv1.Deployment](t, mustFind(t, objs, "Deployment", "plumb"))
	p := pod{args: d.Spec.Template.Spec.Containers[0].Args}
	for name, want := range map[string]string{
		"admission":             "enforce",
		"admission-listen":      "0.0.0.0:9443",
		"admission-url":         "https://plumb.plumb-system.svc:9443",
		"admission-token-file":  "/var/run/secrets/plumb-admission/token",
		"admission-deployer":    "system:serviceaccount:flux-system:*",
		"admission-break-glass": "sre",
		"audit-listen":          "0.0.0.0:8181",
		"audit-tls-cert-file":   "/var/run/secrets/plumb-audit-tls/tls.crt",
		"audit-token-file":      "/var/run/secrets/plumb-audit/token",
		"remediation":           "auto",
	} {
		if got := p.flag(name); got != want {
			t.Errorf("--%s=%q, want %q", name, got, want)
		}
	}
	for _, want := range []string{"--unmanaged", "--source=/etc/plumb/sources/more-manifests", "--source=git+https://example.com/acme/platform.git//deploy?ref=main", "--allowed-host=plumb.example.com"} {
		if !slices.Contains(p.args, want) {
			t.Errorf("args lack %s: %q", want, p.args)
		}
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("strategy %q with a volume claim, want Recreate", d.Spec.Strategy.Type)
	}
	// The webhook must know its callers: a token Secret, or an explicit
	// choice to take reviews from anyone.
	if _, _, err := render(rel, shopValues(t, "shop", "audit: {enabled: true}\n")); err == nil || !strings.Contains(err.Error(), "audit.tlsSecret") {
		t.Errorf("audit without TLS and a token: %v, want a refusal naming audit.tlsSecret", err)
	}
	if _, _, err := render(rel, shopValues(t, "shop", "admission: {enabled: true}\n")); err == nil || !strings.Contains(err.Error(), "admission.tokenSecret.name") {
		t.Errorf("admission without a way to know its callers: %v, want a refusal naming admission.tokenSecret.name", err)
	}
	_, open := mustRender(t, rel, shopValues(t, "shop", "admission: {enabled: true, allowUnauthenticated: true}\n"))
	if args := typed[appsv1.Deployment](t, mustFind(t, open, "Deployment", "plumb")).Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--admission-allow-unauthenticated") {
		t.Errorf("admission.allowUnauthenticated: args %q", args)
	}
	svc := typed[corev1.Service](t, mustFind(t, objs, "Service", "plumb"))
	var ports []string
	for _, sp := range svc.Spec.Ports {
		ports = append(ports, sp.Name)
	}
	if diff := cmp.Diff([]string{"http", "admission", "audit"}, ports); diff != "" {
		t.Errorf("Service ports (-want +got):\n%s", diff)
	}
	rules := rulesOf(t, objs)
	if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.Resources, "validatingwebhookconfigurations") && slices.Contains(r.Verbs, "update")
	}) {
		t.Errorf("admission on, but the ClusterRole cannot update validatingwebhookconfigurations: %+v", rules)
	}
	endpoints, _, _ := unstructured.NestedSlice(mustFind(t, objs, "ServiceMonitor", "plumb").Object, "spec", "endpoints")
	if len(endpoints) != 1 || !strings.Contains(fmt.Sprint(endpoints[0]), "plumb-token") || !strings.Contains(fmt.Sprint(endpoints[0]), "/metrics") {
		t.Errorf("ServiceMonitor endpoints %v: want /metrics scraped with the token Secret", endpoints)
	}
}

// BenchmarkRender renders the chart with every option on, as `helm
// template` does: load, values, templates, YAML.
func BenchmarkRender(b *testing.B) {
	v := shopValues(b, "shop", everything)
	for b.Loop() {
		if _, _, err := render(rel, v); err != nil {
			b.Fatal(err)
		}
	}
}

// sharded is a fleet of three replicas sharing a PostgreSQL store.
const sharded = `
replicas: 3
sharding: {enabled: true}
store: {postgres: {existingSecret: plumb-store}}
config:
  clusters: [{name: prod-eu, kubeconfig: /etc/plumb/kubeconfigs/prod-eu}]
  sources: [{name: shop, path: /etc/plumb/sources/inline, namespace: shop}]
  bindings: [{source: shop, clusters: {}}]
remoteClusters: {kubeconfigs: {prod-eu: "apiVersion: v1\nkind: Config\n"}}
`

// TestSharding: replicas of a fleet share it through Leases in the release
// namespace, named by their pod, with the PostgreSQL DSN from a Secret (not
// in the spec); the Role lets them manage their Leases and no more; what
// sharding cannot work with is refused when rendering.
func TestSharding(t *testing.T) {
	_, objs := mustRender(t, rel, shopValues(t, "shop", sharded))
	d := typed[appsv1.Deployment](t, mustFind(t, objs, "Deployment", "plumb"))
	c := d.Spec.Template.Spec.Containers[0]
	p := pod{args: c.Args}
	if got := p.flag("lease-namespace"); got != "plumb-system" {
		t.Errorf("--lease-namespace=%q, want the release namespace", got)
	}
	if got := p.flag("store"); got != "$(PLUMB_STORE)" {
		t.Errorf("--store=%q, want $(PLUMB_STORE)", got)
	}
	if ptr.Deref(d.Spec.Replicas, 0) != 3 {
		t.Errorf("replicas %v, want 3", d.Spec.Replicas)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["POD_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME %+v, want the pod's name", e)
	}
	if e := env["PLUMB_STORE"]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "plumb-store" || e.ValueFrom.SecretKeyRef.Key != "dsn" {
		t.Errorf("PLUMB_STORE %+v, want the Secret plumb-store's key dsn", e)
	}
	role := typed[rbacv1.Role](t, mustFind(t, objs, "Role", "plumb-leases"))
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"leases"}) || !slices.Contains(role.Rules[0].Verbs, "delete") {
		t.Errorf("lease Role %+v: want leases only, with delete", role.Rules)
	}
	mustFind(t, objs, "RoleBinding", "plumb-leases")

	for extra, want := range map[string]string{
		"replicas: 2\n":               "replicas > 1 needs sharding.enabled",
		"sharding: {enabled: true}\n": "it needs config.clusters and a shared store",
		sharded + "audit: {enabled: true, tlsSecret: t, tokenSecret: {name: t}}\n": "does not work with admission or audit",
	} {
		if _, _, err := render(rel, shopValues(t, "shop", extra)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("values %q: %v, want an error saying %q", extra, err, want)
		}
	}
}
