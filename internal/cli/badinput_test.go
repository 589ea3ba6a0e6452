package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadInputIsReportedAndTheRestIsScanned feeds one file with every kind
// of bad document between good ones: each bad one is an error naming file
// and line, the good ones are still compared, and the exit code says the
// result is incomplete.
func TestBadInputIsReportedAndTheRestIsScanned(t *testing.T) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "app.yaml")
	content := `apiVersion: v1
kind: ConfigMap
metadata:
  name: good-one
data:
  a: "1"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data: [unclosed
---
apiVersion: v1
metadata:
  name: no-kind
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: good-one
data:
  a: "2"
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: needs-a-crd
spec:
  secretName: tls
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: good-two
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "good-one", "--from-literal=a=1")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "good-two")

	code, r, _ := scanJSON(t, ns, "--source", file)
	if code != ExitError {
		t.Errorf("exit %d, want %d: bad input makes the result incomplete", code, ExitError)
	}
	type located struct {
		Line    int
		Object  string
		Message string
	}
	want := []located{
		{12, "", "invalid YAML"},
		{14, "no-kind", "missing kind"},
		{18, "ConfigMap good-one", "duplicate of the"},
		{25, "Certificate needs-a-crd", "the cluster does"},
	}
	var got []located
	for i, e := range r.Errors {
		if e.Path != file {
			t.Errorf("error %v names path %q, want %q", e, e.Path, file)
		}
		msg := e.Message
		if i < len(want) && strings.HasPrefix(msg, want[i].Message) {
			msg = want[i].Message // the start identifies the error
		}
		got = append(got, located{e.Line, e.Object, msg})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nall: %+v", diff, r.Errors)
	}
	if r.Summary.Objects != 2 || r.Summary.InSync != 2 {
		t.Errorf("summary %+v: want both good ConfigMaps compared and in sync", r.Summary)
	}
}
