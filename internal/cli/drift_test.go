package cli

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/report"
)

const shop = "../../examples/shop"

// seen is what a test asserts of one change.
type seen struct {
	Object, Path, Type, Manager string
}

// changesOf flattens a report to comparable lines, one per change, and one
// per missing or unmanaged object (Path "-").
func changesOf(r report.Report) []seen {
	var out []seen
	for _, f := range r.Findings {
		obj := f.Kind + "/" + f.Name
		if f.State != "drifted" {
			out = append(out, seen{Object: obj, Path: "-", Type: string(f.State)})
			continue
		}
		for _, c := range f.Changes {
			out = append(out, seen{Object: obj, Path: c.Path, Type: string(c.Type), Manager: c.Manager})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// TestOutOfBandChangesAreFoundExactly applies the shop, makes the changes
// engineers make during incidents, and expects each one, with its path,
// type and manager, and nothing else.
func TestOutOfBandChangesAreFoundExactly(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	requireInSync(t, ns, "--source", shop, "--unmanaged")

	k("scale", "deployment/web", "--replicas=5")
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("patch", "deployment/web", "--type=json", "-p", `[{"op":"add","path":"/spec/template/spec/containers/0/env/-","value":{"name":"DEBUG","value":"1"}}]`)
	k("label", "service/web", "team=checkout")
	k("annotate", "deployment/api", "example.com/owner-")
	k("set", "resources", "deployment/worker", "--limits=cpu=2")
	k("delete", "configmap/flags")
	k("create", "configmap", "stray", "--from-literal=debug=true")
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	// An equal quantity written another way is not drift.
	k("patch", "deployment/cache", "--type=json", "-p", `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/limits/cpu","value":"1000m"}]`)

	code, r, stderr := scanJSON(t, ns, "--source", shop, "--unmanaged")
	if code != ExitDrift {
		t.Errorf("exit %d, want %d (drift); stderr: %s", code, ExitDrift, stderr)
	}
	want := []seen{
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
	if diff := cmp.Diff(want, changesOf(r)); diff != "" {
		b, _ := json.MarshalIndent(r.Findings, "", "  ")
		t.Errorf("changes (-want +got):\n%s\nfindings:\n%s", diff, b)
	}

	// Values and attribution of a modified field.
	for _, f := range r.Findings {
		for _, c := range f.Changes {
			switch c.Path {
			case ".spec.replicas":
				// kubectl scale writes through the scale subresource.
				if c.Desired != float64(2) || c.Live != float64(5) || c.Operation != "Update" || c.Subresource != "scale" {
					t.Errorf("replicas change = %+v, want desired 2, live 5, an Update of subresource scale", c)
				}
			case `.spec.template.spec.containers[name="api"].image`:
				if c.Desired != "ghcr.io/example/shop-api:1.4.2" || c.Live != "ghcr.io/example/shop-api:1.5.0" || c.Time == nil {
					t.Errorf("image change = %+v, want desired 1.4.2, live 1.5.0, with a time", c)
				}
			case ".data.token":
				if c.Desired != "(redacted)" || c.Live != "(redacted)" {
					t.Errorf("secret change shows values: %+v", c)
				}
			}
		}
	}
	if s := r.Summary; s.Drifted != 6 || s.Missing != 1 || s.Unmanaged != 1 || s.Coverage == nil {
		t.Errorf("summary = %+v, want 6 drifted, 1 missing, 1 unmanaged, with coverage", s)
	}

	// No secret value appears anywhere in any output format.
	for _, format := range []string{"json", "yaml", "markdown", "table"} {
		_, out, errOut := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop, "-o", format)
		for _, secret := range []string{"changed-by-hand", "not-a-real-token", "Y2hhbmdlZC1ieS1oYW5k", "bm90LWEtcmVhbC10b2tlbg"} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("-o %s prints a secret value (%s)", format, secret)
			}
		}
	}
	code, out, _ := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop)
	if code != ExitDrift {
		t.Errorf("diff exit %d, want %d", code, ExitDrift)
	}
	for _, want := range []string{"-  replicas: 5", "+  replicas: 2", "+++ desired/apps.v1.Deployment." + ns + ".web", "-  token: '(redacted: live)'", "+  token: '(redacted: desired)'"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	for _, hidden := range []string{"managedFields", "changed-by-hand", "Y2hhbmdlZC1ieS1oYW5k"} {
		if strings.Contains(out, hidden) {
			t.Errorf("diff shows %q", hidden)
		}
	}
}

// TestSecretPatchedThenReappliedIsInSync patches a Secret's stringData by
// hand, then re-applies the source: kubectl-patch still owns data.token,
// but the source declares it (as stringData), so nothing is reported.
func TestSecretPatchedThenReappliedIsInSync(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "--force-conflicts", "-f", shop)
	requireInSync(t, ns, "--source", shop)
}
