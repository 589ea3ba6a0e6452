package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"plumb.dev/plumb/internal/testwait"
)

// readmeExamples are the command lines of the README's shell blocks that
// run plumb, in order.
func readmeExamples(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in && strings.TrimPrefix(l, "```") == "sh"
		case in && strings.HasPrefix(l, "plumb "):
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestReadmeExamples runs every plumb command line of the README with
// bash, as written, in a folder laid out as the README assumes (deploy/,
// base/deploy, charts/shop with prod.yaml, a Helm release
// ingress/ingress-nginx) against a real API server reached by the
// kubeconfig context prod-eu, where someone has scaled the shop's web by
// hand. The one rewrite: the Git example's
// https://github.com/acme/platform is a repository made in the test,
// file:// (there is no network). plumb config init's starter is edited as
// its comments ask (CHANGE-ME → prod) before the lines that use it.
//
// A line passes when plumb exits 0 (in sync, or done) or 1 (drift found,
// or a plan shown and not applied): never 2, a usage error or a refusal.
// plumb serve and plumb agent run until stopped: they pass when they are
// still running, and serve ready, after some seconds.
func TestReadmeExamples(t *testing.T) {
	examples := readmeExamples(t)
	if len(examples) < 10 {
		t.Fatalf("found only %d plumb lines in README.md's sh blocks: %q", len(examples), examples)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if out, err := exec.Command("go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", filepath.Join(bin, "plumb"), "../../cmd/plumb").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	mkdir := func(p string) string {
		p = filepath.Join(work, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(p, text string) {
		if err := os.WriteFile(filepath.Join(work, p), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	move := func(from, to string) {
		if err := os.Rename(from, filepath.Join(work, to)); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("base")
	move(copyShop(t), "deploy")
	move(copyShop(t), "base/deploy")
	mkdir("charts/shop/templates")
	write("charts/shop/Chart.yaml", "apiVersion: v2\nname: shop\nversion: 0.1.0\n")
	write("charts/shop/values.yaml", "replicas: 1\n")
	write("charts/shop/templates/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-chart\ndata:\n  replicas: {{ .Values.replicas | quote }}\n")
	write("prod.yaml", "replicas: 3\n")
	write("token", "an-agent-token-of-enough-length-0123456789\n")
	write("admission-token", "an-admission-token-of-enough-length-0123456789\n")

	// The Git example's repository: deploy/ at the tag v1.4.0.
	repoDir := filepath.Join(dir, "platform")
	repo, err := git.PlainInit(repoDir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(copyShop(t), filepath.Join(repoDir, "deploy")); err != nil {
		t.Fatal(err)
	}
	head := commitAll(t, repo, "the shop")
	if _, err := repo.CreateTag("v1.4.0", plumbing.NewHash(head), nil); err != nil {
		t.Fatal(err)
	}

	// The cluster: the shop deployed in namespace shop, a Helm release
	// ingress/ingress-nginx, reached as the context prod-eu.
	for _, ns := range []string{"shop", "ingress"} {
		if _, err := env.KubectlErr("", "create", "namespace", ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
			t.Fatal(err)
		}
	}
	env.Kubectl(t, "", "-n", "shop", "apply", "--server-side", "-f", filepath.Join(work, "deploy"))
	helmInstall(t, filepath.Join(work, "charts/shop"), "ingress-nginx", "ingress", true, nil)
	// Drift, made the way the README's users make it, for scan to find and
	// fix to put back.
	env.Kubectl(t, "", "-n", "shop", "scale", "deployment", "web", "--replicas", "5")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	raw := env.Kubectl(t, "", "config", "view", "--raw", "--flatten")
	if err := os.WriteFile(kubeconfig, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := func(args ...string) {
		if out, err := exec.Command(filepath.Join(env.AssetsDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	current := strings.TrimSpace(env.Kubectl(t, "", "config", "current-context"))
	kc("config", "rename-context", current, "prod-eu")
	kc("config", "set-context", "prod-eu", "--namespace", "shop")

	environ := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+kubeconfig, "HOME="+dir, "XDG_STATE_HOME="+filepath.Join(dir, "state"),
		"XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "NO_COLOR=1")
	for _, line := range examples {
		cmdline := strings.ReplaceAll(line, "https://github.com/acme/platform", "file://"+repoDir)
		t.Run(strings.Join(strings.Fields(line)[:2], " "), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", cmdline)
			cmd.Dir, cmd.Env = work, environ
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			fields := strings.Fields(line)
			if fields[1] == "serve" || fields[1] == "agent" {
				select {
				case err := <-exited:
					t.Fatalf("%s\nexited (%v) instead of running:\n%s\n%s", line, err, stdout.String(), stderr.String())
				case <-time.After(5 * time.Second):
				}
				if fields[1] == "serve" {
					testwait.For(t, 60*time.Second, "plumb serve ready at 127.0.0.1:8080", func() bool {
						resp, err := http.Get("http://127.0.0.1:8080/readyz")
						if err != nil {
							return false
						}
						resp.Body.Close()
						return resp.StatusCode == http.StatusOK
					})
				}
				cancel()
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					t.Fatalf("%s did not stop within 30s of SIGTERM", line)
				}
				return
			}
			var code int
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
			case <-time.After(3 * time.Minute):
				t.Fatalf("%s still running after 3 minutes", line)
			}
			if code != ExitInSync && code != ExitDrift {
				t.Fatalf("%s\nexit %d:\n%s\n%s", line, code, stdout.String(), stderr.String())
			}
			if fields[1] == "config" && fields[2] == "init" {
				b, err := os.ReadFile(filepath.Join(work, "plumb.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(b, []byte("CHANGE-ME")) {
					t.Fatalf("plumb config init wrote no CHANGE-ME to edit:\n%s", b)
				}
				write("plumb.yaml", strings.ReplaceAll(string(b), "CHANGE-ME", "prod"))
			}
			t.Logf("%s: exit %d", line, code)
		})
	}
	// plumb fix -c plumb.yaml --yes put the hand-made change back.
	if got := env.Kubectl(t, "", "-n", "shop", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("web has %s replicas after the README's plumb fix -c --yes, want the declared 2", got)
	}
}
