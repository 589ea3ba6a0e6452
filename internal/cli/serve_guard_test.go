package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/remediate/queue"
	"plumb.dev/plumb/internal/testwait"
)

// request sends method to u with the given headers ("Host" sets the Host
// header) and returns the status and the API error's reason, if any.
func request(t *testing.T, method, u string, headers map[string]string) (int, string) {
	t.Helper()
	var body io.Reader
	if ct := headers["Content-Type"]; ct == "application/x-www-form-urlencoded" {
		body = strings.NewReader("confirm=yes")
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var apiErr struct{ Reason string }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &apiErr)
	return resp.StatusCode, apiErr.Reason
}

// pendingRemediation drifts the shop's settings ConfigMap and waits for
// serve's plan to put it back.
func pendingRemediation(t *testing.T, k func(...string) string, list func() []queue.Remediation, mode string) queue.Remediation {
	t.Helper()
	k("patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"`+mode+`"}}`)
	var pending []queue.Remediation
	testwait.For(t, 10*time.Second, "a pending remediation", func() bool {
		pending = list()
		return len(pending) == 1 && pending[0].State == queue.StatePending
	})
	return pending[0]
}

// TestServeRefusesHostileRequests sends the requests a hostile web page
// or a DNS-rebinding name can make a browser send to plumb on loopback,
// and checks that none of them approves a pending remediation, while
// plumb's own origin and plain scripts still can.
func TestServeRefusesHostileRequests(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"),
		"--remediation", "approve", "--allowed-host", "plumb.corp.example")
	u, _ := url.Parse(base)
	port := u.Port()

	p := pendingRemediation(t, k, func() []queue.Remediation { return remediations(t, base, "pending") }, "slow")
	approve := base + "/api/v1/remediations/" + itoa(p.ID) + "/approve?hash=" + p.Hash

	hostile := []struct {
		name    string
		method  string
		url     string
		headers map[string]string
		want    int
	}{
		{"DNS rebinding: a name of the attacker's resolving to 127.0.0.1", "POST", approve,
			map[string]string{"Host": "rebind.attacker.example:" + port, "Origin": "http://rebind.attacker.example:" + port, "Sec-Fetch-Site": "same-origin"}, http.StatusForbidden},
		{"DNS rebinding reads findings", "GET", base + "/api/v1/findings",
			map[string]string{"Host": "rebind.attacker.example:" + port}, http.StatusForbidden},
		{"DNS rebinding reads the probes", "GET", base + "/healthz",
			map[string]string{"Host": "rebind.attacker.example:" + port}, http.StatusForbidden},
		{"cross-site fetch", "POST", approve,
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-site fetch from a browser without Sec-Fetch-Site", "POST", approve,
			map[string]string{"Origin": "https://attacker.example"}, http.StatusForbidden},
		{"cross-site form post", "POST", approve,
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "null", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site page on another port", "POST", approve,
			map[string]string{"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"reject from another site", "POST", base + "/api/v1/remediations/" + itoa(p.ID) + "/reject",
			map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
	}
	for _, h := range hostile {
		if code, reason := request(t, h.method, h.url, h.headers); code != h.want || reason != "Forbidden" {
			t.Errorf("%s: %d %s, want %d Forbidden", h.name, code, reason, h.want)
		}
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Fatalf("settings mode = %q after hostile requests, want it left as it was", got)
	}
	if r := remediations(t, base, "pending"); len(r) != 1 || r[0].ID != p.ID {
		t.Fatalf("pending after hostile requests = %+v, want remediation %d still waiting", r, p.ID)
	}

	// What is allowed: an --allowed-host name, a reader on another origin
	// (the browser keeps the answer from the page), and plumb's own origin.
	if code, _ := request(t, "GET", base+"/api/v1/findings", map[string]string{"Host": "plumb.corp.example:" + port}); code != http.StatusOK {
		t.Errorf("GET through an --allowed-host name: %d, want 200", code)
	}
	if code, _ := request(t, "GET", base+"/api/v1/findings", map[string]string{"Host": "localhost:" + port}); code != http.StatusOK {
		t.Errorf("GET through localhost: %d, want 200", code)
	}
	if code, _ := request(t, "POST", approve, map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}); code != http.StatusOK {
		t.Fatalf("same-origin approve: %d, want 200", code)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "fast" {
		t.Errorf("settings mode = %q after the same-origin approval, want the declared fast", got)
	}
}

// TestServeTokenGuardsWrites checks that with --token-file no write gets
// through without the exact token, whatever its origin, and that the
// token does not lift the cross-origin refusal.
func TestServeTokenGuardsWrites(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	const token = "s3cret-token-for-the-test"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := startServe(t, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"),
		"--remediation", "approve", "--token-file", tokenFile, "--profiling")
	// --profiling serves Go's profiles, behind the token.
	for tok, want := range map[string]int{"": http.StatusUnauthorized, token: http.StatusOK} {
		req, _ := http.NewRequest("GET", base+"/debug/pprof/", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /debug/pprof/ with token %q: %d, want %d", tok, resp.StatusCode, want)
		}
	}
	auth := func(tok string, more map[string]string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + tok}
		for k, v := range more {
			h[k] = v
		}
		return h
	}
	list := func() []queue.Remediation {
		req, _ := http.NewRequest("GET", base+"/api/v1/remediations?state=pending", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l struct{ Items []queue.Remediation }
		_ = json.NewDecoder(resp.Body).Decode(&l)
		return l.Items
	}
	p := pendingRemediation(t, k, list, "slow")
	approve := base + "/api/v1/remediations/" + itoa(p.ID) + "/approve?hash=" + p.Hash

	refused := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no token", map[string]string{}, http.StatusUnauthorized},
		{"no token, same origin", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}, http.StatusUnauthorized},
		{"a token one character off", auth(token[:len(token)-1]+"X", nil), http.StatusUnauthorized},
		{"a prefix of the token", auth(token[:8], nil), http.StatusUnauthorized},
		{"the token and more", auth(token+"x", nil), http.StatusUnauthorized},
		{"the token without Bearer", map[string]string{"Authorization": token}, http.StatusUnauthorized},
		{"the token from another site", auth(token, map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"}), http.StatusForbidden},
	}
	for _, r := range refused {
		if code, _ := request(t, "POST", approve, r.headers); code != r.want {
			t.Errorf("%s: %d, want %d", r.name, code, r.want)
		}
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Fatalf("settings mode = %q after refused requests, want it left as it was", got)
	}
	if code, _ := request(t, "POST", approve, auth(token, nil)); code != http.StatusOK {
		t.Fatalf("approve with the token: %d, want 200", code)
	}
	if got := k("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "fast" {
		t.Errorf("settings mode = %q after the approval, want the declared fast", got)
	}
}

// TestServeUnboundCluster: a cluster of the configuration that no binding
// selects is not watched (it sits where nothing listens, and serve still
// gets ready) and the API lists it as unbound.
func TestServeUnboundCluster(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", filepath.Join(mustAbs(t, shop), "config.yaml"))
	lab := writeTemp(t, `apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: lab, user: {token: unused}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
current-context: lab
`)
	cfg := writeTemp(t, `apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: envtest, kubeconfig: `+env.Kubeconfig+`, labels: {env: prod}}
  - {name: lab, kubeconfig: `+lab+`, labels: {env: dev}}
sources:
  - {name: settings, path: `+filepath.Join(mustAbs(t, shop), "config.yaml")+`, namespace: `+ns+`}
bindings:
  - {source: settings, clusters: {matchLabels: {env: prod}}}
`)
	base, _ := startServe(t, "-c", cfg, "--store", filepath.Join(t.TempDir(), "plumb.db"))
	var l struct {
		Items []struct{ Name, Status string }
	}
	if code := getJSON(t, base+"/api/v1/clusters", &l); code != http.StatusOK {
		t.Fatalf("GET clusters: %d", code)
	}
	var got []string
	for _, c := range l.Items {
		got = append(got, c.Name+" "+c.Status)
	}
	if strings.Join(got, ", ") != "envtest ok, lab unbound" {
		t.Errorf("clusters = %v, want envtest ok and lab unbound", got)
	}
}
