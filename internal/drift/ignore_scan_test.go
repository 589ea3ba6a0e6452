package drift_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

// TestIgnoreRules drifts the shop and then ignores each change the way
// users write rules: a kind with a JSON Pointer (Flux, Argo CD), a field
// manager (Argo CD's managedFieldsManagers), a group/Kind with a path in
// kubectl's notation, a kind without its group with a JSON Pointer that
// indexes a list; and the built-in rule for a Deployment that a
// HorizontalPodAutoscaler scales. Only the changes no rule covers are
// reported.
func TestIgnoreRules(t *testing.T) {
	t.Parallel()
	a := appAt(drift.SharedEnv().Namespace(t), shop)
	k := kubectlIn(t, a.ns)
	k("", "apply", "--server-side", "-f", shop)
	k("", "scale", "deployment/web", "--replicas=5")
	k("", "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("", "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("", "label", "service/web", "team=checkout")

	all := []owned{
		{"ConfigMap/settings", ".data.mode", "modified", "kubectl-patch"},
		{"Deployment/api", `.spec.template.spec.containers[name="api"].image`, "modified", "kubectl-set"},
		{"Deployment/web", ".spec.replicas", "modified", "kubectl"},
		{"Service/web", ".metadata.labels.team", "added", "kubectl-label"},
	}
	if d := cmp.Diff(all, ownedChangesOf(scan(t, a))); d != "" {
		t.Fatalf("before ignoring (-want +got):\n%s", d)
	}

	opts := drift.DefaultOptions()
	opts.Ignore = []drift.IgnoreRule{
		{Kinds: []string{"ConfigMap"}, Paths: []string{"/data/mode"}, Reason: "tuned at runtime"},
		{Managers: []string{"kubectl-label"}},
		{Kinds: []string{"apps/Deployment"}, Paths: []string{`.spec.template.spec.containers[name="api"].image`}},
	}
	if d := cmp.Diff(all[2:3], ownedChangesOf(scanWith(t, a, opts))); d != "" {
		t.Errorf("with ignore rules (-want +got):\n%s", d)
	}

	// An HPA owns the replicas of its target: that change is expected.
	k("", "autoscale", "deployment/web", "--min=2", "--max=6", "--cpu=80")
	opts.Ignore[2] = drift.IgnoreRule{Kinds: []string{"Deployment"}, Paths: []string{"/spec/template/spec/containers/0/image"}}
	if got := ownedChangesOf(scanWith(t, a, opts)); len(got) != 0 {
		t.Errorf("with an HPA on web and every other change ignored: %+v", got)
	}
}
