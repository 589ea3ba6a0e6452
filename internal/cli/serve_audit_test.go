package cli

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certutil "k8s.io/client-go/util/cert"

	"plumb.dev/plumb/internal/report"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testcluster"
	"plumb.dev/plumb/internal/testwait"
)

// TestServeNamesTheUser starts a control plane whose API server sends its
// audit events to plumb serve's --audit-listen, as docs/serve.md shows,
// and checks that a change made with kubectl carries the user who made
// it, although the audit batch arrives after the watch event.
func TestServeNamesTheUser(t *testing.T) {
	t.Parallel() // its own namespaces (and API server, where it starts one): it waits more than it works
	audited, auditArgs, stopAudited := startAudited(t)
	ns := audited.Namespace(t)
	k := func(args ...string) string { return audited.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	me := audited.Kubectl(t, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")

	db := filepath.Join(t.TempDir(), "plumb.db")
	hookURL, hooks := webhookReceiver(t)
	base, stopServe := startServe(t, append([]string{"--kubeconfig", audited.Kubeconfig, "-n", ns, "--source", shop,
		"--store", db, "--notify-webhook", hookURL}, auditArgs...)...)
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	testwait.For(t, 15*time.Second, "the change attributed to "+me, func() bool {
		return attributed(t, base, "settings", ".data.mode", "kubectl-patch", me)
	})

	// A removed field has no owner in managedFields; the one person who
	// wrote to the object since its deployer is named.
	k("label", "configmap/settings", "app.kubernetes.io/part-of-")
	testwait.For(t, 15*time.Second, "the removed label attributed to "+me, func() bool {
		return attributed(t, base, "settings", `.metadata.labels["app.kubernetes.io/part-of"]`, "", me)
	})

	// The notification waited for the audit batch: it names the user.
	testwait.For(t, 15*time.Second, "the opened notification", func() bool { return len(hooks()) > 0 })
	p := hooks()[0]
	if p.Event == nil || p.Event.Transition != store.Opened || p.Event.Finding.Changes[0].User == nil ||
		p.Event.Finding.Changes[0].User.Name != me || !strings.Contains(p.Summary, "by "+me+" (kubectl-patch)") {
		t.Errorf("the opened notification does not name %s: %+v", me, p)
	}

	// plumb scan names the user from serve's store; without it, nobody.
	scan := func(args ...string) report.Report {
		code, out, stderr := run(t, append([]string{"scan", "--kubeconfig", audited.Kubeconfig, "-n", ns, "--source", shop, "-o", "json"}, args...)...)
		if code != ExitDrift {
			t.Fatalf("plumb scan %v: exit %d\n%s", args, code, stderr)
		}
		return decodeReport(t, out)
	}
	user := func(r report.Report) string {
		for _, f := range r.Findings {
			for _, c := range f.Changes {
				if f.Name == "settings" && c.Path == ".data.mode" && c.User != nil {
					return c.User.Name
				}
			}
		}
		return ""
	}
	if got := user(scan("--store", db)); got != me {
		t.Errorf("plumb scan --store: the change's user is %q, want %q", got, me)
	}
	if got := user(scan()); got != "" {
		t.Errorf("plumb scan without a store names %q", got)
	}
	if code, _, stderr := run(t, "scan", "--kubeconfig", audited.Kubeconfig, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "none.db")); code != ExitError || !strings.Contains(stderr, "none.db") {
		t.Errorf("a store that does not exist: exit %d, %s", code, stderr)
	}
	stopAudited(stopServe)
}

// attributed reports whether serve at base has a finding for the object
// named name whose change at path, made by manager, names user.
func attributed(t *testing.T, base, name, path, manager, user string) bool {
	for _, f := range findingsOf(t, base) {
		for _, c := range f.Changes {
			if f.Name == name && c.Path == path && c.Manager == manager && c.User != nil && c.User.Name == user && c.User.UserAgent != "" {
				return true
			}
		}
	}
	return false
}

// startAudited starts a control plane whose API server sends its audit
// events over TLS, with a token, to an address on loopback (path
// /audit/envtest), as docs/serve.md shows, with flags on top. auditArgs
// are the plumb serve flags that receive them. stop stops plumb serve with
// stopServe, then the control plane.
func startAudited(t *testing.T, flags ...map[string]string) (audited *testcluster.Env, auditArgs []string, stop func(stopServe func() int)) {
	t.Helper()
	auditAddr := freeAddr(t)
	dir := t.TempDir()
	certFile, keyFile, caPEM := servingCert(t, dir, "127.0.0.1")
	const token = "audit-webhook-token"
	policy, hook, tokenFile := filepath.Join(dir, "audit-policy.yaml"), filepath.Join(dir, "audit-webhook.kubeconfig"), filepath.Join(dir, "audit-token")
	writeFile := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(policy, auditPolicyDoc)
	writeFile(tokenFile, token+"\n")
	writeFile(hook, fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: plumb, cluster: {server: "https://%s/audit/envtest", certificate-authority-data: %s}}]
users: [{name: plumb, user: {token: %s}}]
contexts: [{name: plumb, context: {cluster: plumb, user: plumb}}]
current-context: plumb
`, auditAddr, base64.StdEncoding.EncodeToString(caPEM), token))
	apiFlags := map[string]string{"audit-policy-file": policy, "audit-webhook-config-file": hook, "audit-webhook-batch-max-wait": "1s"}
	for _, f := range flags {
		maps.Copy(apiFlags, f)
	}
	audited, err := testcluster.StartWith(testcluster.Options{APIServerFlags: apiFlags})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = audited.Stop() }) // if the test fails early; stopping twice is harmless
	auditArgs = []string{"--audit-listen", auditAddr, "--audit-tls-cert-file", certFile, "--audit-tls-key-file", keyFile, "--audit-token-file", tokenFile}
	return audited, auditArgs, func(stopServe func() int) {
		// Stop plumb serve first (an API server with watches open takes
		// its whole stop timeout), then let the API server flush its last
		// audit batch to a stand-in receiver, or it retries until it is
		// killed.
		stopServe()
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		sink, err := tls.Listen("tcp", auditAddr, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = http.Serve(sink, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})) }()
		_ = audited.Stop()
		sink.Close()
	}
}

// servingCert writes a serving certificate for host, signed by a CA made
// for it, into dir, and returns the files and the CA's PEM.
func servingCert(t *testing.T, dir, host string) (certFile, keyFile string, caPEM []byte) {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := certutil.ParseCertsPEM(certPEM)
	if err != nil || len(certs) != 2 {
		t.Fatalf("serving certificate: %v", err)
	}
	if caPEM, err = certutil.EncodeCertificates(certs[1]); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, host+".crt"), filepath.Join(dir, host+".key")
	for path, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caPEM
}

// auditPolicyDoc is the audit policy docs/serve.md recommends: the
// metadata of writes, never a body, and nothing of status updates, events
// or leases.
const auditPolicyDoc = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    resources:
      - {group: "", resources: [events, "*/status"]}
      - {group: coordination.k8s.io, resources: [leases]}
  - level: Metadata
    verbs: [create, update, patch, delete]
  - level: None
`

// TestAuditReceiverNeedsTheToken: the audit receiver takes batches only
// over TLS from a sender with its token (the API server's audit webhook
// kubeconfig's user token); serve refuses to start a receiver that anyone
// could post to.
func TestAuditReceiverNeedsTheToken(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("s3cret-audit-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, _ := servingCert(t, dir, "127.0.0.1")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--audit-listen", "0.0.0.0:0", "--audit-token-file", token}, "not a loopback address: serve it over TLS"},
		{[]string{"--audit-listen", "127.0.0.1:0", "--audit-token-file", token}, "need TLS"},
		{[]string{"--audit-listen", "127.0.0.1:0"}, "needs to know its callers"},
		{[]string{"--audit-listen", "0.0.0.0:0", "--audit-tls-cert-file", certFile, "--audit-tls-key-file", keyFile, "--audit-allow-unauthenticated"}, "loopback --audit-listen only"},
	} {
		code, _, stderr := run(t, append([]string{"serve", "-n", ns, "--source", shop}, tc.args...)...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %s: exit %d, %q; want a refusal saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}

	auditAddr := freeAddr(t)
	startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"),
		"--audit-listen", auditAddr, "--audit-tls-cert-file", certFile, "--audit-tls-key-file", keyFile, "--audit-token-file", token)
	batch := `{"apiVersion":"audit.k8s.io/v1","kind":"EventList","items":[]}`
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test checks the receiver's side
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer s3cret-audit-toke", http.StatusUnauthorized},
		{"Bearer s3cret-audit-token", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodPost, "https://"+auditAddr+"/", strings.NewReader(batch))
		if err != nil {
			t.Fatal(err)
		}
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
	}
}
