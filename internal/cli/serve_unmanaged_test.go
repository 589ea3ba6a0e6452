package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"plumb.dev/plumb/internal/testwait"
)

// TestServeUnmanaged reports undeclared objects of the watched kinds in the
// watched namespaces, from the same watches: one present at start, one
// created while plumb runs, and resolves them when they are deleted.
func TestServeUnmanaged(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", shop)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "left-over", "--from-literal=a=b")
	base, _ := startServe(t, "-n", ns, "--source", shop, "--unmanaged", "--store", filepath.Join(t.TempDir(), "plumb.db"))
	names := func() string {
		var out []string
		for _, f := range findingsOf(t, base) {
			who := ""
			if len(f.Changes) == 1 {
				who = f.Changes[0].Manager
			}
			out = append(out, f.Kind+"/"+f.Name+":"+string(f.State)+":"+who)
		}
		return strings.Join(out, ",")
	}
	testwait.For(t, 10*time.Second, "the left-over ConfigMap reported", func() bool {
		return names() == "ConfigMap/left-over:unmanaged:kubectl-create"
	})

	env.Kubectl(t, "", "-n", ns, "create", "configmap", "debug-dump", "--from-literal=level=trace")
	testwait.For(t, 10*time.Second, "the new ConfigMap reported", func() bool {
		return names() == "ConfigMap/debug-dump:unmanaged:kubectl-create,ConfigMap/left-over:unmanaged:kubectl-create"
	})
	env.Kubectl(t, "", "-n", ns, "delete", "configmap", "left-over", "debug-dump")
	testwait.For(t, 10*time.Second, "both resolved once deleted", func() bool { return names() == "" })
}
