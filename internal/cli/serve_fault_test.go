package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testwait"
)

type clusterList struct {
	Items []struct {
		Name, Status, Error string
		Ready               bool
	}
}

func findingsOf(t *testing.T, base string) []store.Finding {
	t.Helper()
	var f struct{ Items []store.Finding }
	getJSON(t, base+"/api/v1/findings", &f)
	return f.Items
}

// TestServeSurvivesAnOutage cuts plumb off from its API server: the cluster
// is reported unreachable, the API keeps answering, and a change made during
// the outage is found once the connection is back.
func TestServeSurvivesAnOutage(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	proxy := env.Proxy(t)
	base, _ := startServe(t, "--kubeconfig", proxy.Kubeconfig, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"))

	proxy.Cut()
	// The outage is noticed when the watch breaks and the relist fails.
	testwait.For(t, 60*time.Second, "cluster reported unreachable", func() bool {
		var cl clusterList
		getJSON(t, base+"/api/v1/clusters", &cl)
		return len(cl.Items) == 1 && cl.Items[0].Status == "unreachable" && cl.Items[0].Error != ""
	})
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=7")
	if got := findingsOf(t, base); len(got) != 0 {
		t.Fatalf("a finding during the outage: %+v", got)
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 60*time.Second, "drift made during the outage found", func() bool {
		got := findingsOf(t, base)
		return len(got) == 1 && got[0].Name == "web"
	})
	// ok once every watch is back (each after its own back-off; syncing
	// until then).
	testwait.For(t, 60*time.Second, "cluster ok again", func() bool {
		var cl clusterList
		getJSON(t, base+"/api/v1/clusters", &cl)
		return cl.Items[0].Status == "ok" && cl.Items[0].Error == ""
	})
}

// TestServeRestartAfterKill kills plumb serve with SIGKILL while a finding
// is open, fixes the drift while it is down, and restarts it: the history is
// intact and the open finding is resolved against the cluster on start.
func TestServeRestartAfterKill(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	bin := filepath.Join(t.TempDir(), "plumb")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/plumb").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(t.TempDir(), "plumb.db")
	start := func() (*exec.Cmd, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "serve", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", shop, "--store", db, "--listen", addr)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		base := "http://" + addr
		testwait.For(t, 30*time.Second, "plumb serve ready", func() bool {
			resp, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
		return cmd, base
	}

	cmd, base := start()
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	testwait.For(t, 10*time.Second, "finding opened", func() bool { return len(findingsOf(t, base)) == 1 })

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"fast"}}`)

	_, base = start()
	if got := findingsOf(t, base); len(got) != 0 {
		t.Errorf("after restart: findings %+v, want the fixed one resolved", got)
	}
	var history struct{ Items []store.Event }
	getJSON(t, base+"/api/v1/events", &history)
	if len(history.Items) != 1 || history.Items[0].ResolvedAt == nil || history.Items[0].Name != "settings" {
		t.Errorf("history after restart = %+v, want the settings event, resolved", history.Items)
	}
}

// TestServeRelistsAfterGone refuses plumb's connections, then writes more
// ConfigMap changes than the API server's watch cache keeps, so that a
// watch resumed from plumb's last resourceVersion can only get 410 Gone.
// Whether the reflector resumes (and relists after the 410) or relists at
// once, the drift made meanwhile must be found. (Which of the two happened
// is not observable from outside; both must end the same.)
func TestServeRelistsAfterGone(t *testing.T) {
	ns := env.Namespace(t)
	scratch := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	proxy := env.Proxy(t)
	base, _ := startServe(t, "--kubeconfig", proxy.Kubeconfig, "-n", ns, "--source", shop, "--store", filepath.Join(t.TempDir(), "plumb.db"))

	proxy.Cut()
	env.Kubectl(t, "", "-n", ns, "patch", "configmap/settings", "--type=merge", "-p", `{"data":{"mode":"slow"}}`)
	cms := env.Clientset.CoreV1().ConfigMaps(scratch)
	cm, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "churn"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		cm.Data = map[string]string{"i": strconv.Itoa(i)}
		if cm, err = cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 60*time.Second, "drift made while the watch was gone found", func() bool {
		got := findingsOf(t, base)
		return len(got) == 1 && got[0].Name == "settings"
	})
}

// TestServeReadyWithAClusterDown serves a fleet of two clusters, one of
// them gone (its API server's address refuses connections): serve is
// ready all the same, as the chart's readiness probe asks, with the live
// cluster synced and its drift found; the API lists the dead one as
// unreachable, with its error, and so do the metrics.
func TestServeReadyWithAClusterDown(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	cfg := writeTemp(t, fmt.Sprintf(`apiVersion: plumb.dev/v1alpha1
kind: Config
clusters:
  - {name: live, kubeconfig: %s, context: %s}
  - {name: dead, kubeconfig: %s, context: %s}
sources:
  - {name: shop, path: %s, namespace: %s}
bindings:
  - {source: shop, clusters: {}}
`, env.Kubeconfig, env.Context, unreachableKubeconfig(t), env.Context, mustAbs(t, shop), ns))
	base, _ := startServe(t, "-c", cfg, "--store", filepath.Join(t.TempDir(), "plumb.db"))

	var cl clusterList
	getJSON(t, base+"/api/v1/clusters", &cl)
	got := map[string]string{}
	for _, c := range cl.Items {
		got[c.Name] = fmt.Sprintf("%s ready=%t error=%t", c.Status, c.Ready, c.Error != "")
	}
	want := map[string]string{"live": "ok ready=true error=false", "dead": "unreachable ready=false error=true"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("clusters (-want +got):\n%s", d)
	}
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/web", "--replicas=5")
	testwait.For(t, 10*time.Second, "the live cluster's drift found", func() bool {
		fs := findingsOf(t, base)
		return len(fs) == 1 && fs[0].Cluster == "live" && fs[0].Name == "web"
	})

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`plumb_cluster_ready{cluster="live"} 1`,
		`plumb_cluster_ready{cluster="dead"} 0`,
		`plumb_cluster_status{cluster="live",status="ok"} 1`,
		`plumb_cluster_status{cluster="dead",status="unreachable"} 1`,
		`plumb_cluster_status{cluster="dead",status="ok"} 0`,
	} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
