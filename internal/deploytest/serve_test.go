package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"plumb.dev/plumb/internal/cli"
	"plumb.dev/plumb/internal/testwait"
)

// serviceAccount is the identity the chart's release plumb in plumb-system
// runs as.
const serviceAccount = "system:serviceaccount:plumb-system:plumb"

// syncBuffer is a bytes.Buffer that plumb's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is plumb serve running in-process with the chart's arguments.
type server struct {
	base  string // http://127.0.0.1:PORT
	token string
	log   *syncBuffer
	stop  func()
}

// serve runs plumb serve with p's arguments, on a free port instead of the
// chart's, against the test control plane as the chart's service account,
// and waits until /readyz answers 200.
func serve(t *testing.T, p pod) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	listen := p.flag("listen")
	if !strings.HasPrefix(listen, "0.0.0.0:") {
		t.Fatalf("the chart listens on %q, want 0.0.0.0:PORT for the Service and the kubelet's probes", listen)
	}
	args := append(p.withFlag("listen", "0.0.0.0:"+strconv.Itoa(port)), "--kubeconfig", env.Kubeconfig, "--as", serviceAccount, "-v", "1")
	token, err := os.ReadFile(p.flag("token-file"))
	if err != nil {
		t.Fatalf("the token file the chart names: %v", err)
	}
	s := &server{base: "http://127.0.0.1:" + strconv.Itoa(port), token: strings.TrimSpace(string(token)), log: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- cli.Execute(ctx, args, cli.Streams{In: strings.NewReader(""), Out: s.log, ErrOut: s.log})
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("plumb serve did not stop within 30s of its context")
			}
		})
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code, _ := s.get(t, "/readyz", "plumb.plumb-system.svc", false); code == http.StatusOK {
			return s
		}
		select {
		case code := <-done:
			t.Fatalf("plumb serve exited %d before it was ready:\n%s", code, s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("plumb serve was not ready within 60s:\n%s", s.log.String())
		}
	}
}

// get requests path with the Host header host, with or without the token,
// and returns the status and body.
func (s *server) get(t *testing.T, path, host string, withToken bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if withToken {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	return resp.StatusCode, body.Bytes()
}

// finding is what the test reads of the API's findings.
type finding struct {
	Kind, Namespace, Name, State string
}

// findings lists the current findings through the Service's host name.
func (s *server) findings(t *testing.T) []finding {
	t.Helper()
	code, body := s.get(t, "/api/v1/findings", "plumb.plumb-system.svc", true)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/findings: %d %s", code, body)
	}
	var l struct{ Items []finding }
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("findings: %v\n%s", err, body)
	}
	return l.Items
}

// forbidden matches what the API server answers a request RBAC refuses.
var forbidden = regexp.MustCompile(`(?i)forbidden`)

// canI asks the API server whether the chart's service account may do verb
// on resource in ns, as kubectl auth can-i --as does.
func canI(t *testing.T, ns, verb, resource string) bool {
	t.Helper()
	out, err := env.KubectlErr("", "auth", "can-i", verb, resource, "-n", ns, "--as", serviceAccount)
	answer := strings.TrimSpace(out)
	if answer != "yes" && answer != "no" {
		t.Fatalf("kubectl auth can-i %s %s: %q, %v", verb, resource, out, err)
	}
	return answer == "yes"
}

// install applies the chart's rendered manifests, as `helm template | kubectl
// apply --server-side` does, into plumb-system.
func install(t *testing.T, stream string) {
	t.Helper()
	env.Kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: plumb-system}\n", "apply", "-f", "-")
	env.Kubectl(t, stream, "apply", "--server-side", "--field-manager=helm", "-f", "-")
}

// TestServeUnderChartRBAC installs the chart's output on a real API server
// and runs plumb serve with the Deployment's arguments, files and service
// account: read-only, it becomes ready, finds a drift made with kubectl, and
// is refused nothing; a fix is refused by RBAC. With remediation enabled it
// puts the drift back itself. Neither may delete a namespace or bind roles.
func TestServeUnderChartRBAC(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", "../../examples/shop")
	stream, objs := mustRender(t, rel, shopValues(t, ns, ""))
	install(t, stream)

	for _, c := range []struct {
		verb, resource string
		want           bool
	}{
		{"list", "deployments.apps", true},
		{"watch", "secrets", true},
		{"patch", "deployments.apps", false},
		{"create", "configmaps", false},
		{"delete", "namespaces", false},
		{"bind", "clusterroles.rbac.authorization.k8s.io", false},
		{"escalate", "clusterroles.rbac.authorization.k8s.io", false},
		{"impersonate", "users", false},
	} {
		if got := canI(t, ns, c.verb, c.resource); got != c.want {
			t.Errorf("read-only: can %s %s = %v, want %v", c.verb, c.resource, got, c.want)
		}
	}

	p := podFiles(t, objs)
	s := serve(t, p)
	if code, _ := s.get(t, "/api/v1/findings", "plumb.plumb-system.svc", false); code != http.StatusUnauthorized {
		t.Errorf("findings without the token: %d, want 401", code)
	}
	if code, _ := s.get(t, "/api/v1/findings", "evil.example.com", true); code != http.StatusForbidden {
		t.Errorf("findings through a host the chart did not allow: %d, want 403", code)
	}
	if f := s.findings(t); len(f) != 0 {
		t.Fatalf("findings before any drift: %+v", f)
	}
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	testwait.For(t, 10*time.Second, "the scaled Deployment's finding", func() bool {
		f := s.findings(t)
		return len(f) == 1 && f[0].Kind == "Deployment" && f[0].Name == "web" && f[0].Namespace == ns && f[0].State == "drifted"
	})

	// A fix as the same identity is refused by the API server.
	var fixOut syncBuffer
	code := cli.Execute(context.Background(), []string{"fix", "--kubeconfig", env.Kubeconfig, "--as", serviceAccount,
		"-n", ns, "--source", "../../examples/shop", "--yes"}, cli.Streams{In: strings.NewReader(""), Out: &fixOut, ErrOut: &fixOut})
	if code == 0 || !forbidden.MatchString(fixOut.String()) {
		t.Errorf("plumb fix as the read-only service account: exit %d, want a forbidden error:\n%s", code, fixOut.String())
	}
	if got := env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("replicas %s after the refused fix, want 5", got)
	}
	s.stop()
	if log := s.log.String(); forbidden.MatchString(log) {
		t.Errorf("plumb serve under the chart's read-only RBAC logged a forbidden error:\n%s", log)
	}

	// Remediation on: the same release, upgraded.
	stream, objs = mustRender(t, rel, shopValues(t, ns, "remediation: {enabled: true, mode: auto}"))
	install(t, stream)
	for _, c := range []struct {
		verb, resource string
		want           bool
	}{
		{"patch", "deployments.apps", true},
		{"create", "configmaps", true},
		{"delete", "deployments.apps", false},
		{"delete", "namespaces", false},
		{"bind", "clusterroles.rbac.authorization.k8s.io", false},
		{"escalate", "clusterroles.rbac.authorization.k8s.io", false},
		{"impersonate", "serviceaccounts", false},
	} {
		if got := canI(t, ns, c.verb, c.resource); got != c.want {
			t.Errorf("remediation: can %s %s = %v, want %v", c.verb, c.resource, got, c.want)
		}
	}
	s = serve(t, podFiles(t, objs))
	testwait.For(t, 15*time.Second, "auto remediation to scale web back to 2", func() bool {
		return env.Kubectl(t, "", "-n", ns, "get", "deployment/web", "-o", "jsonpath={.spec.replicas}") == "2"
	})
	testwait.For(t, 10*time.Second, "no findings once fixed", func() bool { return len(s.findings(t)) == 0 })
	s.stop()
	if log := s.log.String(); forbidden.MatchString(log) {
		t.Errorf("plumb serve with remediation logged a forbidden error:\n%s", log)
	}
}

// TestChartAppliesWithEveryOption: the output with every option on (but the
// ServiceMonitor, whose CRD the test server lacks) is accepted by a real
// API server as it is, in a release namespace of its own.
func TestChartAppliesWithEveryOption(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more-manifests}\n", "-n", ns, "apply", "-f", "-")
	v := shopValues(t, ns, everything)
	v["serviceMonitor"] = map[string]any{"enabled": false}
	stream, objs := mustRender(t, release{name: "plumb-" + ns, namespace: ns}, v)
	out := env.Kubectl(t, stream, "apply", "--server-side", "--field-manager=helm", "-f", "-")
	if got, want := strings.Count(out, "serverside-applied"), len(objs); got != want {
		t.Errorf("%d objects applied, %d rendered:\n%s", got, want, out)
	}
}

// TestFleetConfig: with clusters in config, plumb serve gets the fleet file
// and no --source; the file, its sources and the kubeconfigs it names (the
// remote cluster's Secret and the chart's in-cluster one) are all where the
// pod finds them: plumb config validate accepts it as the pod sees it.
func TestFleetConfig(t *testing.T) {
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	remote := strings.ReplaceAll(string(kubeconfig), "envtest", "prod-eu")
	v := shopValues(t, "shop", `
config:
  clusters:
    - {name: local, context: in-cluster, kubeconfig: /etc/plumb/config/in-cluster.kubeconfig}
    - {name: prod-eu, kubeconfig: /etc/plumb/kubeconfigs/prod-eu, labels: {env: prod}}
  sources:
    - {name: shop, path: /etc/plumb/sources/inline, namespace: shop}
  bindings:
    - {source: shop, clusters: {}}
`)
	v["remoteClusters"] = map[string]any{"kubeconfigs": map[string]any{"prod-eu": remote}}
	_, objs := mustRender(t, rel, v)
	p := podFiles(t, objs)
	for _, name := range []string{"source", "namespace", "remediation"} {
		if got := p.flag(name); got != "" {
			t.Errorf("fleet mode, but --%s=%s", name, got)
		}
	}
	config := p.flag("config")
	if config != filepath.Join(p.root, "/etc/plumb/config/plumb.yaml") {
		t.Fatalf("--config=%q", config)
	}
	var out syncBuffer
	if code := cli.Execute(context.Background(), []string{"config", "validate", "-c", config}, cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &out}); code != 0 {
		t.Errorf("plumb config validate of the chart's fleet file: exit %d\n%s", code, out.String())
	}
}

// TestChartNeverGrantsClusterAdmin installs the chart with each combination
// of the values that shape its RBAC on a real API server, and asks the API
// server, as the release's service account (a SubjectAccessReview, what
// kubectl auth can-i --as asks), for what would make plumb cluster-admin or
// let it touch what its sources do not declare: minting a token, exec,
// the node proxy, approving certificates, binding roles, webhooks, Secrets
// and writes outside its namespaces, deleting. Every answer is no; what
// plumb needs is yes.
func TestChartNeverGrantsClusterAdmin(t *testing.T) {
	ns, other := env.Namespace(t), env.Namespace(t)
	env.Kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: plumb-system}\n", "apply", "-f", "-")
	i := 0
	for _, remediation := range []bool{false, true} {
		for _, admission := range []bool{false, true} {
			for _, secrets := range []bool{false, true} {
				for _, namespaces := range []string{"", fmt.Sprintf("[%s, %s-extra]", ns, ns)} {
					i++
					extra := fmt.Sprintf("remediation: {enabled: %v}\nadmission: {enabled: %v, allowUnauthenticated: true}\nrbac: {secrets: %v", remediation, admission, secrets)
					if namespaces != "" {
						extra += ", namespaces: " + namespaces
					}
					extra += "}\n"
					name := fmt.Sprintf("plumb-rbac-%d", i)
					stream, _ := mustRender(t, release{name: name, namespace: "plumb-system"}, shopValues(t, ns, extra))
					if namespaces != "" {
						env.Kubectl(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"-extra}\n", "apply", "-f", "-")
					}
					env.Kubectl(t, stream, "apply", "--server-side", "--field-manager=helm", "-f", "-")
					sa := "system:serviceaccount:plumb-system:" + name
					for _, c := range []struct {
						verb, group, resource, sub, ns string
						want                           bool
					}{
						{"list", "apps", "deployments", "", ns, true},
						{"get", "", "secrets", "", ns, true},
						{"patch", "apps", "deployments", "", ns, remediation},
						{"patch", "", "secrets", "", ns, remediation && secrets},
						{"create", "", "serviceaccounts", "token", ns, false},
						{"create", "", "serviceaccounts", "token", "kube-system", false},
						{"create", "", "pods", "exec", ns, false},
						{"create", "", "pods", "", ns, false},
						{"get", "", "nodes", "proxy", "", false},
						{"update", "certificates.k8s.io", "certificatesigningrequests", "approval", "", false},
						{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", "", false},
						{"create", "rbac.authorization.k8s.io", "rolebindings", "", ns, false},
						{"bind", "rbac.authorization.k8s.io", "clusterroles", "", "", false},
						{"escalate", "rbac.authorization.k8s.io", "clusterroles", "", "", false},
						{"impersonate", "", "users", "", "", false},
						{"patch", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "", "", false},
						{"update", "admissionregistration.k8s.io", "validatingwebhookconfigurations", "", "", admission},
						{"list", "", "secrets", "", "kube-system", false},
						{"get", "", "secrets", "", other, false},
						{"patch", "apps", "deployments", "", other, false},
						{"patch", "", "configmaps", "", "kube-system", false},
						{"delete", "apps", "deployments", "", ns, false},
						{"delete", "", "namespaces", "", "", false},
					} {
						sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: sa,
							Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:plumb-system", "system:authenticated"},
							ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.sub, Namespace: c.ns}}}
						got, err := env.Clientset.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
						if err != nil {
							t.Fatal(err)
						}
						if got.Status.Allowed != c.want {
							t.Errorf("%s: can %s %s/%s %s in %q = %v, want %v", strings.TrimSpace(strings.ReplaceAll(extra, "\n", "; ")), c.verb, c.group, c.resource, c.sub, c.ns, got.Status.Allowed, c.want)
						}
					}
				}
			}
		}
	}
}
