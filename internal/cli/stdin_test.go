package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runIn executes plumb with args and stdin as its standard input.
func runIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Execute(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// TestFlagsStdinSource: -f - reads the manifests from standard input, as
// kubectl's does (helm template ... | plumb scan -f -), for scan, diff and
// fix; origins and errors name <stdin> with the line. Standard input is
// read once: -f - twice is refused, and so is -f - where the sources are
// watched (serve, agent).
func TestFlagsStdinSource(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	manifests := `# Source: shop/templates/settings.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two}
data: {mode: fast}
`
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", writeTemp(t, manifests))
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/two", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	kube := []string{"--kubeconfig", env.Kubeconfig, "-n", ns}

	code, out, stderr := runIn(t, manifests, append([]string{"scan", "-f", "-", "-o", "json"}, kube...)...)
	r := decodeReport(t, out)
	if code != ExitDrift || r.Summary.Objects != 2 || len(r.Findings) != 1 || r.Findings[0].Name != "two" ||
		r.Findings[0].Source == nil || r.Findings[0].Source.String() != "<stdin>:7" {
		t.Fatalf("scan -f -: exit %d, %d objects, findings %+v\n%s", code, r.Summary.Objects, r.Findings, stderr)
	}
	// A JSON stream, as kubectl get -o json prints objects one after another.
	code, out, stderr = runIn(t, `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}, "data": {"mode": "fast"}}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}, "data": {"mode": "fast"}}`, append([]string{"scan", "-f", "-", "-o", "json"}, kube...)...)
	if r := decodeReport(t, out); code != ExitDrift || r.Summary.Objects != 2 || len(r.Findings) != 1 {
		t.Errorf("scan -f - of JSON: exit %d, %+v\n%s", code, r.Summary, stderr)
	}
	code, out, stderr = runIn(t, manifests, append([]string{"diff", "-f", "-"}, kube...)...)
	if code != ExitDrift || !strings.Contains(out, "ConfigMap."+ns+".two") || !strings.Contains(out, `+  mode: fast`) {
		t.Errorf("diff -f -: exit %d:\n%s%s", code, out, stderr)
	}
	// Bad input names <stdin> and the line; the rest is still compared.
	code, out, stderr = runIn(t, manifests+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [three\n", append([]string{"scan", "-f", "-"}, kube...)...)
	if code != ExitError || !strings.Contains(out+stderr, "<stdin>:14: invalid YAML") {
		t.Errorf("scan -f - of bad YAML: exit %d, want an error at <stdin>:14\n%s%s", code, out, stderr)
	}
	if code, out, stderr := runIn(t, "", append([]string{"scan", "-f", "-"}, kube...)...); code != ExitError || !strings.Contains(out+stderr, "<stdin>: no objects found") {
		t.Errorf("scan -f - of nothing: exit %d:\n%s%s", code, out, stderr)
	}
	code, _, stderr = runIn(t, manifests, append([]string{"fix", "-f", "-", "--yes", "--store", storeFor(t)}, kube...)...)
	if code != ExitInSync {
		t.Fatalf("fix -f -: exit %d: %s", code, stderr)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmap/two", "-o", "jsonpath={.data.mode}"); got != "fast" {
		t.Errorf("after fix -f -, two's mode is %q", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "-f", "-", "-f", "-"}, "-f - is given twice: standard input is read once"},
		{[]string{"serve", "-f", "-"}, "-f - (standard input) cannot be used with serve"},
		{[]string{"agent", "-f", "-", "--hub", "https://hub.example", "--token-file", writeTemp(t, "token")}, "-f - (standard input) cannot be used with agent"},
	} {
		if code, _, stderr := runIn(t, manifests, append(tc.args, kube...)...); code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}
