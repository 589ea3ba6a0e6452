package testcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1apply "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"
)

var env *Env

func TestMain(m *testing.M) {
	if os.Getenv(orphanChild) != "" {
		startAndHang()
	}
	Main(m, &env)
}

// orphanChild makes the test binary start a control plane, print "ready"
// and wait to be killed: TestControlPlaneDiesWithItsParent kills it.
const orphanChild = "PLUMB_TESTCLUSTER_ORPHAN_CHILD"

func startAndHang() {
	if _, err := Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	select {}
}

// TestControlPlaneDiesWithItsParent kills, with SIGKILL, a process that
// started a control plane, and checks that its kube-apiserver and etcd end
// too rather than run on with nobody to stop them.
func TestControlPlaneDiesWithItsParent(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) is needed: %v", err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	// The child's files (kubeconfig, etcd's data, certificates) go where
	// the test removes them; nobody else can after a SIGKILL.
	child.Env = append(os.Environ(), orphanChild+"=1", "TMPDIR="+t.TempDir())
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = child.Process.Kill()
		t.Fatalf("child: %q, %v", line, err)
	}
	plane := childrenOf(t, child.Process.Pid)
	t.Cleanup(func() {
		for _, pid := range plane {
			if running(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	names := make([]string, 0, len(plane))
	for _, pid := range plane {
		names = append(names, processName(pid))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"etcd", "kube-apiserver"}) {
		_ = child.Process.Kill()
		t.Fatalf("the child runs %v, want etcd and kube-apiserver", names)
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(time.Minute)
	for _, pid := range plane {
		for running(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s (pid %d) still runs a minute after its parent was killed", processName(pid), pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fields := procStat(p); len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

// procStat returns the fields of /proc/PID/stat after the command name:
// state, parent pid, and so on.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.Fields(rest)
}

// running tells whether pid exists and is not a zombie waiting to be reaped.
func running(pid int) bool {
	fields := procStat(pid)
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func processName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// TestServerSideApplyRecordsManagedFields proves the control plane is real:
// a server-side apply through client-go is defaulted by the server and
// recorded in managedFields under the applying manager.
func TestServerSideApplyRecordsManagedFields(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	apply := appsv1apply.Deployment("web", ns).
		WithSpec(appsv1apply.DeploymentSpec().
			WithReplicas(2).
			WithSelector(metav1apply.LabelSelector().WithMatchLabels(labels)).
			WithTemplate(corev1apply.PodTemplateSpec().
				WithLabels(labels).
				WithSpec(corev1apply.PodSpec().WithContainers(
					corev1apply.Container().WithName("web").WithImage("nginx:1.27")))))

	deployments := env.Clientset.AppsV1().Deployments(ns)
	if _, err := deployments.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "plumb-test", Force: true}); err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}

	// The server filled in defaults the apply did not send.
	if got.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy = %q, want the server's default %q", got.Spec.Strategy.Type, appsv1.RollingUpdateDeploymentStrategyType)
	}
	if pp := got.Spec.Template.Spec.Containers[0].ImagePullPolicy; pp != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %q, want the server's default %q", pp, corev1.PullIfNotPresent)
	}

	var entry *metav1.ManagedFieldsEntry
	for i := range got.ManagedFields {
		if got.ManagedFields[i].Manager == "plumb-test" {
			entry = &got.ManagedFields[i]
		}
	}
	if entry == nil {
		t.Fatalf("no managedFields entry for plumb-test; got %+v", got.ManagedFields)
	}
	if entry.Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("operation = %q, want Apply", entry.Operation)
	}
	fields := entry.FieldsV1.GetRawString()
	for _, want := range []string{`"f:replicas"`, `"k:{\"name\":\"web\"}"`, `"f:image"`} {
		if !strings.Contains(fields, want) {
			t.Errorf("managed fields lack %s: %s", want, fields)
		}
	}
	// Defaults are owned by nobody: the applier owns only what it sent.
	if strings.Contains(fields, `"f:imagePullPolicy"`) {
		t.Errorf("applier owns defaulted imagePullPolicy: %s", fields)
	}
}

// TestKubeconfigContextReachesServer checks the written kubeconfig and the
// pinned kubectl, which later tests use to make out-of-band changes.
func TestKubeconfigContextReachesServer(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast")
	out := env.Kubectl(t, "", "--context", ContextName, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}")
	if out != "fast" {
		t.Fatalf("kubectl read back %q, want %q", out, "fast")
	}
}

func TestNamespaceName(t *testing.T) {
	tests := []struct {
		test string
		seq  int64
		want string
	}{
		{"TestScan", 1, "testscan-1"},
		{"TestScan/kubectl_scale", 12, "testscan-kubectl-scale-12"},
		{"__", 3, "test-3"},
		{strings.Repeat("x", 80), 7, strings.Repeat("x", 61) + "-7"},
	}
	for _, tt := range tests {
		if got := namespaceName(tt.test, tt.seq); got != tt.want {
			t.Errorf("namespaceName(%q, %d) = %q, want %q", tt.test, tt.seq, got, tt.want)
		}
	}
}

// TestStartWithAuditWebhook starts a control plane whose kube-apiserver
// sends its audit events to a webhook, as plumb serve's --audit-listen
// will receive them, and checks that a kubectl patch arrives with its
// user, user agent and object.
func TestStartWithAuditWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list struct {
			Items []struct {
				Verb      string
				Stage     string
				User      struct{ Username string }
				UserAgent string
				ObjectRef struct{ Resource, Namespace, Name string }
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&list); err == nil {
			mu.Lock()
			for _, e := range list.Items {
				got = append(got, strings.Join([]string{e.Verb, e.Stage, e.ObjectRef.Resource, e.ObjectRef.Namespace, e.ObjectRef.Name, e.User.Username, e.UserAgent}, " "))
			}
			mu.Unlock()
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	policy := filepath.Join(dir, "audit-policy.yaml")
	hook := filepath.Join(dir, "audit-webhook.kubeconfig")
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(policy, "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  verbs: [create, update, patch, delete]\n")
	write(hook, "apiVersion: v1\nkind: Config\nclusters: [{name: plumb, cluster: {server: \""+srv.URL+"\"}}]\ncontexts: [{name: plumb, context: {cluster: plumb}}]\ncurrent-context: plumb\n")
	e, err := StartWith(Options{APIServerFlags: map[string]string{
		"audit-policy-file":             policy,
		"audit-webhook-config-file":     hook,
		"audit-webhook-batch-max-wait":  "100ms",
		"audit-webhook-initial-backoff": "100ms",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	ns := e.Namespace(t)
	e.Kubectl(t, "", "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast")
	e.Kubectl(t, "", "-n", ns, "patch", "configmap", "settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		found := false
		for _, g := range got {
			if strings.HasPrefix(g, "patch ResponseComplete configmaps "+ns+" settings ") && strings.Contains(g, " kubectl/") {
				found = true
			}
		}
		seen := append([]string(nil), got...)
		mu.Unlock()
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event of the patch within 10s; got:\n%s", strings.Join(seen, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRestartAPIServer restarts a control plane's kube-apiserver: the
// kubeconfig written before the restart reaches it after, on the same
// port and certificate, and what was stored before is still there.
func TestRestartAPIServer(t *testing.T) {
	e, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	ns := e.Namespace(t)
	e.Kubectl(t, "", "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast")
	if err := e.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	if out := e.Kubectl(t, "", "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); out != "fast" {
		t.Fatalf("after the restart kubectl read back %q, want %q", out, "fast")
	}
	// Clients made before the restart still authenticate: the client CA
	// is the same.
	if _, err := e.Clientset.CoreV1().ConfigMaps(ns).Get(context.Background(), "settings", metav1.GetOptions{}); err != nil {
		t.Fatalf("clientset after the restart: %v", err)
	}
}
