package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/notify"
	"plumb.dev/plumb/internal/testwait"
)

// TestServeReloadsSources edits the source folder while plumb serve runs:
// a changed declaration, a new object and a deleted file each change the
// findings, with no restart.
func TestServeReloadsSources(t *testing.T) {
	ns := env.Namespace(t)
	dir := shopFiles(t, "api.yaml", "config.yaml", "web.yaml", "worker.yaml")
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

// TestServeKeepsWhatABrokenFileDeclared saves a typo into a watched source
// file while plumb serve runs: its objects stay declared as the file last
// loaded (their findings stay open, their drift is still found), the
// error shows in the API, /metrics and a notification, and once the file
// is fixed the error goes and what the file then declares counts.
func TestServeKeepsWhatABrokenFileDeclared(t *testing.T) {
	ns := env.Namespace(t)
	dir := shopFiles(t, "api.yaml", "web.yaml")
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", dir)
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/api", "--replicas=4")
	hook, hooks := webhookReceiver(t)
	base, _ := startServe(t, "-n", ns, "--source", dir, "--store", filepath.Join(t.TempDir(), "plumb.db"), "--notify-webhook", hook)
	names := func() string {
		var out []string
		for _, f := range findingsOf(t, base) {
			out = append(out, f.Kind+"/"+f.Name+":"+string(f.State))
		}
		return strings.Join(out, ",")
	}
	type status struct {
		SourceErrors []struct {
			Path    string
			Line    int
			Message string
		}
		KeptDeclarations int
	}
	cluster := func() status {
		var l struct{ Items []status }
		getJSON(t, base+"/api/v1/clusters", &l)
		if len(l.Items) != 1 {
			t.Fatalf("clusters: %+v", l.Items)
		}
		return l.Items[0]
	}
	sourceHooks := func() []notify.SourceReport {
		var out []notify.SourceReport
		for _, p := range hooks() {
			if p.Sources != nil {
				out = append(out, *p.Sources)
			}
		}
		return out
	}
	if got := names(); got != "Deployment/api:drifted" {
		t.Fatalf("findings at start = %s", got)
	}

	api := filepath.Join(dir, "api.yaml")
	good, _ := os.ReadFile(api)
	if err := os.WriteFile(api, append([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api\n"), good...), 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "the source error in the API", func() bool { return len(cluster().SourceErrors) > 0 })
	c := cluster()
	if e := c.SourceErrors[0]; e.Path != api || c.KeptDeclarations != 1 {
		t.Errorf("cluster status = %+v, want the error in %s and api's declaration kept", c, api)
	}
	if got := metricValue(t, base, "plumb_source_errors", nil); got != float64(len(c.SourceErrors)) {
		t.Errorf("plumb_source_errors = %v, want %d", got, len(c.SourceErrors))
	}
	if got := metricValue(t, base, "plumb_source_declarations_kept", nil); got != 1 {
		t.Errorf("plumb_source_declarations_kept = %v, want 1", got)
	}
	testwait.For(t, 10*time.Second, "a notification of the broken source", func() bool { return len(sourceHooks()) == 1 })
	if r := sourceHooks()[0]; len(r.Errors) == 0 || r.Errors[0].Path != api || r.KeptDeclarations != 1 {
		t.Errorf("notification = %+v", r)
	}
	// api is still declared: its finding stays open, and a new drift of it
	// is still found.
	env.Kubectl(t, "", "-n", ns, "scale", "deployment/api", "--replicas=5")
	testwait.For(t, 15*time.Second, "api's new drift found", func() bool {
		for _, f := range findingsOf(t, base) {
			for _, ch := range f.Changes {
				if f.Name == "api" && ch.Path == ".spec.replicas" && fmt.Sprint(ch.Live) == "5" {
					return true
				}
			}
		}
		return false
	})
	if got := names(); got != "Deployment/api:drifted" {
		t.Errorf("findings with api.yaml broken = %s, want api's still open", got)
	}

	// Fixed, and declaring 4 replicas: the error goes, and what the file
	// now declares counts.
	if err := os.WriteFile(api, []byte(strings.Replace(string(good), "replicas: 2", "replicas: 5", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "the error gone and api in sync with its fixed file", func() bool {
		return len(cluster().SourceErrors) == 0 && names() == ""
	})
	if got := metricValue(t, base, "plumb_source_errors", nil); got != 0 {
		t.Errorf("plumb_source_errors = %v after the fix, want 0", got)
	}
	testwait.For(t, 10*time.Second, "a notification that the sources load again", func() bool { return len(sourceHooks()) == 2 })
	if r := sourceHooks()[1]; len(r.Errors) != 0 {
		t.Errorf("second notification = %+v, want the sources clean", r)
	}
}

// shopFiles copies files of the example shop into a new folder.
func shopFiles(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(shop, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
