package drift

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// TestChooseDeployer picks the deployer from what each manager wrote,
// whatever its name.
func TestChooseDeployer(t *testing.T) {
	declared := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"replicas": int64(2), "paused": false, "minReadySeconds": int64(5)},
	}
	f := func(p ...any) fieldpath.Path { return fieldpath.MakePathOrDie(p...) }
	all := fieldpath.NewSet(f("metadata", "labels", "app"), f("spec", "replicas"), f("spec", "paused"), f("spec", "minReadySeconds"))
	csa := fieldpath.NewSet(f("metadata", "labels", "app"), f("spec", "paused"), f("spec", "minReadySeconds"), f("metadata", "annotations", lastApplied),
		f("spec", "progressDeadlineSeconds"))
	at := func(min int) *time.Time { x := time.Date(2026, 12, 1, 10, min, 0, 0, time.UTC); return &x }
	withLastApplied := map[string]any{"metadata": map[string]any{"annotations": map[string]any{lastApplied: "{}"}}}
	for _, tt := range []struct {
		name    string
		entries []managedEntry
		live    map[string]any
		want    string
	}{
		{"client-side apply, then an image updater", []managedEntry{
			{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Set: csa, Time: at(0)},
			{Manager: "image-updater", Operation: metav1.ManagedFieldsOperationUpdate, Set: fieldpath.NewSet(f("spec", "replicas")), Time: at(5)},
		}, withLastApplied, "kubectl-client-side-apply"},
		{"server-side apply by kubectl, then kubectl scale", []managedEntry{
			{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, Set: all, Time: at(0)},
			{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale", Set: fieldpath.NewSet(f("spec", "replicas")), Time: at(5)},
		}, map[string]any{}, "kubectl"},
		{"an edit that owns as many fields as the deployer, on a client-side applied object", []managedEntry{
			{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate,
				Set: fieldpath.NewSet(f("metadata", "labels", "app"), f("metadata", "annotations", lastApplied)), Time: at(0)},
			{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Set: fieldpath.NewSet(f("spec", "paused")), Time: at(5)},
		}, withLastApplied, "kubectl-client-side-apply"},
		{"a GitOps controller applies what kubectl created", []managedEntry{
			{Manager: "kubectl-create", Operation: metav1.ManagedFieldsOperationUpdate, Set: all, Time: at(0)},
			{Manager: "gitops", Operation: metav1.ManagedFieldsOperationApply, Set: all, Time: at(1)},
		}, map[string]any{}, "gitops"},
		{"nobody owns a declared field", []managedEntry{
			{Manager: "controller", Operation: metav1.ManagedFieldsOperationUpdate, Set: fieldpath.NewSet(f("spec", "template")), Time: at(0)},
		}, map[string]any{}, DefaultManager},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := chooseDeployer(tt.entries, declared, tt.live).Manager; got != tt.want {
				t.Errorf("deployer = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestPutValue writes at kubectl paths, making maps on the way.
func TestPutValue(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "web"}}}}
	for _, p := range []string{".spec.replicas", `.spec.containers[name="web"].image`, `.metadata.labels["app.kubernetes.io/name"]`} {
		if !PutValue(obj, p, "x") {
			t.Errorf("PutValue(%s) = false", p)
		}
		if v, ok := ValueAt(obj, p); !ok || v != "x" {
			t.Errorf("ValueAt(%s) = %v, %v after PutValue", p, v, ok)
		}
	}
	if PutValue(obj, `.spec.containers[name="api"].image`, "x") {
		t.Error("PutValue made a list element")
	}
}
