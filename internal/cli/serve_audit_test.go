package cli

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"plumb.dev/plumb/internal/testcluster"
)

// TestServeNamesTheUser starts a control plane whose API server sends its
// audit events to plumb serve's --audit-listen, as docs/serve.md shows,
// and checks that a change made with kubectl carries the user who made
// it, although the audit batch arrives after the watch event.
func TestServeNamesTheUser(t *testing.T) {
	audited, auditAddr, stopAudited := startAudited(t)
	ns := audited.Namespace(t)
	k := func(args ...string) string { return audited.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	me := audited.Kubectl(t, "", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")

	base, stopServe := startServe(t, "--kubeconfig", audited.Kubeconfig, "-n", ns, "--source", shop,
		"--store", filepath.Join(t.TempDir(), "plumb.db"), "--audit-listen", auditAddr)
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	waitFor(t, 15*time.Second, "the change attributed to "+me, func() bool {
		return attributed(t, base, "settings", ".data.mode", "kubectl-patch", me)
	})
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
// events to the returned address (path /audit/envtest), as docs/serve.md
// shows. stop stops plumb serve with stopServe, then the control plane.
func startAudited(t *testing.T) (audited *testcluster.Env, auditAddr string, stop func(stopServe func() int)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	auditAddr = ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	policy, hook := filepath.Join(dir, "audit-policy.yaml"), filepath.Join(dir, "audit-webhook.kubeconfig")
	writeFile := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(policy, auditPolicyDoc)
	writeFile(hook, "apiVersion: v1\nkind: Config\nclusters: [{name: plumb, cluster: {server: \"http://"+auditAddr+"/audit/envtest\"}}]\ncontexts: [{name: plumb, context: {cluster: plumb}}]\ncurrent-context: plumb\n")
	audited, err = testcluster.StartWith(testcluster.Options{APIServerFlags: map[string]string{
		"audit-policy-file": policy, "audit-webhook-config-file": hook, "audit-webhook-batch-max-wait": "1s",
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = audited.Stop() }) // if the test fails early; stopping twice is harmless
	return audited, auditAddr, func(stopServe func() int) {
		// Stop plumb serve first (an API server with watches open takes
		// its whole stop timeout), then let the API server flush its last
		// audit batch to a stand-in receiver, or it retries until it is
		// killed.
		stopServe()
		sink, err := net.Listen("tcp", auditAddr)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = http.Serve(sink, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})) }()
		_ = audited.Stop()
		sink.Close()
	}
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
