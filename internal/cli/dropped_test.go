package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFieldsDroppedFromTheSource applies the shop, then edits the source
// the way a pull request does: an env var and a label are deleted from the
// YAML. The live objects still have them, and re-applying would remove
// them, so they are reported as added, for both ways of applying.
func TestFieldsDroppedFromTheSource(t *testing.T) {
	for _, tt := range []struct {
		name, manager string
		apply         []string
	}{
		{"server-side-apply", "kubectl", []string{"apply", "--server-side"}},
		{"client-side-apply", "kubectl-client-side-apply", []string{"apply"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, "", append(append([]string{"-n", ns}, tt.apply...), "-f", shop)...)

			dir := t.TempDir()
			entries, err := os.ReadDir(shop)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(shop, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				s := strings.Replace(string(b), "          env:\n            - name: API_URL\n              value: http://api\n", "", 1)
				s = strings.Replace(s, "  labels:\n    app.kubernetes.io/part-of: shop\ndata:\n  mode: fast", "data:\n  mode: fast", 1)
				if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, r, stderr := scanJSON(t, ns, "--source", dir)
			want := []seen{
				{"ConfigMap/settings", `.metadata.labels["app.kubernetes.io/part-of"]`, "added", tt.manager},
				// The source has no env left at all: the list is the change.
				{"Deployment/web", `.spec.template.spec.containers[name="web"].env`, "added", tt.manager},
			}
			if diff := cmp.Diff(want, changesOf(r)); diff != "" {
				t.Errorf("(-want +got):\n%s\nstderr: %s", diff, stderr)
			}
		})
	}
}
