package drift

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

func TestIgnorePathMatching(t *testing.T) {
	live := map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "web"}, map[string]any{"name": "api"}},
	}}}}
	apiImage := fp(field("spec"), field("template"), field("spec"), field("containers"), key("name", "api"), field("image"))
	ann := fp(field("metadata"), field("annotations"), field("example.com/owner"))
	tests := []struct {
		pattern string
		p       fieldpath.Path
		want    bool
	}{
		{".spec.template.spec.containers[name=\"api\"].image", apiImage, true},
		{".spec.template.spec.containers[name=api].image", apiImage, true},
		{".spec.template.spec.containers[name=\"web\"].image", apiImage, false},
		{".spec.template.spec.containers[*].image", apiImage, true},
		{".spec.template.spec.containers[1].image", apiImage, true},
		{".spec.template.spec.containers[0].image", apiImage, false},
		{"/spec/template/spec/containers/1/image", apiImage, true},
		{"/spec/template", apiImage, true}, // a path covers everything below it
		{".spec.template.spec.containers[*].env", apiImage, false},
		{`.metadata.annotations["example.com/owner"]`, ann, true},
		{"/metadata/annotations/example.com~1owner", ann, true},
		{".metadata.*", ann, true},
	}
	for _, tt := range tests {
		segs, err := ParsePath(tt.pattern)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.pattern, err)
			continue
		}
		if got := matchPrefix(segs, tt.p, live); got != tt.want {
			t.Errorf("%s matches %s = %v, want %v", tt.pattern, kubectlPath(tt.p), got, tt.want)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, p := range []string{"spec.replicas", ".spec..replicas", ".spec[", ".spec[x]", `.metadata["unterminated]`, ""} {
		if _, err := ParsePath(p); err == nil {
			t.Errorf("ParsePath(%q): want an error", p)
		}
	}
}

func TestKindMatches(t *testing.T) {
	deploy := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	cm := schema.GroupKind{Kind: "ConfigMap"}
	tests := []struct {
		kinds []string
		gk    schema.GroupKind
		want  bool
	}{
		{nil, deploy, true},
		{[]string{"*"}, cm, true},
		{[]string{"Deployment"}, deploy, true},
		{[]string{"apps/Deployment"}, deploy, true},
		{[]string{"extensions/Deployment"}, deploy, false},
		{[]string{"ConfigMap"}, cm, true},
		{[]string{"Secret"}, cm, false},
	}
	for _, tt := range tests {
		if got := kindMatches(tt.kinds, tt.gk); got != tt.want {
			t.Errorf("kindMatches(%v, %v) = %v, want %v", tt.kinds, tt.gk, got, tt.want)
		}
	}
}
