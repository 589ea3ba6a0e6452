package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
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

// TestDriftOutputAndExitCodes checks what scan and diff print about
// drift and how they exit; which changes a scan finds is package drift's
// TestOutOfBandChangesAreFoundExactly. In sync, diff prints nothing and
// exits 0. After a scale, a deleted ConfigMap, one nobody declares and a
// Secret patched by hand, scan -o json --unmanaged exits 1 and gives each
// change's path, type and manager, a modified field's values and
// attribution, and a summary with coverage; no output format prints a
// Secret's values; diff exits 1 and shows live as "-" and desired as "+",
// headed by the object, with the Secret masked and no managedFields.
func TestDriftOutputAndExitCodes(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) { env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	if code, out, stderr := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop); code != ExitInSync || out != "" {
		t.Errorf("diff in sync: exit %d, want 0 and nothing printed\n%s\n%s", code, out, stderr)
	}

	k("scale", "deployment/web", "--replicas=5")
	k("delete", "configmap/flags")
	k("create", "configmap", "stray", "--from-literal=debug=true")
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"changed-by-hand"}}`)

	code, r, stderr := scanJSON(t, ns, "--source", shop, "--unmanaged")
	want := []seen{
		{"ConfigMap/flags", "-", "missing", ""},
		{"ConfigMap/stray", "-", "unmanaged", ""},
		{"Deployment/web", ".spec.replicas", "modified", "kubectl"},
		{"Secret/api-credentials", ".data.token", "modified", "kubectl-patch"},
	}
	if diff := cmp.Diff(want, changesOf(r)); code != ExitDrift || diff != "" {
		b, _ := json.MarshalIndent(r.Findings, "", "  ")
		t.Errorf("exit %d, want %d (drift); changes (-want +got):\n%s\nfindings:\n%s\nstderr: %s", code, ExitDrift, diff, b, stderr)
	}
	for _, f := range r.Findings {
		for _, c := range f.Changes {
			switch c.Path {
			case ".spec.replicas":
				if c.Desired != float64(2) || c.Live != float64(5) || c.Operation != "Update" || c.Subresource != "scale" {
					t.Errorf("replicas change = %+v, want desired 2, live 5, an Update of subresource scale", c)
				}
			case ".data.token":
				if c.Desired != "(redacted)" || c.Live != "(redacted)" || c.Time == nil {
					t.Errorf("secret change = %+v, want its values redacted, with a time", c)
				}
			}
		}
	}
	if s := r.Summary; s.Drifted != 2 || s.Missing != 1 || s.Unmanaged != 1 || s.Coverage == nil {
		t.Errorf("summary = %+v, want 2 drifted, 1 missing, 1 unmanaged, with coverage", s)
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

// TestHumanOutputEscapesControlCharacters: a source that declares an
// object whose name holds terminal escapes (ESC[2J clears the screen, an
// OSC retitles the terminal) is printed with them made visible, by the
// table, Markdown, plumb diff (colours on) and errors; JSON keeps the name
// as data.
func TestHumanOutputEscapesControlCharacters(t *testing.T) {
	ns := env.Namespace(t)
	src := filepath.Join(t.TempDir(), "hostile.yaml")
	if err := os.WriteFile(src, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"evil\\e[2J\\e]0;owned\\a\"\ndata: {a: b}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"scan", "-o", "table"},
		{"scan", "-o", "markdown"},
		{"diff", "--color", "always"},
	} {
		_, out, stderr := run(t, append(args, "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", src)...)
		all := out + stderr
		if strings.Contains(all, "\x1b[2J") || strings.Contains(all, "\x1b]0;") || strings.Contains(all, "\a") {
			t.Errorf("plumb %s printed raw escapes:\n%q", strings.Join(args, " "), all)
		}
		if !strings.Contains(all, `evil\x1b[2J\x1b]0;owned\x07`) {
			t.Errorf("plumb %s does not show the name with its escapes visible:\n%q", strings.Join(args, " "), all)
		}
	}
	_, out, _ := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", src, "-o", "json")
	if !strings.Contains(out, `evil\u001b[2J`) {
		t.Errorf("JSON does not keep the name as data:\n%s", out)
	}
}
