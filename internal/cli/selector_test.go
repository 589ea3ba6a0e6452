package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"plumb.dev/plumb/internal/report"
)

// findingSet lists a report's findings as "state Kind ns/name".
func findingSet(r report.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, string(f.State)+" "+f.Kind+" "+f.Namespace+"/"+f.Name)
	}
	slices.Sort(out)
	return out
}

// TestFlagsSelectorObjects: -l selects objects as kubectl's does. Scan,
// diff and fix compare only the declared objects whose declared labels
// match; with --unmanaged (and fix's --prune) only the live objects whose
// labels match count, and a declared object left out by -l is never taken
// for unmanaged, even when its live labels match.
func TestFlagsSelectorObjects(t *testing.T) {
	t.Parallel()
	ns := env.Namespace(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cms.yaml"), []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: a, labels: {app: a}}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, labels: {app: b}}
data: {mode: fast}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", dir)
	for _, cm := range []string{"a", "b"} {
		env.Kubectl(t, "", "-n", ns, "patch", "configmap/"+cm, "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
		env.Kubectl(t, "", "-n", ns, "create", "configmap", "stray-"+cm)
		env.Kubectl(t, "", "-n", ns, "label", "configmap/stray-"+cm, "app="+cm)
	}
	// b is declared with app=b; live, it says app=a now.
	env.Kubectl(t, "", "-n", ns, "label", "--overwrite", "configmap/b", "app=a")

	code, r, stderr := scanJSON(t, ns, "-f", dir, "-l", "app=a")
	if got, want := strings.Join(findingSet(r), ","), "drifted ConfigMap "+ns+"/a"; code != ExitDrift || got != want || r.Summary.Objects != 1 {
		t.Errorf("scan -l app=a: exit %d, %d objects, findings %s; want 1, 1, %s\n%s", code, r.Summary.Objects, got, want, stderr)
	}
	code, r, stderr = scanJSON(t, ns, "-f", dir, "--selector", "app=a", "--unmanaged")
	if got, want := strings.Join(findingSet(r), ","), "drifted ConfigMap "+ns+"/a,unmanaged ConfigMap "+ns+"/stray-a"; code != ExitDrift || got != want {
		t.Errorf("scan -l app=a --unmanaged: exit %d, findings %s; want %s\n%s", code, got, want, stderr)
	}
	code, r, _ = scanJSON(t, ns, "-f", dir, "-l", "app in (a, b)")
	if code != ExitDrift || r.Summary.Objects != 2 {
		t.Errorf("scan -l 'app in (a, b)': exit %d, %d objects; want 1, 2", code, r.Summary.Objects)
	}

	code, out, stderr := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "-f", dir, "-l", "app=b")
	if code != ExitDrift || !strings.Contains(out, "ConfigMap."+ns+".b") || strings.Contains(out, "ConfigMap."+ns+".a") {
		t.Errorf("diff -l app=b: exit %d, want b's diff alone:\n%s%s", code, out, stderr)
	}

	// fix -l app=a --prune: a put back and stray-a deleted; b (declared,
	// not selected, live app=a) and stray-b stay as they are.
	code, d, stderr := fix(t, ns, "-f", dir, "-l", "app=a", "--prune", "--allow-risk", "--yes")
	if code != ExitInSync || len(d.Results) != 2 {
		t.Fatalf("fix -l app=a --prune: exit %d, results %+v\n%s", code, d.Results, stderr)
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "configmaps", "-o", "jsonpath={range .items[*]}{.metadata.name}={.data.mode} {end}"); got != "a=fast b=slow stray-b= " {
		t.Errorf("after fix -l app=a --prune, configmaps: %q", got)
	}

	if code, _, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "-f", dir, "-l", "app in ((a"); code != ExitError || !strings.Contains(stderr, `-l/--selector "app in ((a"`) {
		t.Errorf("a bad selector: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "fix", "--undo", "1", "-l", "app=a"); code != ExitError || !strings.Contains(stderr, "--undo takes no") {
		t.Errorf("fix --undo -l: exit %d: %s", code, stderr)
	}
}

// TestFlagsAllNamespacesUnmanaged: -A widens --unmanaged to every
// namespace and the cluster-scoped kinds, as kubectl get -A reads every
// namespace; -l narrows it there too, sent to the server. Without
// --unmanaged -A is refused, and commands that do not list live objects
// beyond the declared ones have no -A.
func TestFlagsAllNamespacesUnmanaged(t *testing.T) {
	t.Parallel()
	ns, other := env.Namespace(t), env.Namespace(t)
	mark := "plumb-test=" + ns
	file := writeTemp(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: declared}\ndata: {a: \"1\"}\n")
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", file)
	env.Kubectl(t, "", "-n", other, "create", "configmap", "stray")
	env.Kubectl(t, "", "-n", other, "label", "configmap/stray", mark)
	env.Kubectl(t, "", "create", "clusterrole", ns+"-stray", "--verb=get", "--resource=pods")
	t.Cleanup(func() { _, _ = env.KubectlErr("", "delete", "clusterrole", ns+"-stray") })
	env.Kubectl(t, "", "label", "clusterrole/"+ns+"-stray", mark)

	stray := []string{"unmanaged ClusterRole /" + ns + "-stray", "unmanaged ConfigMap " + other + "/stray"}
	code, r, stderr := scanJSON(t, ns, "-f", file, "--unmanaged", "-A", "-l", mark)
	if got := findingSet(r); code != ExitDrift || !slices.Equal(got, stray) {
		t.Errorf("scan --unmanaged -A -l: exit %d, findings %v; want %v\n%s", code, got, stray, stderr)
	}
	code, r, _ = scanJSON(t, ns, "-f", file, "--unmanaged", "--all-namespaces")
	if got := findingSet(r); code != ExitDrift || !slices.Contains(got, stray[0]) || !slices.Contains(got, stray[1]) ||
		!slices.Contains(got, "unmanaged Namespace /"+other) || slices.Contains(got, "unmanaged ConfigMap "+ns+"/declared") {
		t.Errorf("scan --unmanaged -A: exit %d, findings %v; want the stray objects and namespace %s, and not the declared ConfigMap", code, got, other)
	}
	code, r, _ = scanJSON(t, ns, "-f", file, "--unmanaged", "-l", mark)
	if code != ExitInSync || len(r.Findings) != 0 {
		t.Errorf("scan --unmanaged without -A: exit %d, findings %v; want none outside namespace %s", code, findingSet(r), ns)
	}
	if code, out, stderr := run(t, "diff", "--kubeconfig", env.Kubeconfig, "-n", ns, "-f", file, "--unmanaged", "-A", "-l", mark); code != ExitDrift || !strings.Contains(out, "ConfigMap."+other+".stray") {
		t.Errorf("diff --unmanaged -A: exit %d:\n%s%s", code, out, stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "-f", file, "-A"}, "-A/--all-namespaces widens --unmanaged"},
		{[]string{"diff", "-f", file, "--all-namespaces"}, "-A/--all-namespaces widens --unmanaged"},
		{[]string{"fix", "-f", file, "-A"}, "unknown shorthand flag: 'A' in -A"},
		{[]string{"skew", "-c", file, "-A"}, "unknown shorthand flag: 'A' in -A"},
	} {
		if code, _, stderr := run(t, append(tc.args, "--kubeconfig", env.Kubeconfig, "-n", ns)...); code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}
