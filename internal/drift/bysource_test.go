package drift

import "testing"

func TestBySourceTakesTheLongestSourcePath(t *testing.T) {
	paths := map[string]string{
		"deploy":                "approve",
		"deploy/shop":           "auto",
		"deploy/shop/cm.yaml":   "off",
		"charts/web/":           "auto",
		"/abs/kustomize/prod":   "approve",
		"deploy/shop-something": "off",
	}
	of := byOrigin(paths, "off")
	tests := []struct {
		origin string
		want   string
	}{
		{"deploy/shop/web.yaml", "auto"},
		{"deploy/shop/cm.yaml", "off"},
		{"deploy/other.yaml", "approve"},
		{"deploy/shop-something/x.yaml", "off"},
		{"deploy/shopping/x.yaml", "approve"}, // a prefix of the name is not a folder above it
		{"charts/web/templates/deployment.yaml", "auto"},
		{"/abs/kustomize/prod/kustomization.yaml", "approve"},
		{"elsewhere.yaml", "off"},
	}
	for _, tt := range tests {
		if got := of(tt.origin); got != tt.want {
			t.Errorf("setting of %s = %q, want %q", tt.origin, got, tt.want)
		}
	}
}
