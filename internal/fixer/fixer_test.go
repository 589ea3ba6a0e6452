package fixer

import (
	"testing"
	"time"
)

func TestModeOfTakesTheLongestSourcePath(t *testing.T) {
	paths := map[string]Mode{
		"deploy":                Approve,
		"deploy/shop":           Auto,
		"deploy/shop/cm.yaml":   Off,
		"charts/web/":           Auto,
		"/abs/kustomize/prod":   Approve,
		"deploy/shop-something": Off,
	}
	of := modeByOrigin(paths, Off)
	tests := []struct {
		origin string
		want   Mode
	}{
		{"deploy/shop/web.yaml", Auto},
		{"deploy/shop/cm.yaml", Off},
		{"deploy/other.yaml", Approve},
		{"deploy/shop-something/x.yaml", Off},
		{"deploy/shopping/x.yaml", Approve}, // a prefix of the name is not a folder above it
		{"charts/web/templates/deployment.yaml", Auto},
		{"/abs/kustomize/prod/kustomization.yaml", Approve},
		{"elsewhere.yaml", Off},
	}
	for _, tt := range tests {
		if got := of(tt.origin); got != tt.want {
			t.Errorf("mode of %s = %q, want %q", tt.origin, got, tt.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Off, "off": Off, "approve": Approve, "auto": Auto} {
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

func TestWithinKeepsOnlyTheWindow(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ts := []time.Time{now.Add(-11 * time.Minute), now.Add(-10 * time.Minute), now.Add(-9 * time.Minute), now}
	if got := within(ts, now, 10*time.Minute); len(got) != 2 || !got[0].Equal(ts[2]) {
		t.Errorf("within 10m = %v, want the last two", got)
	}
}
