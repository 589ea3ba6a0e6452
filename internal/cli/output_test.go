package cli

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"plumb.dev/plumb/internal/store"
)

// TestScanOutputFormats: kubectl's -o name, -o jsonpath, -o wide and
// --no-headers on a scan of a real cluster, and a template that does not
// parse refused before anything is scanned.
func TestScanOutputFormats(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	env.Kubectl(t, "", "-n", ns, "delete", "configmap/flags")
	scan := func(args ...string) (int, string, string) {
		t.Helper()
		return run(t, append([]string{"scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}, args...)...)
	}

	code, out, stderr := scan("-o", "name")
	if diff := cmp.Diff("configmap/flags\ndeployment.apps/web\n", out); code != ExitDrift || diff != "" {
		t.Errorf("-o name: exit %d (want %d), output (-want +got):\n%s%s", code, ExitDrift, diff, stderr)
	}

	code, out, _ = scan("-o", `jsonpath={range .findings[*]}{.kind}/{.name} {.state}{"\n"}{end}`)
	if diff := cmp.Diff("ConfigMap/flags missing\nDeployment/web drifted\n", out); code != ExitDrift || diff != "" {
		t.Errorf("-o jsonpath: exit %d, output (-want +got):\n%s", code, diff)
	}
	tmpl := filepath.Join(t.TempDir(), "objects.tmpl")
	writeFile(t, tmpl, "{.summary.objects}")
	if _, out, _ = scan("-o", "jsonpath-file="+tmpl); out != "9" {
		t.Errorf("-o jsonpath-file: %q, want the 9 objects of the shop", out)
	}

	_, out, _ = scan("--no-headers")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if strings.Contains(out, "NAMESPACE") || !strings.HasPrefix(lines[0], "default ") && !strings.Contains(lines[0], ns) {
		t.Errorf("--no-headers: a header row, or no rows:\n%s", out)
	}

	_, out, _ = scan("-o", "wide")
	for _, want := range []string{"SOURCE", "shop/web.yaml:1", "shop/config.yaml:11", ".spec.replicas"} {
		if !strings.Contains(out, want) {
			t.Errorf("-o wide lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ = scan(); strings.Contains(out, "SOURCE") || strings.Contains(out, "\x1b[") {
		t.Errorf("the table off a terminal has -o wide's columns or colours:\n%s", out)
	}

	code, out, stderr = scan("-o", "jsonpath={.findings[")
	if code != ExitError || out != "" || !strings.Contains(stderr, "jsonpath") {
		t.Errorf("a template that does not parse: exit %d (want %d), stdout %q, stderr %q", code, ExitError, out, stderr)
	}
}

// TestHistoryTables: plumb history's tables give absolute times with
// their zone, take --no-headers, and a JSONPath template.
func TestHistoryTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plumb.db")
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 14, 3, 11, 0, time.FixedZone("CET", 3600))
	rec := store.Run{StartedAt: at, FinishedAt: at.Add(time.Second), User: "alice", Command: "fix", Outcome: store.RunApplied, Clusters: []string{"prod-eu"}, Objects: 1,
		Steps: []store.RunStep{{Cluster: "prod-eu", APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Action: store.ActionApply, Outcome: store.StepApplied}}}
	if _, err := st.RecordRun(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	history := func(args ...string) string {
		t.Helper()
		code, out, stderr := run(t, append([]string{"history", "--store", path}, args...)...)
		if code != 0 {
			t.Fatalf("history %v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	want := "RUN   TIME                      USER    COMMAND   OBJECTS   OUTCOME   CLUSTERS\n" +
		"1     2026-12-05 13:03:11 UTC   alice   fix       1         applied   prod-eu\n"
	if diff := cmp.Diff(want, history()); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("1   2026-12-05 13:03:11 UTC   alice   fix   1   applied   prod-eu\n", history("--no-headers")); diff != "" {
		t.Errorf("history --no-headers (-want +got):\n%s", diff)
	}
	if out := history("1"); !strings.HasPrefix(out, "Run 1: fix by alice at 2026-12-05 13:03:11 UTC, applied\n") ||
		!strings.Contains(out, "Deployment shop/web") {
		t.Errorf("history 1:\n%s", out)
	}
	if out := history("-o", "jsonpath={.runs[0].user}"); out != "alice" {
		t.Errorf("history -o jsonpath={.runs[0].user} = %q, want alice", out)
	}
}

// TestWarningsSummarisedAndUnconfirmedMarked scans, with --unmanaged, as a
// user who may read only the kinds the shop declares: the kinds it may not
// list are one warning line, not a log line each, and no raw client-go
// line is printed; the findings the server could not confirm (the user
// may not dry-run) are marked in the table. -v 1 lists each warning.
func TestWarningsSummarisedAndUnconfirmedMarked(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	user := "narrow-" + ns
	env.Kubectl(t, "", "create", "clusterrole", user, "--verb=get,list,watch", "--resource=deployments.apps,services,configmaps,secrets,namespaces")
	env.Kubectl(t, "", "create", "clusterrolebinding", user, "--clusterrole="+user, "--user="+user)
	kubeconfig := env.User(t, user)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")

	args := []string{"scan", "--kubeconfig", kubeconfig, "-n", ns, "--source", shop, "--unmanaged"}
	code, out, stderr := run(t, args...)
	if code != ExitDrift {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitDrift, out, stderr)
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	var warnings []string
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(line, "warning: ") {
			warnings = append(warnings, line)
		} else if line != "" {
			t.Errorf("stderr has a line that is not a summary: %q", line)
		}
	}
	summary := regexp.MustCompile(`^warning: not searched for unmanaged objects \(([0-9]+) kinds\): forbidden; -v 1 lists each$`)
	if len(warnings) != 1 || !summary.MatchString(warnings[0]) {
		t.Errorf("stderr: want one summary line of the kinds not searched:\n%s", stderr)
	}
	if !regexp.MustCompile(`web +drifted \(unconfirmed\)`).MatchString(out) {
		t.Errorf("the table does not mark the unconfirmed finding:\n%s", out)
	}
	_, _, stderr = run(t, append(args, "-v", "1")...)
	if n := strings.Count(stderr, "not searched for unmanaged objects"); n < 2 {
		t.Errorf("-v 1: %d warning lines, want one per kind:\n%s", n, stderr)
	}
}

// TestPathNotationIsOneEverywhere: a changed field is written the same
// way, in kubectl's notation, by scan's table and Markdown, plumb diff's
// notes and fix's plan.
func TestPathNotationIsOneEverywhere(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "set", "env", "deployment/web", "DEBUG=1")
	env.Kubectl(t, "", "-n", ns, "set", "image", "deployment/web", "web=nginx:evil")
	env.Kubectl(t, "", "-n", ns, "annotate", "deployment/web", "example.com/owner=someone-else", "--overwrite")
	paths := []string{
		`.spec.template.spec.containers[name="web"].env[name="DEBUG"]`,
		`.spec.template.spec.containers[name="web"].image`,
	}
	base := []string{"--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop}
	for _, args := range [][]string{
		{"scan", "-o", "wide"},
		{"scan", "-o", "markdown"},
		{"diff"},
		{"fix"},
	} {
		_, out, stderr := run(t, append(args, base...)...)
		for _, p := range paths {
			if args[0] == "diff" && strings.HasSuffix(p, ".image") {
				continue // the diff shows the image in YAML, and notes only added fields
			}
			if !strings.Contains(out, p) {
				t.Errorf("plumb %s does not write %s:\n%s%s", strings.Join(args, " "), p, out, stderr)
			}
		}
	}
}
