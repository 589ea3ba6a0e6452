package fleet

import (
	"fmt"
	"slices"
	"testing"

	"plumb.dev/plumb/internal/source"
)

func encoded(name string, origin source.Origin) source.Encoded {
	return source.Encoded{JSON: fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"shop"}}`, name), Origin: origin}
}

func declaredNames(objs []source.Encoded) []string {
	var out []string
	for _, o := range objs {
		out = append(out, idOf(o).name)
	}
	slices.Sort(out)
	return out
}

// TestLastGoodKeepsWhatErrorsHide: a load with errors keeps, of what the
// source declared before, what the errors may have hidden and nothing
// else; a clean load declares only what it read.
func TestLastGoodKeepsWhatErrorsHide(t *testing.T) {
	a := encoded("a", source.Origin{Path: "src/a.yaml"})
	b := encoded("b", source.Origin{Path: "src/b.yaml"})
	web := encoded("web", source.Origin{Path: "src/app/base/web.yaml", Kustomization: "src/app/overlays/prod"})
	chart := encoded("db", source.Origin{Path: "src/db/templates/db.yaml", Chart: "db-1.0.0"})
	first := []source.Encoded{a, b, web, chart}

	tests := []struct {
		name string
		now  []source.Encoded
		errs []source.Error
		want []string
	}{
		{"clean: b's file deleted", []source.Encoded{a, web, chart}, nil, []string{"a", "db", "web"}},
		{"a typo in b's file", []source.Encoded{a, web, chart}, []source.Error{{Path: "src/b.yaml", Line: 3, Message: "invalid YAML"}}, []string{"a", "b", "db", "web"}},
		{"a typo in b's file, a's file deleted", []source.Encoded{web, chart}, []source.Error{{Path: "src/b.yaml", Message: "invalid YAML"}}, []string{"b", "db", "web"}},
		{"the overlay does not build", []source.Encoded{a, b, chart}, []source.Error{{Path: "src/app/overlays/prod/kustomization.yaml", Message: "kustomize build"}}, []string{"a", "b", "db", "web"}},
		{"the chart does not render", []source.Encoded{a, b, web}, []source.Error{{Path: "src/db", Message: "render chart"}}, []string{"a", "b", "db", "web"}},
		{"a new file that never loaded: anything may be hidden", []source.Encoded{b}, []source.Error{{Path: "src/new.yaml", Message: "invalid YAML"}}, []string{"a", "b", "db", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g lastGood
			g.merge("src", first, nil)
			got, kept := g.merge("src", tt.now, tt.errs)
			if !slices.Equal(declaredNames(got), tt.want) || kept != len(got)-len(tt.now) {
				t.Errorf("declared %v (%d kept), want %v", declaredNames(got), kept, tt.want)
			}
			// What was kept stays kept while the error lasts, and goes
			// with the next clean load.
			again, _ := g.merge("src", tt.now, tt.errs)
			if !slices.Equal(declaredNames(again), tt.want) {
				t.Errorf("loaded again with the same error: %v, want %v", declaredNames(again), tt.want)
			}
			if clean, kept := g.merge("src", tt.now, nil); len(clean) != len(tt.now) || kept != 0 {
				t.Errorf("a clean load declares %v, want only what it read", declaredNames(clean))
			}
		})
	}
}
