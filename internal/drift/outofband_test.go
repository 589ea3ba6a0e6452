package drift_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
)

// TestOutOfBandChangesAreFoundExactly applies the shop, makes the changes
// engineers make during incidents, and expects a scan that also looks for
// unmanaged objects to report each one, with its path, type and manager,
// and nothing else. A modified field carries its declared and live values
// and who wrote it how; a Secret's values, in the changes and in the two
// objects a diff prints, are masked, and neither object holds
// managedFields.
func TestOutOfBandChangesAreFoundExactly(t *testing.T) {
	t.Parallel()
	a := appAt(drift.SharedEnv().Namespace(t), shop)
	k := kubectlIn(t, a.ns)
	k("", "apply", "--server-side", "-f", shop)
	unmanaged := drift.DefaultOptions()
	unmanaged.Unmanaged, unmanaged.UnmanagedAllKinds = true, true
	requireInSync(t, a, unmanaged)

	k("", "scale", "deployment/web", "--replicas=5")
	k("", "set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("", "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("", "patch", "deployment/web", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"DEBUG","value":"1"}}]`)
	k("", "label", "service/web", "team=checkout")
	k("", "annotate", "deployment/api", "example.com/owner-")
	k("", "set", "resources", "deployment/worker", "--limits=cpu=2")
	k("", "delete", "configmap/flags")
	k("", "create", "configmap", "stray", "--from-literal=debug=true")
	k("", "patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	// An equal quantity written another way is not drift.
	k("", "patch", "deployment/cache", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"1000m"}]`)

	r := scanWith(t, a, unmanaged)
	want := []owned{
		{"ConfigMap/flags", "-", "missing", ""},
		{"ConfigMap/settings", ".data.mode", "modified", "kubectl-patch"},
		{"ConfigMap/stray", "-", "unmanaged", ""},
		{"Deployment/api", `.metadata.annotations["example.com/owner"]`, "removed", ""},
		{"Deployment/api", `.spec.template.spec.containers[name="api"].image`, "modified", "kubectl-set"},
		{"Deployment/web", ".spec.replicas", "modified", "kubectl"},
		{"Deployment/web", `.spec.template.spec.containers[name="web"].env[name="DEBUG"]`, "added", "kubectl-patch"},
		{"Deployment/worker", `.spec.template.spec.containers[name="worker"].resources.limits.cpu`, "modified", "kubectl-set"},
		{"Secret/api-credentials", ".data.token", "modified", "kubectl-patch"},
		{"Service/web", ".metadata.labels.team", "added", "kubectl-label"},
	}
	if d := cmp.Diff(want, ownedChangesOf(r)); d != "" {
		b, _ := json.MarshalIndent(r.Findings, "", "  ")
		t.Errorf("changes (-want +got):\n%s\nfindings:\n%s", d, b)
	}

	// Values and attribution of a modified field.
	for _, f := range r.Findings {
		for _, c := range f.Changes {
			switch c.Path {
			case ".spec.replicas":
				// kubectl scale writes through the scale subresource.
				if fmt.Sprint(c.Desired) != "2" || fmt.Sprint(c.Live) != "5" || c.Operation != "Update" || c.Subresource != "scale" {
					t.Errorf("replicas change = %+v, want desired 2, live 5, an Update of subresource scale", c)
				}
			case `.spec.template.spec.containers[name="api"].image`:
				if c.Desired != "ghcr.io/example/shop-api:1.4.2" || c.Live != "ghcr.io/example/shop-api:1.5.0" || c.Time == nil {
					t.Errorf("image change = %+v, want desired 1.4.2, live 1.5.0, with a time", c)
				}
			case ".data.token":
				if c.Desired != drift.Redacted || c.Live != drift.Redacted {
					t.Errorf("secret change shows values: %+v", c)
				}
			}
		}
	}
	states := map[drift.State]int{}
	for _, f := range r.Findings {
		states[f.State]++
	}
	if states[drift.StateDrifted] != 6 || states[drift.StateMissing] != 1 || states[drift.StateUnmanaged] != 1 {
		t.Errorf("findings by state = %v, want 6 drifted, 1 missing, 1 unmanaged", states)
	}
	// The report's coverage is computed from these counts.
	if !r.UnmanagedChecked || r.Managed == 0 || r.Unmanaged != 1 {
		t.Errorf("unmanaged checked %v, %d managed, %d unmanaged; want checked, some managed, 1 unmanaged", r.UnmanagedChecked, r.Managed, r.Unmanaged)
	}

	// The two objects a diff prints show which Secret key changed, never
	// what it holds, and no managedFields.
	secrets := []string{"changed-by-hand", "not-a-real-token", "Y2hhbmdlZC1ieS1oYW5k", "bm90LWEtcmVhbC10b2tlbg"}
	for _, f := range r.Findings {
		for _, u := range []*unstructured.Unstructured{f.Desired, f.Live} {
			if u == nil {
				continue
			}
			b, err := json.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			for _, hidden := range append([]string{"managedFields"}, secrets...) {
				if strings.Contains(string(b), hidden) {
					t.Errorf("%s/%s: a view shows %q", f.Kind, f.Name, hidden)
				}
			}
		}
		if f.Kind != "Secret" {
			continue
		}
		d, _ := drift.ValueAt(f.Desired.Object, ".data.token")
		l, _ := drift.ValueAt(f.Live.Object, ".data.token")
		if d != "(redacted: desired)" || l != "(redacted: live)" {
			t.Errorf("Secret views: token desired %v, live %v; want each side named, its value masked", d, l)
		}
	}
	b, err := json.Marshal(r.Findings)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if strings.Contains(string(b), secret) {
			t.Errorf("the findings show a secret value (%s)", secret)
		}
	}
}

// TestSecretPatchedThenReappliedIsInSync patches a Secret's stringData by
// hand, then re-applies the source: kubectl-patch still owns data.token,
// but the source declares it (as stringData), so nothing is reported.
func TestSecretPatchedThenReappliedIsInSync(t *testing.T) {
	t.Parallel()
	a := appAt(drift.SharedEnv().Namespace(t), shop)
	k := kubectlIn(t, a.ns)
	k("", "apply", "--server-side", "-f", shop)
	k("", "patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	k("", "apply", "--server-side", "--force-conflicts", "-f", shop)
	requireInSync(t, a, drift.DefaultOptions())
}
