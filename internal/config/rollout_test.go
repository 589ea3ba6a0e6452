package config

import (
	"strings"
	"testing"
	"time"
)

const rollout = `rollout:
  waves:
    - name: canary
      clusters: {matchLabels: {region: eu}}
      bake: 2m
    - name: rest
      clusters: {}
      maxParallel: 5
`

func TestRollout(t *testing.T) {
	dir := workspace(t)
	f, err := Load(write(t, dir, example+rollout))
	if err != nil {
		t.Fatal(err)
	}
	w := f.Rollout.Waves
	if len(w) != 2 || w[0].Name != "canary" || w[0].MaxParallel != 1 || w[0].Bake.Duration != 2*time.Minute ||
		w[1].MaxParallel != 5 || w[1].Bake.Duration != 0 {
		t.Fatalf("waves %+v; want canary (maxParallel 1 by default, bake 2m), rest (maxParallel 5, no bake)", w)
	}
	for name, tc := range map[string]struct{ edit, want string }{
		"bad duration":   {"bake: 2m", "bake: soon"},
		"duplicate name": {"name: rest", "name: canary"},
		"bad selector":   {"clusters: {}", "clusters: {matchExpressions: [{key: a, operator: Near}]}"},
		"negative":       {"maxParallel: 5", "maxParallel: -1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(write(t, dir, example+strings.Replace(rollout, tc.edit, tc.want, 1)))
			if err == nil {
				t.Fatal("want an error")
			}
			line := map[string]string{"bad duration": "line 36", "duplicate name": "line 37", "bad selector": "line 37", "negative": "line 37"}[name]
			if !strings.Contains(err.Error(), line) || !strings.Contains(err.Error(), "plumb.yaml") {
				t.Errorf("error %q; want it to name plumb.yaml and %s", err, line)
			}
		})
	}
}
