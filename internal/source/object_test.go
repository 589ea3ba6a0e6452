package source

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestObjectRefAndIsList(t *testing.T) {
	tests := []struct {
		name     string
		obj      map[string]any
		wantRef  string
		wantList bool
	}{
		{
			name:    "namespaced",
			obj:     map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "prod"}},
			wantRef: "Deployment prod/web",
		},
		{
			name:    "cluster-scoped",
			obj:     map[string]any{"kind": "ClusterRole", "metadata": map[string]any{"name": "admin"}},
			wantRef: "ClusterRole admin",
		},
		{
			name:    "no name",
			obj:     map[string]any{"kind": "Job", "metadata": map[string]any{"generateName": "x-", "namespace": "ns"}},
			wantRef: "Job",
		},
		{
			name:    "no kind",
			obj:     map[string]any{"metadata": map[string]any{"name": "a", "namespace": "ns"}},
			wantRef: "ns/a",
		},
		{
			name:    "kind is not a string",
			obj:     map[string]any{"kind": int64(1), "metadata": map[string]any{"name": "a"}},
			wantRef: "a",
		},
		{
			name:     "List without items",
			obj:      map[string]any{"apiVersion": "v1", "kind": "List"},
			wantRef:  "List",
			wantList: true,
		},
		{
			name:     "typed list",
			obj:      map[string]any{"apiVersion": "v1", "kind": "ServiceList", "items": []any{}},
			wantRef:  "ServiceList",
			wantList: true,
		},
		{
			name:    "kind ending in List without items is an object",
			obj:     map[string]any{"apiVersion": "example.com/v1", "kind": "AllowList", "metadata": map[string]any{"name": "a"}, "spec": map[string]any{}},
			wantRef: "AllowList a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: tt.obj}
			if got := objectRef(u); got != tt.wantRef {
				t.Errorf("objectRef = %q, want %q", got, tt.wantRef)
			}
			if got := isList(u); got != tt.wantList {
				t.Errorf("isList = %v, want %v", got, tt.wantList)
			}
		})
	}
}
