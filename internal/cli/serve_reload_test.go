package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/testwait"
)

// TestServeReloadsSources edits the source folder while plumb serve runs:
// a changed declaration, a new object and a deleted file each change the
// findings, with no restart.
func TestServeReloadsSources(t *testing.T) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	for _, f := range []string{"api.yaml", "config.yaml", "web.yaml", "worker.yaml"} {
		b, err := os.ReadFile(filepath.Join(shop, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", dir)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/api", "--replicas=4")
	base, _ := startServe(t, "-n", ns, "--source", dir, "--store", filepath.Join(t.TempDir(), "plumb.db"))
	names := func() string {
		var out []string
		for _, f := range findingsOf(t, base) {
			out = append(out, f.Kind+"/"+f.Name+":"+string(f.State))
		}
		return strings.Join(out, ",")
	}
	if got := names(); got != "Deployment/api:drifted" {
		t.Fatalf("findings at start = %s", got)
	}

	// The source now asks for 3 web replicas; the cluster runs 2.
	web := filepath.Join(dir, "web.yaml")
	b, _ := os.ReadFile(web)
	if err := os.WriteFile(web, []byte(strings.Replace(string(b), "replicas: 2", "replicas: 3", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "drift from the edited source", func() bool { return names() == "Deployment/api:drifted,Deployment/web:drifted" })

	// A new object that is not in the cluster, and a file removed.
	if err := os.WriteFile(filepath.Join(dir, "extra.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata: {a: b}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "api.yaml")); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "the new object missing and the removed one resolved", func() bool {
		return names() == "ConfigMap/extra:missing,Deployment/web:drifted"
	})
}
