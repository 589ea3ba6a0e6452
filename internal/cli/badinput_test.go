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

// TestScanRefusesSourcesOverTheLimits: with the default limits, a 100 MiB
// file is refused unread and an object the API server would refuse (over
// 3 MiB) is refused at its file and line; each is an error naming the
// flag that raises it, neither is reported as a missing object, the other
// files and objects are compared, and the exit code says the result is
// incomplete. The flags lower and raise the limits.
func TestScanRefusesSourcesOverTheLimits(t *testing.T) {
	ns := env.Namespace(t)
	dir := t.TempDir()
	cm := func(name string, size int) string {
		s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
		if size > 0 {
			s += "data:\n  big: " + strings.Repeat("x", size) + "\n"
		}
		return s
	}
	huge := filepath.Join(dir, "huge.yaml")
	objects := filepath.Join(dir, "objects.yaml")
	writeFile(t, filepath.Join(dir, "good.yaml"), cm("good", 0))
	writeFile(t, objects, cm("small", 0)+"---\n"+cm("too-big", 3<<20+1<<19))
	// Sparse: refused by its size, or reading it would take 100 MiB.
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "good")
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "small")

	type located struct {
		Path, Object, Flag string
		Line               int
	}
	check := func(name string, args []string, wantCode int, wantErrs []located, wantMissing []string, wantObjects int) {
		t.Helper()
		code, r, stderr := scanJSON(t, ns, args...)
		var got []located
		for _, e := range r.Errors {
			flag := ""
			for _, f := range []string{"--max-source-file-size", "--max-source-object-size"} {
				if strings.Contains(e.Message, f) {
					flag = f
				}
			}
			got = append(got, located{Path: e.Path, Object: e.Object, Flag: flag, Line: e.Line})
		}
		var missing []string
		for _, f := range r.Findings {
			missing = append(missing, string(f.State)+" "+f.Name)
		}
		if diff := cmp.Diff(wantErrs, got); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s\nall: %+v", name, diff, r.Errors)
		}
		if diff := cmp.Diff(wantMissing, missing); diff != "" {
			t.Errorf("%s: findings (-want +got):\n%s", name, diff)
		}
		if code != wantCode || r.Summary.Objects != wantObjects {
			t.Errorf("%s: exit %d, want %d; summary %+v, want %d objects compared\nstderr: %s", name, code, wantCode, r.Summary, wantObjects, stderr)
		}
	}

	check("default limits", []string{"--source", dir}, ExitError, []located{
		{Path: huge, Flag: "--max-source-file-size"},
		{Path: objects, Line: 6, Object: "ConfigMap too-big", Flag: "--max-source-object-size"},
	}, nil, 2)

	// The flags, on a file of one object of 20 KiB.
	os.Remove(huge)
	os.Remove(objects)
	medium := filepath.Join(dir, "medium.yaml")
	writeFile(t, medium, cm("medium", 20<<10))
	check("file limit lowered", []string{"--source", dir, "--max-source-file-size=16Ki"}, ExitError,
		[]located{{Path: medium, Flag: "--max-source-file-size"}}, nil, 1)
	check("object limit lowered", []string{"--source", dir, "--max-source-file-size=64Ki", "--max-source-object-size=16Ki"}, ExitError,
		[]located{{Path: medium, Line: 1, Object: "ConfigMap medium", Flag: "--max-source-object-size"}}, nil, 1)
	check("both raised", []string{"--source", dir, "--max-source-file-size=64Ki", "--max-source-object-size=64Ki"}, ExitDrift,
		nil, []string{"missing medium"}, 2)

	// The table names the file and the flag too.
	code, out, stderr := run(t, "scan", "--kubeconfig", env.Kubeconfig, "-n", ns, "--source", dir, "--max-source-file-size=16Ki")
	if code != ExitError || !strings.Contains(out+stderr, medium) || !strings.Contains(out+stderr, "--max-source-file-size") {
		t.Errorf("table: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if code, _, stderr := run(t, "scan", "--source", dir, "--max-source-file-size=lots"); code != ExitError || !strings.Contains(stderr, `"lots" is not a size`) {
		t.Errorf("--max-source-file-size=lots: exit %d, stderr %s", code, stderr)
	}
}

// writeFile writes content to path or fails the test.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
