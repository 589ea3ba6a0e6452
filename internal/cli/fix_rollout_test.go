package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/store"
)

// rolloutFleetConfig writes a configuration of n clusters, each its own
// namespace of the test API server with the shop applied, bound with
// remediation; c0 is the canary, the others the rest.
func rolloutFleetConfig(t *testing.T, n int, remediation, rollout string) (string, []string) {
	t.Helper()
	dir := mustAbs(t, shop)
	var clusters, sources, bindings strings.Builder
	var namespaces []string
	for i := range n {
		ns := env.Namespace(t)
		namespaces = append(namespaces, ns)
		env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", dir)
		tier := "rest"
		if i == 0 {
			tier = "canary"
		}
		fmt.Fprintf(&clusters, "  - {name: c%d, kubeconfig: %s, context: %s, labels: {tier: %s, n: \"%d\"}}\n", i, env.Kubeconfig, env.Context, tier, i)
		fmt.Fprintf(&sources, "  - {name: s%d, path: %s, namespace: %s}\n", i, dir, ns)
		fmt.Fprintf(&bindings, "  - {source: s%d, clusters: {matchLabels: {n: \"%d\"}}, remediation: %s}\n", i, i, remediation)
	}
	return writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nclusters:\n"+clusters.String()+
		"sources:\n"+sources.String()+"bindings:\n"+bindings.String()+rollout), namespaces
}

func fixFleet(t *testing.T, cfg string, args ...string) (int, rolloutDoc, string) {
	t.Helper()
	code, out, stderr := run(t, append([]string{"fix", "-c", cfg, "-o", "json", "--store", storeFor(t)}, args...)...)
	var d rolloutDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("fix -c -o json: exit %d: %v\n%s\n%s", code, err, out, stderr)
	}
	requireSchema(t, "plan", out)
	if d.APIVersion != "plumb.dev/v1alpha1" || d.Kind != "Rollout" {
		t.Errorf("fix -c -o json: apiVersion %q, kind %q; want plumb.dev/v1alpha1, Rollout", d.APIVersion, d.Kind)
	}
	return code, d, stderr
}

func settingsMode(t *testing.T, ns string) string {
	return env.Kubectl(t, "", "-n", ns, "get", "configmap/settings", "-o", "jsonpath={.data.mode}")
}

func webReplicas(t *testing.T, ns string) string {
	return env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}")
}

// TestFixRolloutInWaves: four clusters drift alike; the rollout fixes the
// canary first and bakes it; the canary's ConfigMap is changed by hand
// while it bakes, which stops the rollout with the rest untouched.
// --resume puts the canary right again and goes on with the rest, at most
// two at a time, in the same run; history shows the waves; --undo puts
// every wave back.
func TestFixRolloutInWaves(t *testing.T) {
	t.Parallel() // its own namespaces (and API server, where it starts one): it waits more than it works
	cfg, namespaces := rolloutFleetConfig(t, 5, "off", `rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}, bake: 6s}
    - {name: rest, clusters: {matchExpressions: [{key: n, operator: In, values: ["1", "2", "3"]}]}, maxParallel: 2}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
		env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	}

	// Without --yes and a terminal: nothing starts.
	if code, _, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t)); code != ExitDrift || !strings.Contains(stderr, "pass --yes") {
		t.Fatalf("without --yes: exit %d: %s", code, stderr)
	}
	if settingsMode(t, namespaces[0]) != "slow" {
		t.Fatal("the canary was fixed without --yes")
	}

	// The canary is fixed, then drifts again by hand while it bakes.
	redrifted := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if out, err := env.KubectlErr("", "-n", namespaces[0], "get", "configmap/settings", "-o", "jsonpath={.data.mode}"); err == nil && out == "fast" {
				// After the scan that starts the bake (its baseline).
				time.Sleep(1500 * time.Millisecond)
				_, err := env.KubectlErr("", "-n", namespaces[0], "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"by-hand"}}`)
				redrifted <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		redrifted <- fmt.Errorf("the canary was never fixed")
	}()
	code, d, stderr := fixFleet(t, cfg, "--yes")
	if err := <-redrifted; err != nil {
		t.Fatal(err)
	}
	if code != ExitDrift || d.Run == 0 || !strings.Contains(d.Stopped, "wave canary") || !strings.Contains(d.Stopped, "ConfigMap "+namespaces[0]+"/settings") ||
		strings.Join(d.Left, ",") != "canary,rest" {
		t.Fatalf("first rollout: exit %d, run %d, stopped %q, left %v: %s", code, d.Run, d.Stopped, d.Left, stderr)
	}
	if !strings.Contains(stderr, "c4 are in no wave") {
		t.Errorf("stderr does not say c4 is in no wave:\n%s", stderr)
	}
	for _, ns := range namespaces[1:] {
		if webReplicas(t, ns) != "5" || settingsMode(t, ns) != "slow" {
			t.Fatalf("namespace %s was fixed although the canary stopped the rollout", ns)
		}
	}
	statuses := func(waves []store.RunWave) string {
		var s []string
		for _, w := range waves {
			s = append(s, w.Wave+"/"+w.Cluster+"="+w.Status)
		}
		return strings.Join(s, " ")
	}
	if got, want := statuses(d.Waves), "canary/c0=drifted rest/c1=pending rest/c2=pending rest/c3=pending"; got != want {
		t.Errorf("waves %s, want %s", got, want)
	}
	id := strconv.FormatInt(d.Run, 10)
	if h := history(t, id); !strings.Contains(h, "canary") || !strings.Contains(h, "drifted") || !strings.Contains(h, "pending") {
		t.Errorf("history %s does not show the waves:\n%s", id, h)
	}

	// --resume: the canary again (its new drift put back), then the rest.
	code, d, stderr = fixFleet(t, cfg, "--yes", "--resume", id)
	if code != ExitInSync || d.Stopped != "" || strconv.FormatInt(d.Run, 10) != id {
		t.Fatalf("resume: exit %d, run %d, stopped %q: %s", code, d.Run, d.Stopped, stderr)
	}
	for _, ns := range namespaces[:4] {
		requireInSync(t, ns, "--source", shop)
	}
	if webReplicas(t, namespaces[4]) != "5" {
		t.Error("c4, in no wave, was fixed")
	}
	var rec store.Run
	if err := json.Unmarshal([]byte(history(t, id, "-o", "json")), &rec); err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(rec.Waves), "canary/c0=fixed rest/c1=fixed rest/c2=fixed rest/c3=fixed"; got != want || rec.Outcome != "applied" {
		t.Fatalf("run %s: outcome %s, waves %s; want applied, %s", id, rec.Outcome, got, want)
	}
	// The canary finished before the rest began; never more than two of
	// the rest at once.
	canary, rest := rec.Waves[0], rec.Waves[1:]
	for _, r := range rest {
		if r.StartedAt.Before(canary.FinishedAt) {
			t.Errorf("%s started at %s, before the canary finished at %s", r.Cluster, r.StartedAt, canary.FinishedAt)
		}
	}
	if overlap := func(a, b store.RunWave) bool {
		return a.StartedAt.Before(b.FinishedAt) && b.StartedAt.Before(a.FinishedAt)
	}; overlap(rest[0], rest[1]) && overlap(rest[1], rest[2]) && overlap(rest[0], rest[2]) {
		t.Errorf("three clusters of wave rest ran at once with maxParallel 2: %+v", rest)
	}
	// Every object the run changed, in four clusters: web and settings in
	// each, the canary's settings twice.
	if len(rec.Steps) != 9 {
		t.Errorf("run %s has %d steps, want 9: %+v", id, len(rec.Steps), rec.Steps)
	}

	// --undo: every wave back as the run found it.
	code, u, stderr := fixFleet(t, cfg, "--yes", "--undo", id)
	if code != ExitInSync || u.Run == 0 {
		t.Fatalf("undo: exit %d, run %d: %s", code, u.Run, stderr)
	}
	for i, ns := range namespaces[:4] {
		want := "slow"
		if i == 0 {
			want = "by-hand" // as the resumed rollout found it
		}
		if got := settingsMode(t, ns); got != want || webReplicas(t, ns) != "5" {
			t.Errorf("after undo, %s: settings mode %q, web replicas %s; want %s, 5", ns, got, webReplicas(t, ns), want)
		}
	}
	// A run is undone once, on a fleet as on one cluster.
	if code, _, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t), "--yes", "--undo", id); code != ExitError ||
		!strings.Contains(stderr, fmt.Sprintf("already undone by run %d", u.Run)) {
		t.Errorf("a second undo of run %s: exit %d: %s; want 2, already undone by run %d", id, code, stderr, u.Run)
	}
}

// TestFixRolloutStopsWhenAClusterFails: a guardrail refuses the canary's
// plan, which fails the wave: the rollout stops there, recorded as
// stopped, and the rest is left alone.
func TestFixRolloutStopsWhenAClusterFails(t *testing.T) {
	cfg, namespaces := rolloutFleetConfig(t, 2, "off", `guardrails: {maxObjectsPerRun: 1}
rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}}
    - {name: rest, clusters: {}}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
		env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	}
	code, d, stderr := fixFleet(t, cfg, "--yes")
	if code != ExitDrift || d.Stopped != "wave canary: cluster c0 failed" || strings.Join(d.Left, ",") != "canary,rest" ||
		len(d.Waves) != 2 || !strings.Contains(d.Waves[0].Message, "refused by max-objects") || d.Waves[1].Status != "pending" {
		t.Fatalf("exit %d, stopped %q, left %v, waves %+v: %s", code, d.Stopped, d.Left, d.Waves, stderr)
	}
	for _, ns := range namespaces {
		if webReplicas(t, ns) != "5" || settingsMode(t, ns) != "slow" {
			t.Errorf("namespace %s was changed by a rollout whose first wave was refused", ns)
		}
	}
	var rec store.Run
	one := history(t, strconv.FormatInt(d.Run, 10), "-o", "json")
	if err := json.Unmarshal([]byte(one), &rec); err != nil {
		t.Fatal(err)
	}
	requireSchema(t, "history", one) // a run with its waves
	if rec.Outcome != "stopped" || len(rec.Waves) != 2 || rec.Waves[0].Status != "failed" {
		t.Errorf("run %d: outcome %s, waves %+v; want stopped, c0 failed", d.Run, rec.Outcome, rec.Waves)
	}
}

// TestFixRolloutFailedStepExits2: a rollout whose step the API server
// refuses exits 2, as plumb fix does for the same failure, and offers no
// undo of what it never wrote.
func TestFixRolloutFailedStepExits2(t *testing.T) {
	cfg, namespaces := rolloutFleetConfig(t, 1, "off", `rollout:
  waves:
    - {name: all, clusters: {}}
`)
	ns := namespaces[0]
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	freezeConfigMaps(t, ns)
	code, out, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t), "--yes")
	if code != ExitError || strings.Contains(out, "--undo") {
		t.Errorf("a rollout whose step failed: exit %d (want %d), and no --undo offered:\n%s%s", code, ExitError, out, stderr)
	}
}

// TestFixRolloutPreview: without --yes a rollout shows every wave's plan,
// per cluster and per object, and starts nothing; --dry-run=server runs
// every wave's plan as a server-side dry run, writing nothing (not even
// the store) and baking nothing, with plain fix --dry-run's exit code.
func TestFixRolloutPreview(t *testing.T) {
	t.Parallel()
	cfg, namespaces := rolloutFleetConfig(t, 2, "off", `rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}, bake: 1h}
    - {name: rest, clusters: {matchLabels: {tier: rest}}}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	}
	db := storeFor(t)
	noStore := func(what string) {
		t.Helper()
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Errorf("%s made the store %s (%v)", what, db, err)
		}
	}
	untouched := func(what string) {
		t.Helper()
		for _, ns := range namespaces {
			if webReplicas(t, ns) != "5" {
				t.Fatalf("%s changed deployment %s/web", what, ns)
			}
		}
	}

	code, out, stderr := run(t, "fix", "-c", cfg, "--store", db)
	for i, ns := range namespaces {
		wave := []string{"canary", "rest"}[i]
		want := fmt.Sprintf("Wave %s, cluster c%d: Plan: 1 object\n\n~ Deployment %s/web (apply, medium risk", wave, i, ns)
		if !strings.Contains(out, want) {
			t.Errorf("without --yes, stdout lacks %q:\n%s", want, out)
		}
	}
	if code != ExitDrift || !strings.Contains(out, ".spec.replicas: 5 -> 2") || !strings.Contains(stderr, "rollout not started: not a terminal") {
		t.Errorf("without --yes: exit %d (want 1)\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	untouched("a rollout without --yes")
	noStore("a rollout without --yes")

	// The same preview as JSON: every cluster's steps, no results, the
	// waves pending.
	code, d, _ := fixFleet(t, cfg)
	if code != ExitDrift || d.Run != 0 || d.Plan == nil || len(d.Plan.Steps) != 2 || len(d.Results) != 0 || len(d.Waves) != 2 || d.Waves[0].Status != "pending" {
		t.Errorf("without --yes, -o json: exit %d (want 1), run %d, waves %+v, plan %+v, results %+v", code, d.Run, d.Waves, d.Plan, d.Results)
	}
	untouched("a rollout without --yes as JSON")
	noStore("a rollout without --yes as JSON")

	// Plain fix's dry run of the same drift, for its exit code.
	plain, _, _ := run(t, "fix", "--kubeconfig", env.Kubeconfig, "-n", namespaces[0], "--source", shop, "--dry-run=server", "--store", db)
	start := time.Now()
	code, out, stderr = run(t, "fix", "-c", cfg, "--store", db, "--dry-run=server")
	for i, ns := range namespaces {
		if want := fmt.Sprintf("c%d: Deployment %s/web applied (server dry run)", i, ns); !strings.Contains(out, want) {
			t.Errorf("--dry-run=server: stdout lacks %q:\n%s", want, out)
		}
	}
	if code != plain || !strings.Contains(out, "Server dry run of 2 waves: nothing was written and no wave baked.") || strings.Contains(stderr, "rollout not started") {
		t.Errorf("--dry-run=server: exit %d (plain fix --dry-run=server: %d)\nstdout:\n%s\nstderr:\n%s", code, plain, out, stderr)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("--dry-run=server took %s: it waited for the canary's bake", time.Since(start))
	}
	untouched("a rollout's dry run")
	noStore("a rollout's dry run")

	// As JSON: every cluster's steps and dry-run results, the waves pending.
	code, d, _ = fixFleet(t, cfg, "--dry-run=server")
	if code != plain || d.Run != 0 || d.Plan == nil || len(d.Plan.Steps) != 2 || len(d.Results) != 2 || len(d.Waves) != 2 || d.Waves[1].Status != "pending" {
		t.Errorf("--dry-run=server -o json: exit %d, run %d, waves %+v, plan %+v, results %+v", code, d.Run, d.Waves, d.Plan, d.Results)
	}
	untouched("a rollout's dry run as JSON")
	noStore("a rollout's dry run as JSON")
}

// TestFixRolloutChoosesClusters: --fleet-cluster and --cluster-selector
// choose the clusters a rollout fixes, as they choose those plumb scan -c
// compares; the others are left alone. A resume goes on with the clusters
// the run had and takes no selection.
func TestFixRolloutChoosesClusters(t *testing.T) {
	t.Parallel()
	cfg, namespaces := rolloutFleetConfig(t, 3, "off", `rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}}
    - {name: rest, clusters: {matchLabels: {tier: rest}}}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	}
	code, d, stderr := fixFleet(t, cfg, "--yes", "--fleet-cluster", "c1")
	if code != ExitInSync || len(d.Waves) != 1 || d.Waves[0].Cluster != "c1" || d.Waves[0].Wave != "rest" {
		t.Fatalf("--fleet-cluster c1: exit %d, waves %+v: %s", code, d.Waves, stderr)
	}
	if got := []string{webReplicas(t, namespaces[0]), webReplicas(t, namespaces[1]), webReplicas(t, namespaces[2])}; strings.Join(got, ",") != "5,2,5" {
		t.Fatalf("after --fleet-cluster c1, web replicas %v; want only c1's put back", got)
	}
	code, d, stderr = fixFleet(t, cfg, "--yes", "--cluster-selector", "tier=rest")
	if code != ExitInSync || len(d.Waves) != 2 || d.Waves[0].Cluster != "c1" || d.Waves[1].Cluster != "c2" {
		t.Fatalf("--cluster-selector tier=rest: exit %d, waves %+v: %s", code, d.Waves, stderr)
	}
	if webReplicas(t, namespaces[0]) != "5" || webReplicas(t, namespaces[2]) != "2" {
		t.Fatalf("--cluster-selector tier=rest fixed the canary, or not c2")
	}
	if code, _, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t), "--yes", "--cluster-selector", "tier=none"); code != ExitError ||
		!strings.Contains(stderr, "no cluster of "+cfg+" matches the selection") {
		t.Errorf("a selector that matches nothing: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t), "--yes", "--resume", strconv.FormatInt(d.Run, 10), "--fleet-cluster", "c0"); code != ExitError ||
		!strings.Contains(stderr, "--resume works on the clusters the run did") {
		t.Errorf("--resume with --fleet-cluster: exit %d: %s", code, stderr)
	}
}

// TestFixRolloutLogsOnStderr: with -v 1 a rollout's progress (slog) goes
// to standard error, and standard output holds only the human output:
// the waves, each cluster's plan and results, and the record.
func TestFixRolloutLogsOnStderr(t *testing.T) {
	t.Parallel()
	cfg, namespaces := rolloutFleetConfig(t, 2, "off", `rollout:
  waves:
    - {name: canary, clusters: {matchLabels: {tier: canary}}, bake: 2s}
    - {name: rest, clusters: {}}
`)
	for _, ns := range namespaces {
		env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	}
	code, out, stderr := run(t, "fix", "-c", cfg, "--store", storeFor(t), "--yes", "-v", "1")
	if code != ExitInSync || !strings.Contains(stderr, "level=INFO") || !strings.Contains(stderr, `msg="wave done"`) {
		t.Fatalf("exit %d; stderr lacks the rollout's progress:\n%s", code, stderr)
	}
	human := []string{"Rollout: ", "  canary: ", "  rest: ", "Cluster c", "~ Deployment ", "    .spec.", "c0: Deployment ", "c1: Deployment ", "wave canary, ", "wave rest, ", "Recorded as run "}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !slices.ContainsFunc(human, func(p string) bool { return strings.HasPrefix(line, p) }) {
			t.Errorf("stdout holds a line that is not the rollout's human output: %q", line)
		}
		if strings.Contains(line, "level=") || strings.Contains(line, "msg=") {
			t.Errorf("a log line on stdout: %q", line)
		}
	}
}
