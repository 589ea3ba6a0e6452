package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// kubectlAs runs kubectl with kubeconfig and returns its stdout and stderr
// (where warnings go, even when it succeeds).
func kubectlAs(e *testcluster.Env, kubeconfig string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(filepath.Join(e.AssetsDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var o, eo bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &eo
	err = cmd.Run()
	return o.String(), eo.String(), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// webhookConfiguration reads the ValidatingWebhookConfiguration plumb
// registers; ok is false when there is none.
func webhookConfiguration(t *testing.T, e *testcluster.Env) (admissionregistrationv1.ValidatingWebhookConfiguration, bool) {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	out, err := e.KubectlErr("", "get", "validatingwebhookconfiguration", "plumb", "-o", "json")
	if err != nil {
		return vwc, false
	}
	if err := json.Unmarshal([]byte(out), &vwc); err != nil {
		t.Fatal(err)
	}
	return vwc, true
}

// TestServeAdmission runs plumb serve with --admission against a real API
// server that calls the webhook over TLS (and sends its audit events to
// --audit-listen): a person's kubectl changes to declared fields are
// denied with a message naming plumb, the field and the source file, or
// only warned about in warn mode, whatever field manager the request
// names (plumb's, the deployer's); undeclared fields and objects, the
// deployer identity's applies, putting a field back, and break-glass
// writes by the group allowed to (recorded in the store, the API and an
// Event, with the user and reason) pass, while anyone else's break-glass
// annotation lets nothing through; the configuration is put back when
// deleted and follows the sources; and with plumb stopped nothing is
// blocked.
func TestServeAdmission(t *testing.T) {
	t.Parallel() // its own namespaces (and API server, where it starts one): it waits more than it works
	// The API server presents a token to the webhook, from its
	// AdmissionConfiguration, as docs/security.md shows.
	admissionAddr := freeAddr(t)
	const admissionToken = "admission-test-token"
	admissionConfig := writeAdmissionConfig(t, admissionAddr, admissionToken)
	tokenFile := filepath.Join(t.TempDir(), "admission-token")
	if err := os.WriteFile(tokenFile, []byte(admissionToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	audited, auditArgs, stopAudited := startAudited(t, map[string]string{"admission-control-config-file": admissionConfig})
	ns := audited.Namespace(t)
	admin := func(args ...string) string { return audited.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	src := copyShop(t)
	admin("apply", "--server-side", "--field-manager=gitops", "-f", src)
	admin("create", "configmap", "scratch", "--from-literal=a=1")
	// alice may do anything RBAC allows; ci-deployer is who deploys the
	// sources; carol is in the group that may break glass.
	alice, deployer, carol := audited.User(t, "alice"), audited.User(t, "ci-deployer"), audited.User(t, "carol", "sre")
	for _, u := range []string{"alice", "ci-deployer", "carol"} {
		audited.Kubectl(t, "", "create", "clusterrolebinding", u+"-"+ns, "--clusterrole=cluster-admin", "--user="+u)
	}
	asUser := func(kubeconfig string, args ...string) (string, error) {
		_, stderr, err := kubectlAs(audited, kubeconfig, append([]string{"-n", ns}, args...)...)
		return stderr, err
	}
	as := func(args ...string) (string, error) { return asUser(alice, args...) }
	mustPassAs := func(kubeconfig string, args ...string) string {
		t.Helper()
		stderr, err := asUser(kubeconfig, args...)
		if err != nil {
			t.Fatalf("kubectl %s was refused: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return stderr
	}
	mustPass := func(args ...string) string { t.Helper(); return mustPassAs(alice, args...) }
	replicas := func() string { return admin("get", "deploy/web", "-o", "jsonpath={.spec.replicas}") }

	// plumb runs with the roles docs/rbac ships for it, no more.
	audited.Kubectl(t, "", "apply", "-f", "../../docs/rbac/scan.yaml", "-f", "../../docs/rbac/admission.yaml")
	audited.Kubectl(t, "", "create", "clusterrolebinding", "plumb-scan-"+ns, "--clusterrole=plumb-scan", "--user=plumb-bot")
	audited.Kubectl(t, "", "create", "clusterrolebinding", "plumb-admission-"+ns, "--clusterrole=plumb-admission", "--user=plumb-bot")
	bot := audited.User(t, "plumb-bot")

	// Part 1 on the same API server: plumb check judges a change to the
	// source against what is live.
	zero := filepath.Join(t.TempDir(), "web.yaml")
	b0, err := os.ReadFile(filepath.Join(src, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zero, []byte(strings.Replace(string(b0), "replicas: 2", "replicas: 0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := run(t, "check", "--kubeconfig", bot, "-n", ns, "--source", zero, "-o", "json"); code != ExitDrift || !strings.Contains(out, `"scale-to-zero"`) {
		t.Errorf("plumb check of a scale to 0: exit %d\n%s\n%s", code, out, stderr)
	}

	storePath := filepath.Join(t.TempDir(), "plumb.db")
	base, stopServe := startServe(t, append([]string{"--kubeconfig", bot, "-n", ns, "--source", src,
		"--store", storePath,
		"--admission", "enforce", "--admission-listen", admissionAddr, "--admission-token-file", tokenFile, "--admission-deployer", "ci-deployer", "--admission-break-glass", "sre", "-v", "2"}, auditArgs...)...)

	// The configuration: Ignore, a short timeout, the CA, the declared
	// kinds with their scale subresources, the test's namespace only.
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	testwait.For(t, 15*time.Second, "the webhook configuration", func() bool {
		var ok bool
		vwc, ok = webhookConfiguration(t, audited)
		return ok
	})
	wh := vwc.Webhooks[0]
	if *wh.FailurePolicy != admissionregistrationv1.Ignore || *wh.TimeoutSeconds > 5 || len(wh.ClientConfig.CABundle) == 0 ||
		*wh.ClientConfig.URL != "https://"+admissionAddr || !strings.Contains(wh.NamespaceSelector.String(), ns) {
		t.Fatalf("webhook registered as %+v", wh)
	}
	var rules []string
	for _, r := range wh.Rules {
		rules = append(rules, r.APIGroups[0]+"/"+strings.Join(r.Resources, ","))
	}
	if got, want := strings.Join(rules, " "), "/configmaps,configmaps/scale,secrets,secrets/scale,services,services/scale apps/deployments,deployments/scale"; got != want {
		t.Fatalf("rules %q, want %q", got, want)
	}

	// A person changes a declared field: denied, naming plumb, the field
	// and the file. The API server may take a moment to load the webhook.
	var refusal string
	t.Cleanup(func() {
		if t.Failed() {
			resp, err := http.Get(base + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, "admission") {
						t.Log(l)
					}
				}
			}
		}
	})
	testwait.For(t, 15*time.Second, "the webhook to refuse a change of .spec.replicas", func() bool {
		stderr, err := as("patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":5}}`)
		refusal = stderr
		return err != nil
	})
	for _, want := range []string{"denied the request", "plumb:", filepath.Join(src, "web.yaml") + ":1", ".spec.replicas", "Deployment", "web", "plumb.dev/break-glass"} {
		if !strings.Contains(refusal, want) {
			t.Errorf("refusal %q does not mention %q", refusal, want)
		}
	}
	if replicas() != "2" {
		t.Fatalf("replicas %s after a refused patch", replicas())
	}
	// The webhook itself takes reviews only with the API server's token:
	// a forged review, claiming a break-glass write by someone, is refused
	// and records nothing.
	for _, token := range []string{"", "wrong-token"} {
		if code := postForgedReview(t, admissionAddr, token, ns); code != http.StatusUnauthorized {
			t.Errorf("a forged review with token %q: %d, want 401", token, code)
		}
	}
	for _, refused := range [][]string{
		{"scale", "deploy/web", "--replicas=4"},
		{"set", "image", "deploy/web", "web=nginx:1.28"},
		{"patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`},
		{"label", "svc/web", "app.kubernetes.io/part-of=other", "--overwrite"},
		{"delete", "configmap/flags"},
	} {
		stderr, err := as(refused...)
		if err == nil || !strings.Contains(stderr, "plumb:") {
			t.Errorf("kubectl %s: want refused by plumb, got err %v, stderr %q", strings.Join(refused, " "), err, stderr)
		}
	}
	if stderr, _ := as("delete", "configmap/flags", "--dry-run=server"); !strings.Contains(stderr, "remove it from the source") {
		t.Errorf("deleting a declared object: %q", stderr)
	}

	// What no source declares passes: a new label, another object.
	mustPass("label", "deploy/web", "team=payments")
	mustPass("patch", "configmap/scratch", "--type=merge", "-p", `{"data":{"a":"2"}}`)
	mustPass("delete", "configmap/scratch")
	// A field manager name is the caller's to choose: naming plumb's or
	// the deployer's lets nothing through.
	web := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(web, []byte(strings.Replace(string(b0), "replicas: 2", "replicas: 3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, spoofed := range [][]string{
		{"patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":5}}`, "--field-manager=plumb"},
		{"patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":5}}`, "--field-manager=plumb-undo"},
		{"apply", "--server-side", "--field-manager=gitops", "--force-conflicts", "-f", web},
		{"patch", "deploy/web", "--subresource=scale", "--type=merge", "-p", `{"spec":{"replicas":4}}`, "--field-manager=gitops"},
	} {
		if stderr, err := as(spoofed...); err == nil || !strings.Contains(stderr, "plumb:") {
			t.Errorf("kubectl %s by alice: want refused by plumb, got err %v, stderr %q", strings.Join(spoofed, " "), err, stderr)
		}
	}
	if replicas() != "2" {
		t.Fatalf("replicas %s after spoofed managers", replicas())
	}
	// The deployer identity's apply passes, whatever manager it names.
	mustPassAs(deployer, "apply", "--server-side", "--field-manager=gitops", "-f", web)
	if replicas() != "3" {
		t.Fatalf("the deployer's apply did not land: replicas %s", replicas())
	}
	mustPassAs(deployer, "scale", "deploy/web", "--replicas=2")

	// Break glass: the annotation is undeclared, so anyone may set it; it
	// lets through only the group allowed to break glass (sre). carol's
	// change passes with a warning, is recorded in the store (history,
	// API) and as an Event naming carol and the reason, and the finding
	// names carol (audit).
	mustPass("annotate", "deploy/web", "plumb.dev/break-glass=incident 42: traffic spike")
	if stderr, err := as("patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":6}}`); err == nil || !strings.Contains(stderr, "break-glass is not open to alice") {
		t.Errorf("alice broke glass without being allowed to: err %v, stderr %q", err, stderr)
	}
	if stderr := mustPassAs(carol, "patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":6}}`); !strings.Contains(stderr, "break-glass") {
		t.Errorf("no break-glass warning: %q", stderr)
	}
	testwait.For(t, 15*time.Second, "the break-glass event", func() bool {
		ev := admin("get", "events", "--field-selector", "reason=BreakGlass,involvedObject.name=web", "-o", "jsonpath={.items[*].message}")
		return strings.Contains(ev, "carol") && strings.Contains(ev, "incident 42: traffic spike") && strings.Contains(ev, ".spec.replicas")
	})
	var breaks struct {
		Items []struct {
			User, Reason, Kind, Name, Operation string
			Groups, Paths                       []string
		}
	}
	testwait.For(t, 15*time.Second, "the break-glass record in the API", func() bool {
		getJSON(t, base+"/api/v1/break-glass", &breaks)
		return len(breaks.Items) == 1
	})
	if b := breaks.Items[0]; b.User != "carol" || !slices.Contains(b.Groups, "sre") || b.Reason != "incident 42: traffic spike" || b.Kind != "Deployment" ||
		b.Name != "web" || b.Operation != "UPDATE" || strings.Join(b.Paths, ",") != ".spec.replicas" {
		t.Errorf("break-glass record %+v", b)
	}
	testwait.For(t, 15*time.Second, "the break-glass change attributed to carol", func() bool {
		return attributed(t, base, "web", ".spec.replicas", "kubectl-patch", "carol")
	})
	mustPassAs(carol, "scale", "deploy/web", "--replicas=5") // the scale subresource's object has no annotations
	// Without the annotation, putting the declared value back passes.
	mustPass("annotate", "deploy/web", "plumb.dev/break-glass-")
	if _, err := asUser(carol, "scale", "deploy/web", "--replicas=7"); err == nil {
		t.Fatal("a change passed once the break-glass annotation was gone")
	}
	mustPass("scale", "deploy/web", "--replicas=2")

	// Kept current: deleted, it comes back; a new kind in the sources
	// joins the rules.
	audited.Kubectl(t, "", "delete", "validatingwebhookconfiguration", "plumb")
	testwait.For(t, 15*time.Second, "the webhook configuration back", func() bool { _, ok := webhookConfiguration(t, audited); return ok })
	if err := os.WriteFile(filepath.Join(src, "sa.yaml"), []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: robot}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "serviceaccounts in the rules", func() bool {
		vwc, ok := webhookConfiguration(t, audited)
		return ok && strings.Contains(strings.Join(vwc.Webhooks[0].Rules[0].Resources, ","), "serviceaccounts")
	})
	kept, _ := webhookConfiguration(t, audited)
	stopServe()
	// The record outlives serve and the Event: plumb history shows it.
	if code, out, stderr := run(t, "history", "--break-glass", "--store", storePath); code != 0 || !strings.Contains(out, "carol") ||
		!strings.Contains(out, `"incident 42: traffic spike"`) || !strings.Contains(out, "Deployment "+ns+"/web") {
		t.Errorf("plumb history --break-glass: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, stderr := run(t, "history", "--break-glass", "--store", storePath, "-o", "json"); code != 0 ||
		!strings.Contains(out, `"kind": "BreakGlassHistory"`) || !strings.Contains(out, `"user": "carol"`) {
		t.Errorf("plumb history --break-glass -o json: exit %d\n%s\n%s", code, out, stderr)
	} else {
		requireSchema(t, "history", out)
	}

	// Warn mode: the write passes and kubectl prints plumb's warning.
	_, stopServe = startServe(t, append([]string{"--kubeconfig", bot, "-n", ns, "--source", src,
		"--store", storePath, "--admission", "warn", "--admission-listen", admissionAddr, "--admission-token-file", tokenFile}, auditArgs...)...)
	// Each try writes a new value: a try that lands before the API server
	// calls the new webhook must not make the next ones no-ops.
	tries := 0
	testwait.For(t, 15*time.Second, "a warning from plumb", func() bool {
		tries++
		stderr := mustPass("patch", "configmap/settings", "--type=merge", "-p", fmt.Sprintf(`{"data":{"mode":"warned-%d"}}`, tries))
		return strings.Contains(stderr, "Warning: plumb:") && strings.Contains(stderr, ".data.mode")
	})
	// The restart served the certificate kept in the store: the caBundle
	// the API server trusted all along still verifies it.
	if now, ok := webhookConfiguration(t, audited); !ok || string(now.Webhooks[0].ClientConfig.CABundle) != string(kept.Webhooks[0].ClientConfig.CABundle) {
		t.Error("the restart changed the webhook's CA: reviews failed (and writes passed unreviewed) until the new bundle was published")
	}
	if got := admin("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != fmt.Sprintf("warned-%d", tries) {
		t.Fatalf("warn mode: the write did not land (mode %q)", got)
	}
	stopServe()

	// plumb down blocks nothing (failurePolicy Ignore): the configuration
	// is still there, its URL refuses connections.
	if _, ok := webhookConfiguration(t, audited); !ok {
		t.Fatal("the configuration went away with plumb")
	}
	if stderr := mustPass("scale", "deploy/web", "--replicas=8"); strings.Contains(stderr, "plumb") {
		t.Errorf("plumb down, yet: %q", stderr)
	}
	stopAudited(func() int { return 0 })
}

// writeAdmissionConfig writes an AdmissionConfiguration whose validating
// webhooks' kubeconfig gives the webhook at addr token, and returns its
// path (kube-apiserver --admission-control-config-file).
func writeAdmissionConfig(t *testing.T, addr, token string) string {
	t.Helper()
	dir := t.TempDir()
	kubeconfig, config := filepath.Join(dir, "webhook.kubeconfig"), filepath.Join(dir, "admission.yaml")
	for path, content := range map[string]string{
		kubeconfig: fmt.Sprintf("apiVersion: v1\nkind: Config\nusers:\n- name: %q\n  user: {token: %q}\n", addr, token),
		config: fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: ValidatingAdmissionWebhook
  configuration:
    apiVersion: apiserver.config.k8s.io/v1
    kind: WebhookAdmissionConfiguration
    kubeConfigFile: %q
`, kubeconfig),
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return config
}

// postForgedReview sends the webhook at addr, over TLS, a review made up
// by a process that is no API server: a break-glass UPDATE of the web
// Deployment by "ceo@example.com". It returns the status code.
func postForgedReview(t *testing.T, addr, token, ns string) int {
	t.Helper()
	obj := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":%q,"annotations":{"plumb.dev/break-glass":"forged"}},"spec":{"replicas":9}}`, ns)
	review := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"group":"apps","version":"v1","kind":"Deployment"},
		"resource":{"group":"apps","version":"v1","resource":"deployments"},"namespace":%q,"name":"web","operation":"UPDATE",
		"userInfo":{"username":"ceo@example.com","groups":["sre"]},"object":%s,"oldObject":%s}}`, ns, obj, obj)
	req, err := http.NewRequest(http.MethodPost, "https://"+addr+"/", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the forger does not check plumb's certificate
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
