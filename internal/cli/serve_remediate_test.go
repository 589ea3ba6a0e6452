package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/remediate"
	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testwait"
)

// remediations lists serve's held remediations, filtered by state.
func remediations(t *testing.T, base, state string) []queue.Remediation {
	t.Helper()
	var l struct{ Items []queue.Remediation }
	if code := getJSON(t, base+"/api/v1/remediations?state="+state, &l); code != http.StatusOK {
		t.Fatalf("GET remediations: %d", code)
	}
	return l.Items
}

// post sends an empty POST and decodes the JSON answer into v.
func post(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("POST %s: %d %v: %s", url, resp.StatusCode, err, b)
	}
	return resp.StatusCode
}

func runsOf(t *testing.T, base string) []store.Run {
	t.Helper()
	var l struct{ Items []store.Run }
	getJSON(t, base+"/api/v1/runs", &l)
	return l.Items
}

// metricValue sums a metric's samples whose labels include want.
func metricValue(t *testing.T, base, name string, want map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if match {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// TestServeAutoRemediation: in auto mode a medium-risk drift is put back at
// once and recorded; a high-risk one waits for approval and is applied when
// approved through the API.
func TestServeAutoRemediation(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--remediation", "auto")
	events := sse(t, base+"/api/v1/stream")
	time.Sleep(100 * time.Millisecond) // let the subscription register

	k("scale", "deployment/web", "--replicas=5")
	waitEvent(t, events, "opened")
	if resolved := waitEvent(t, events, "resolved"); !strings.Contains(resolved, "/Deployment/"+ns+"/web\"") {
		t.Errorf("resolved event is not web's: %s", resolved)
	}
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("web replicas = %s after automatic remediation, want 2", got)
	}
	runs := runsOf(t, base)
	if len(runs) != 1 || runs[0].Command != "serve" || runs[0].Outcome != "applied" || runs[0].Objects != 1 || runs[0].User == "" {
		t.Fatalf("runs = %+v, want one applied serve run by a named user", runs)
	}

	// A Secret's value, whatever its risk, is never written unseen: it
	// waits, and the value set by hand stays until a person decides.
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"rotated"}}`)
	waitEvent(t, events, "opened")
	var pending []queue.Remediation
	testwait.For(t, 10*time.Second, "a pending remediation for the Secret", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1
	})
	if s := pending[0]; !strings.Contains(s.Reason, "Secret values are never written without a person's approval") ||
		len(s.Plan.Steps) != 1 || s.Plan.Steps[0].Name != "api-credentials" {
		t.Fatalf("pending remediation for the Secret = %+v", s)
	}
	if got := k("get", "secret/api-credentials", "-o", "jsonpath={.data.token}"); got != "cm90YXRlZA==" {
		t.Fatalf("Secret token = %s while waiting for approval; nothing should have been written", got)
	}
	// Put back by hand: the finding resolves and its remediation goes.
	k("patch", "secret/api-credentials", "--type=merge", "-p", `{"stringData":{"token":"not-a-real-token"}}`)
	waitEvent(t, events, "resolved")
	testwait.For(t, 10*time.Second, "no remediation left", func() bool { return len(remediations(t, base, "")) == 0 })

	// An image change is high risk: above auto's medium, it waits.
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	waitEvent(t, events, "opened")
	testwait.For(t, 10*time.Second, "a pending remediation", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1
	})
	p := pending[0]
	if p.Mode != remediate.ModeAuto || !strings.Contains(p.Reason, "risk high is above automatic remediation's limit medium") ||
		len(p.Plan.Steps) != 1 || p.Plan.Steps[0].Name != "api" || p.Plan.Steps[0].Risk != "high" {
		t.Fatalf("pending remediation = %+v", p)
	}
	if got := k("get", "deployment/api", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "ghcr.io/example/shop-api:1.5.0" {
		t.Fatalf("api image = %s while waiting for approval; nothing should have been applied", got)
	}
	var one queue.Remediation
	if code := getJSON(t, base+"/api/v1/remediations/"+itoa(p.ID), &one); code != 200 || one.FindingID != p.FindingID {
		t.Errorf("GET one remediation: %d %+v", code, one)
	}

	var approval struct {
		Results []struct{ Outcome string }
	}
	if code := post(t, base+"/api/v1/remediations/"+itoa(p.ID)+"/approve?hash="+p.Hash, &approval); code != 200 ||
		len(approval.Results) != 1 || approval.Results[0].Outcome != "applied" {
		t.Fatalf("approve: %d %+v", code, approval)
	}
	waitEvent(t, events, "resolved")
	if got := k("get", "deployment/api", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "ghcr.io/example/shop-api:1.4.2" {
		t.Errorf("api image = %s after approval, want the declared 1.4.2", got)
	}
	if len(findingsOf(t, base)) != 0 || len(remediations(t, base, "")) != 0 {
		t.Errorf("after approval: findings %+v, remediations %+v; want none", findingsOf(t, base), remediations(t, base, ""))
	}
	runs = runsOf(t, base)
	if len(runs) != 2 || runs[0].Command != "serve-approve" {
		t.Errorf("runs = %+v, want the approved run newest", runs)
	}
	var whole store.Run
	if code := getJSON(t, base+"/api/v1/runs/"+itoa(runs[0].ID), &whole); code != 200 || len(whole.Steps) != 1 || whole.Steps[0].Before == nil {
		t.Errorf("GET one run: %d %+v", code, whole)
	}

	// Approving twice: it is gone.
	var apiErr struct {
		Code   int
		Reason string
	}
	if code := post(t, base+"/api/v1/remediations/"+itoa(p.ID)+"/approve?hash="+p.Hash, &apiErr); code != 404 || apiErr.Reason != "NotFound" {
		t.Errorf("approve again: %d %+v", code, apiErr)
	}
	if v := metricValue(t, base, "plumb_remediations_total", map[string]string{"mode": "auto", "outcome": "applied"}); v != 1 {
		t.Errorf("plumb_remediations_total{mode=auto,outcome=applied} = %v, want 1", v)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestApprovalNeverOverwritesANewerChange: with --remediation approve, a
// plan to put web's replicas back from 7 to 2 waits; someone then scales
// to 9. The waiting plan is replaced by a new remediation (9 → 2) that
// needs its own approval: approving the old one, or the new one with the
// old plan's hash, is 409 and writes nothing; approving the new one with
// its own hash puts 2 back.
func TestApprovalNeverOverwritesANewerChange(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--remediation", "approve")
	replicas := func() string { return k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}") }
	live := func(r queue.Remediation) string {
		if len(r.Plan.Steps) != 1 || len(r.Plan.Steps[0].Changes) != 1 {
			return ""
		}
		return fmt.Sprint(r.Plan.Steps[0].Changes[0].Live)
	}
	pendingWith := func(value string) queue.Remediation {
		t.Helper()
		var got queue.Remediation
		testwait.For(t, 10*time.Second, "a remediation putting back "+value, func() bool {
			for _, r := range remediations(t, base, "pending") {
				if live(r) == value {
					got = r
					return true
				}
			}
			return false
		})
		return got
	}
	k("scale", "deployment/web", "--replicas=7")
	first := pendingWith("7")
	k("scale", "deployment/web", "--replicas=9")
	second := pendingWith("9")
	if second.ID == first.ID || second.Hash == first.Hash {
		t.Fatalf("the new plan kept the old remediation's id or hash: %d/%s, %d/%s", first.ID, first.Hash, second.ID, second.Hash)
	}
	var apiErr struct{ Reason, Message string }
	if code := post(t, base+"/api/v1/remediations/"+itoa(first.ID)+"/approve?hash="+first.Hash, &apiErr); code != 409 || !strings.Contains(apiErr.Message, "replaced by "+itoa(second.ID)) {
		t.Errorf("approving the replaced remediation: %d %+v, want 409 naming %d", code, apiErr, second.ID)
	}
	if code := post(t, base+"/api/v1/remediations/"+itoa(second.ID)+"/approve?hash="+first.Hash, &apiErr); code != 409 {
		t.Errorf("approving the new remediation with the old plan's hash: %d %+v, want 409", code, apiErr)
	}
	if code := post(t, base+"/api/v1/remediations/"+itoa(second.ID)+"/approve", &apiErr); code != 400 {
		t.Errorf("approving without a hash: %d %+v, want 400", code, apiErr)
	}
	if got := replicas(); got != "9" {
		t.Fatalf("replicas %s after refused approvals, want the person's 9", got)
	}
	var approval struct{ Results []struct{ Outcome string } }
	if code := post(t, base+"/api/v1/remediations/"+itoa(second.ID)+"/approve?hash="+second.Hash, &approval); code != 200 ||
		len(approval.Results) != 1 || approval.Results[0].Outcome != "applied" {
		t.Fatalf("approving the plan shown: %d %+v", code, approval)
	}
	if got := replicas(); got != "2" {
		t.Errorf("replicas %s after approval, want the declared 2", got)
	}
}

// remediationHooks keeps the webhook payloads that are about remediations.
func remediationHooks(all []notify.Payload) []notify.Payload {
	var out []notify.Payload
	for _, p := range all {
		if p.Remediation != nil {
			out = append(out, p)
		}
	}
	return out
}

// TestServeApproveMode: plans wait for a person; a rejected one is
// dropped and the finding stays open; one a guardrail refused cannot be
// approved.
func TestServeApproveMode(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nguardrails: {maxRisk: medium}\n")
	hook, hooks := webhookReceiver(t)
	base, _ := startServe(t, "-c", cfg, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--remediation", "approve",
		"--notify-webhook", hook)

	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	var pending []queue.Remediation
	testwait.For(t, 10*time.Second, "a pending remediation", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1
	})
	if p := pending[0]; p.Mode != remediate.ModeApprove || p.Plan.Steps[0].Kind != "ConfigMap" || p.Plan.Steps[0].Risk != "medium" {
		t.Fatalf("pending = %+v", p)
	}
	// The person who approves hears of it, once.
	testwait.For(t, 10*time.Second, "a notification of the pending remediation", func() bool { return len(remediationHooks(hooks())) == 1 })
	if n := remediationHooks(hooks())[0]; n.Remediation.ID != pending[0].ID || n.Remediation.State != queue.StatePending ||
		!strings.Contains(n.Summary, "ConfigMap "+ns+"/settings") || !strings.Contains(n.Summary, "/api/v1/remediations/"+itoa(pending[0].ID)+"/approve?hash="+pending[0].Hash) {
		t.Errorf("pending notification = %s: %+v", n.Summary, n.Remediation)
	}
	var rejected queue.Remediation
	if code := post(t, base+"/api/v1/remediations/"+itoa(pending[0].ID)+"/reject", &rejected); code != 200 || rejected.ID != pending[0].ID {
		t.Fatalf("reject: %d %+v", code, rejected)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Errorf("settings mode = %s after a rejection, want it left as it was", got)
	}
	if f := findingsOf(t, base); len(f) != 1 || len(remediations(t, base, "")) != 0 {
		t.Errorf("after rejection: findings %+v (want the one still open), remediations %+v (want none)", f, remediations(t, base, ""))
	}

	// The image change is high: over this configuration's maxRisk medium,
	// refused, and approving it is a conflict.
	k("set", "image", "deployment/api", "api=ghcr.io/example/shop-api:1.5.0")
	var refused []queue.Remediation
	testwait.For(t, 10*time.Second, "a refused remediation", func() bool {
		refused = remediations(t, base, "refused")
		return len(refused) == 1
	})
	if r := refused[0]; !strings.Contains(r.Reason, "refused by max-risk") || len(r.Plan.Refusals) != 1 {
		t.Errorf("refused = %+v", r)
	}
	testwait.For(t, 10*time.Second, "a notification of the refused remediation", func() bool { return len(remediationHooks(hooks())) == 2 })
	if n := remediationHooks(hooks())[1]; n.Remediation.ID != refused[0].ID || n.Remediation.State != queue.StateRefused || !strings.Contains(n.Summary, "refused by max-risk") {
		t.Errorf("refused notification = %s: %+v", n.Summary, n.Remediation)
	}
	var apiErr struct {
		Code    int
		Reason  string
		Message string
	}
	if code := post(t, base+"/api/v1/remediations/"+itoa(refused[0].ID)+"/approve?hash="+refused[0].Hash, &apiErr); code != 409 || apiErr.Reason != "Conflict" || !strings.Contains(apiErr.Message, "refused") {
		t.Errorf("approve a refused plan: %d %+v", code, apiErr)
	}
	if got := k("get", "deployment/api", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "ghcr.io/example/shop-api:1.5.0" {
		t.Errorf("api image = %s; a refused plan must change nothing", got)
	}

	// A new change gives the rejected object a new plan, and approving it
	// puts the ConfigMap back.
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slower"}}`)
	testwait.For(t, 10*time.Second, "a new pending remediation", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1 && pending[0].ID != rejected.ID
	})
	var approval struct{ Results []struct{ Outcome string } }
	if code := post(t, base+"/api/v1/remediations/"+itoa(pending[0].ID)+"/approve?hash="+pending[0].Hash, &approval); code != 200 || approval.Results[0].Outcome != "applied" {
		t.Fatalf("approve: %d %+v", code, approval)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "fast" {
		t.Errorf("settings mode = %q after approval, want the declared fast", got)
	}

	// Bad requests say what is wrong.
	if code := getJSON(t, base+"/api/v1/remediations?state=sleeping", &apiErr); code != 400 || !strings.Contains(apiErr.Message, "pending, refused, fighting, failed or waiting") {
		t.Errorf("bad state: %d %+v", code, apiErr)
	}
	if code := post(t, base+"/api/v1/remediations/first/approve", &apiErr); code != 400 || !strings.Contains(apiErr.Message, "positive integer") {
		t.Errorf("bad id: %d %+v", code, apiErr)
	}
}

// TestServeStopsFighting runs a loop that keeps scaling a Deployment back
// up, as a misconfigured controller would. plumb fixes it three times,
// then stops, keeps the finding open and names the manager; once the
// object is back in sync, the fight is over.
func TestServeStopsFighting(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	hook, hooks := webhookReceiver(t)
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--remediation", "auto",
		"--notify-webhook", hook)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var rounds int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			out, err := env.KubectlErr("", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}")
			if err == nil && out != "5" {
				if _, err := env.KubectlErr("", "-n", ns, "scale", "deployment/web", "--replicas=5"); err == nil {
					rounds++
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	stopFighter := func() { cancel(); wg.Wait() }
	defer stopFighter()

	var fighting []queue.Remediation
	testwait.For(t, 60*time.Second, "remediation to stop fighting", func() bool {
		fighting = remediations(t, base, "fighting")
		return len(fighting) == 1
	})
	stopFighter()
	f := fighting[0]
	if len(f.Managers) == 0 || !strings.HasPrefix(f.Managers[0], "kubectl") || !strings.Contains(f.Reason, "3 times within 10m0s") {
		t.Errorf("fighting = %+v, want the kubectl manager named and 3 rounds in the reason", f)
	}
	testwait.For(t, 10*time.Second, "a notification that remediation stopped", func() bool { return len(remediationHooks(hooks())) == 1 })
	if n := remediationHooks(hooks())[0]; n.Remediation.State != queue.StateFighting || !strings.Contains(n.Summary, "changed back by kubectl") {
		t.Errorf("fighting notification = %s: %+v", n.Summary, n.Remediation)
	}
	if rounds != 4 {
		t.Errorf("the fighter changed the object %d times, want 4: plumb fixed it 3 times and then let it be", rounds)
	}
	var serveRuns int
	for _, r := range runsOf(t, base) {
		if r.Command == "serve" && r.Outcome == "applied" {
			serveRuns++
		}
	}
	if serveRuns != 3 {
		t.Errorf("%d applied serve runs, want 3", serveRuns)
	}
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("web replicas = %s; plumb should have stopped putting it back", got)
	}
	if fs := findingsOf(t, base); len(fs) != 1 || fs[0].Name != "web" {
		t.Errorf("findings = %+v, want web's still open", fs)
	}
	if v := metricValue(t, base, "plumb_remediation_fighting", nil); v != 1 {
		t.Errorf("plumb_remediation_fighting = %v, want 1", v)
	}

	// Someone puts it back: the fight is over, and the next drift is fixed.
	k("scale", "deployment/web", "--replicas=2")
	testwait.For(t, 10*time.Second, "the fight to end", func() bool { return len(remediations(t, base, "")) == 0 && len(findingsOf(t, base)) == 0 })
	if v := metricValue(t, base, "plumb_remediation_fighting", nil); v != 0 {
		t.Errorf("plumb_remediation_fighting = %v after the fight ended, want 0", v)
	}
	k("scale", "deployment/web", "--replicas=7")
	testwait.For(t, 10*time.Second, "the next drift to be fixed", func() bool {
		return k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}") == "2"
	})
}

// TestServeRemediatesPerBinding: in a fleet configuration each binding has
// its own mode; drift from an auto binding is put back, drift from an
// approve binding waits, drift from an off binding is only reported.
func TestServeRemediatesPerBinding(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	dir := mustAbs(t, shop)
	cfg := writeTemp(t, `apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: envtest, kubeconfig: `+env.Kubeconfig+`}
sources:
  - {name: settings, path: `+filepath.Join(dir, "config.yaml")+`, namespace: `+ns+`}
  - {name: web, path: `+filepath.Join(dir, "web.yaml")+`, namespace: `+ns+`}
  - {name: api, path: `+filepath.Join(dir, "api.yaml")+`, namespace: `+ns+`}
bindings:
  - {source: settings, clusters: {}, remediation: auto}
  - {source: web, clusters: {}, remediation: approve}
  - {source: api, clusters: {}}
`)
	base, _ := startServe(t, "-c", cfg, "--store", filepath.Join(t.TempDir(), "plumb.db"))

	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	k("scale", "deployment/web", "--replicas=5")
	k("scale", "deployment/api", "--replicas=5")
	testwait.For(t, 10*time.Second, "settings put back", func() bool { return k("get", "configmap/settings", "-o", "jsonpath={.data.mode}") == "fast" })
	var pending []queue.Remediation
	testwait.For(t, 10*time.Second, "web's plan to wait", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1
	})
	if p := pending[0]; p.Mode != remediate.ModeApprove || p.Plan.Steps[0].Name != "web" {
		t.Errorf("pending = %+v, want web's plan in approve mode", p)
	}
	testwait.For(t, 10*time.Second, "web and api reported", func() bool { return len(findingsOf(t, base)) == 2 })
	if got := k("get", "deployment/api", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("api replicas = %s; its binding's remediation is off", got)
	}
	if all := remediations(t, base, ""); len(all) != 1 {
		t.Errorf("remediations = %+v, want only web's", all)
	}
}

// TestServeAutoBudget: automatic remediation fixes at most
// maxObjectsPerRun objects per cluster per minute; beyond, plans wait for
// approval.
func TestServeAutoBudget(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\nguardrails: {maxObjectsPerRun: 1}\n")
	base, _ := startServe(t, "-c", cfg, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--remediation", "auto")

	k("scale", "deployment/web", "--replicas=5")
	testwait.For(t, 10*time.Second, "web put back", func() bool { return k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}") == "2" })
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	var pending []queue.Remediation
	testwait.For(t, 10*time.Second, "the second plan to wait", func() bool {
		pending = remediations(t, base, "pending")
		return len(pending) == 1
	})
	if p := pending[0]; p.Plan.Steps[0].Name != "settings" || !strings.Contains(p.Reason, "fixed 1 object on cluster envtest in the last 1m0s") {
		t.Errorf("pending = %+v", p)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Errorf("settings mode = %s; over the budget nothing is applied without approval", got)
	}
}

// TestServeRemediatesAfterRestart: drift recorded before plumb restarts
// (its finding unchanged, so no transition) still gets remediated.
func TestServeRemediatesAfterRestart(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	db := filepath.Join(t.TempDir(), "plumb.db")
	base, stop := startServe(t, "-n", ns, "--source", shop, "--store", db)
	k("scale", "deployment/web", "--replicas=5")
	testwait.For(t, 10*time.Second, "web reported", func() bool { return len(findingsOf(t, base)) == 1 })
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Fatalf("web replicas = %s with remediation off", got)
	}

	startServe(t, "-n", ns, "--source", shop, "--store", db, "--remediation", "auto")
	testwait.For(t, 10*time.Second, "web put back after the restart", func() bool {
		return k("get", "deployment/web", "-o", "jsonpath={.spec.replicas}") == "2"
	})
}
