package drift

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

func field(n string) fieldpath.PathElement { return fieldpath.PathElement{FieldName: &n} }

func key(kv ...any) fieldpath.PathElement {
	var fl value.FieldList
	for i := 0; i < len(kv); i += 2 {
		fl = append(fl, value.Field{Name: kv[i].(string), Value: value.NewValueInterface(kv[i+1])})
	}
	return fieldpath.PathElement{Key: &fl}
}

func index(i int) fieldpath.PathElement { return fieldpath.PathElement{Index: &i} }

func fp(pes ...fieldpath.PathElement) fieldpath.Path { return fieldpath.Path(pes) }

func TestKubectlPath(t *testing.T) {
	v := value.NewValueInterface("example.com/protect")
	tests := []struct {
		p    fieldpath.Path
		want string
	}{
		{fp(field("spec"), field("replicas")), ".spec.replicas"},
		{fp(field("spec"), field("containers"), key("name", "web"), field("image")), `.spec.containers[name="web"].image`},
		{fp(field("spec"), field("ports"), key("port", int64(80), "protocol", "TCP")), `.spec.ports[port=80,protocol="TCP"]`},
		{fp(field("metadata"), field("annotations"), field("example.com/owner")), `.metadata.annotations["example.com/owner"]`},
		{fp(field("spec"), field("args"), index(2)), ".spec.args[2]"},
		{fp(field("metadata"), field("finalizers"), fieldpath.PathElement{Value: &v}), `.metadata.finalizers[="example.com/protect"]`},
		{nil, "."},
	}
	for _, tt := range tests {
		if got := kubectlPath(tt.p); got != tt.want {
			t.Errorf("kubectlPath(%v) = %s, want %s", tt.p, got, tt.want)
		}
	}
}

func TestDeclaresToleratesDefaultedListKeys(t *testing.T) {
	desired := map[string]any{"spec": map[string]any{"ports": []any{map[string]any{"containerPort": int64(8080)}}}}
	tests := []struct {
		p    fieldpath.Path
		want bool
	}{
		// The server records the port's key with its defaulted protocol.
		{fp(field("spec"), field("ports"), key("containerPort", int64(8080), "protocol", "TCP")), true},
		{fp(field("spec"), field("ports"), key("containerPort", int64(8080), "protocol", "TCP"), field("protocol")), true},
		{fp(field("spec"), field("ports"), key("containerPort", int64(9090), "protocol", "TCP")), false},
		{fp(field("spec"), field("ports"), key("containerPort", int64(8080), "protocol", "TCP"), field("name")), false},
	}
	for _, tt := range tests {
		if got := declares(desired, tt.p); got != tt.want {
			t.Errorf("declares(%s) = %v, want %v", kubectlPath(tt.p), got, tt.want)
		}
	}
}

func TestTopmostMissingCollapsesListElementsNotMaps(t *testing.T) {
	obj := map[string]any{
		"metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"containers": []any{
			map[string]any{"name": "web", "image": "nginx"},
		}},
	}
	sidecar := fp(field("spec"), field("containers"), key("name", "sidecar"))
	got := topmostMissing(obj, []fieldpath.Path{
		append(sidecar.Copy(), field("image")),
		append(sidecar.Copy(), field("name")),
		fp(field("metadata"), field("labels"), field("team")),
		fp(field("metadata"), field("labels"), field("tier")),
	})
	want := []string{".metadata.labels.team", ".metadata.labels.tier", `.spec.containers[name="sidecar"]`}
	var gotS []string
	for _, p := range got {
		gotS = append(gotS, kubectlPath(p))
	}
	if diff := cmp.Diff(want, gotS); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestContains(t *testing.T) {
	live := map[string]any{
		"spec": map[string]any{
			"replicas": int64(2),
			"strategy": map[string]any{"type": "RollingUpdate"},
			"args":     []any{"--a", "--b"},
		},
	}
	tests := []struct {
		name    string
		desired map[string]any
		want    bool
	}{
		{"subset with defaults left out", map[string]any{"spec": map[string]any{"replicas": int64(2)}}, true},
		{"float and int agree", map[string]any{"spec": map[string]any{"replicas": float64(2)}}, true},
		{"other value", map[string]any{"spec": map[string]any{"replicas": int64(3)}}, false},
		{"field absent live", map[string]any{"spec": map[string]any{"paused": true}}, false},
		{"atomic list shorter", map[string]any{"spec": map[string]any{"args": []any{"--a"}}}, false},
		{"empty map declared", map[string]any{"spec": map[string]any{"strategy": map[string]any{}}}, true},
	}
	for _, tt := range tests {
		if got := contains(tt.desired, live); got != tt.want {
			t.Errorf("%s: contains = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestContainsQuantities(t *testing.T) {
	live := map[string]any{
		"spec": map[string]any{
			"resources": map[string]any{"limits": map[string]any{"cpu": "2", "memory": "1Gi"}},
			"hard":      map[string]any{"pods": "10"},
		},
		"data": map[string]any{"ratio": "1"},
	}
	tests := []struct {
		name    string
		desired map[string]any
		want    bool
	}{
		{"2000m is stored as 2", map[string]any{"spec": map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "2000m"}}}}, true},
		{"1024Mi is 1Gi", map[string]any{"spec": map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "1024Mi"}}}}, true},
		{"an integer quantity", map[string]any{"spec": map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": int64(2)}}}}, true},
		{"another quantity", map[string]any{"spec": map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1500m"}}}}, false},
		{"quota hard", map[string]any{"spec": map[string]any{"hard": map[string]any{"pods": "10.0"}}}, true},
		{"a ConfigMap string is not a quantity", map[string]any{"data": map[string]any{"ratio": "1.0"}}, false},
	}
	for _, tt := range tests {
		if got := contains(tt.desired, live); got != tt.want {
			t.Errorf("%s: contains = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSecretStringDataComparesAsData(t *testing.T) {
	desired := map[string]any{"stringData": map[string]any{"token": "abc"}, "data": map[string]any{"ca": "Y2E="}}
	live := map[string]any{"data": map[string]any{"token": "YWJj", "ca": "Y2E="}}
	if !contains(secretForCompare(desired), live) {
		t.Error("stringData token=abc should match data token=YWJj")
	}
	if _, ok := desired["data"].(map[string]any)["token"]; ok {
		t.Error("secretForCompare modified its input")
	}
}

func TestOwns(t *testing.T) {
	s := &fieldpath.Set{}
	if err := s.FromJSON(strings.NewReader(`{"f:spec":{"f:args":{},"f:template":{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}}}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p    fieldpath.Path
		want bool
	}{
		{fp(field("spec"), field("args")), true},
		{fp(field("spec"), field("args"), index(1)), true}, // inside an atomic list owned whole
		{fp(field("spec"), field("template"), field("metadata"), field("labels"), field("app")), true},
		{fp(field("spec"), field("template"), field("metadata"), field("labels"), field("team")), false},
		{fp(field("spec"), field("template"), field("metadata")), true}, // fields below are owned
		{fp(field("spec"), field("replicas")), false},
	}
	for _, tt := range tests {
		if got := owns(s, tt.p); got != tt.want {
			t.Errorf("owns(%s) = %v, want %v", kubectlPath(tt.p), got, tt.want)
		}
	}
	if got := len(leaves(s)); got != 2 {
		t.Errorf("leaves = %d, want 2 (args and labels.app; the \".\" marker is not a leaf)", got)
	}
}

func TestJSONPointer(t *testing.T) {
	obj := map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{"example.com/owner": "ops", "a~b": "x"}},
		"spec": map[string]any{"containers": []any{
			map[string]any{"name": "web", "env": []any{map[string]any{"name": "A"}, map[string]any{"name": "DEBUG", "value": "1"}}},
			map[string]any{"name": "sidecar"},
		}, "args": []any{"--a", "--b"}},
	}
	for path, want := range map[string]string{
		`.metadata.annotations["example.com/owner"]`:           "/metadata/annotations/example.com~1owner",
		`.metadata.annotations["a~b"]`:                         "/metadata/annotations/a~0b",
		`.spec.containers[name="sidecar"]`:                     "/spec/containers/1",
		`.spec.containers[name="web"].env[name="DEBUG"]`:       "/spec/containers/0/env/1",
		`.spec.containers[name="web"].env[name="DEBUG"].value`: "/spec/containers/0/env/1/value",
		`.spec.args[1]`: "/spec/args/1",
	} {
		got, ok := JSONPointer(obj, path)
		if !ok || got != want {
			t.Errorf("JSONPointer(%s) = %q, %v; want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{`.spec.containers[name="db"]`, ".spec.replicas", "."} {
		if got, ok := JSONPointer(obj, path); ok {
			t.Errorf("JSONPointer(%s) = %q; want not found", path, got)
		}
	}
}
