package remediate

import "testing"

func TestModeOfTakesTheLongestSourcePath(t *testing.T) {
	paths := map[string]Mode{
		"deploy":                ModeApprove,
		"deploy/shop":           ModeAuto,
		"deploy/shop/cm.yaml":   ModeOff,
		"charts/web/":           ModeAuto,
		"/abs/kustomize/prod":   ModeApprove,
		"deploy/shop-something": ModeOff,
	}
	of := modeByOrigin(paths, ModeOff)
	tests := []struct {
		origin string
		want   Mode
	}{
		{"deploy/shop/web.yaml", ModeAuto},
		{"deploy/shop/cm.yaml", ModeOff},
		{"deploy/other.yaml", ModeApprove},
		{"deploy/shop-something/x.yaml", ModeOff},
		{"deploy/shopping/x.yaml", ModeApprove}, // a prefix of the name is not a folder above it
		{"charts/web/templates/deployment.yaml", ModeAuto},
		{"/abs/kustomize/prod/kustomization.yaml", ModeApprove},
		{"elsewhere.yaml", ModeOff},
	}
	for _, tt := range tests {
		if got := of(tt.origin); got != tt.want {
			t.Errorf("mode of %s = %q, want %q", tt.origin, got, tt.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeOff, "off": ModeOff, "approve": ModeApprove, "auto": ModeAuto} {
		if got, ok := ParseMode(in); !ok || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"Auto", "on", "manual"} {
		if _, ok := ParseMode(in); ok {
			t.Errorf("ParseMode(%q) accepted", in)
		}
	}
}
