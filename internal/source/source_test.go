package source

import (
	"plumb.dev/plumb/internal/realworld"

	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// realWorld is the shared real-world test data, relative to this package.
// realWorld is the shared folder of unmodified public manifests.
var realWorld = realworld.MustDir()

// loaded is an Object reduced to what most tests compare.
type loaded struct {
	Object string
	Origin Origin
}

func summarizeSet(s Set) []loaded {
	var out []loaded
	for _, o := range s.Objects {
		o.Origin.Root = "" // TestOriginRoot
		out = append(out, loaded{Object: objectRef(o.Object), Origin: o.Origin})
	}
	return out
}

// TestOriginRoot: every object names the source it was loaded from, as
// given, whatever file inside it declared it.
func TestOriginRoot(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app/a.yaml":              configMap("a"),
		"app/deeper/b.yaml":       configMap("b"),
		"k/kustomization.yaml":    "resources: [../base]\n",
		"base/kustomization.yaml": "resources: [c.yaml]\n",
		"base/c.yaml":             configMap("c"),
		"single.yaml":             configMap("d"),
	})
	app, k, single := filepath.Join(root, "app"), filepath.Join(root, "k"), filepath.Join(root, "single.yaml")
	set := Load(context.Background(), []string{app, k, single}, Options{})
	want := map[string]string{"a": app, "b": app, "c": k, "d": single}
	for _, o := range set.Objects {
		if got := o.Origin.Root; got != want[o.Object.GetName()] {
			t.Errorf("%s: root %q, want %q (declared in %s)", o.Object.GetName(), got, want[o.Object.GetName()], o.Origin.Path)
		}
	}
	if len(set.Objects) != 4 || len(set.Errors) != 0 {
		t.Errorf("%d objects, errors %v", len(set.Objects), set.Errors)
	}
}

// writeFiles writes files (path relative to root → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatalf("mkdir: %v", err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
	}
}

// configMap returns a ConfigMap manifest.
func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
}

func TestOriginString(t *testing.T) {
	tests := []struct {
		in   Origin
		want string
	}{
		{Origin{Path: "a.yaml", Line: 3}, "a.yaml:3"},
		{Origin{Path: "k/kustomization.yaml", Kustomization: "k"}, "k/kustomization.yaml"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorError(t *testing.T) {
	tests := []struct {
		in   Error
		want string
	}{
		{Error{Path: "a.yaml", Line: 3, Object: "ConfigMap ns/a", Message: "bad"}, "a.yaml:3: ConfigMap ns/a: bad"},
		{Error{Path: "a.yaml", Message: "bad"}, "a.yaml: bad"},
		{Error{Object: "ConfigMap a", Message: "bad"}, "ConfigMap a: bad"},
		{Error{Message: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.in.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadPaths(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"one.yml":               configMap("one"),
		"notes.txt":             "not a manifest",
		"dir/b.yaml":            configMap("b") + "---\n" + configMap("b2"),
		"dir/a.json":            `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}`,
		"dir/c/d.YAML":          "# upper-case extension\n" + configMap("d"),
		"dir/c/readme.md":       "ignored",
		"dir/.hidden.yaml":      configMap("hidden"),
		"dir/.git/config.yaml":  configMap("git"),
		"dir/e.yaml":            "apiVersion: v1\nkind: ConfigMap\n",
		"dir/f.yaml":            "# nothing here\n",
		"dir/z/values.yaml.bak": "ignored",
	})
	if err := os.Symlink(filepath.Join(root, "one.yml"), filepath.Join(root, "dir", "link.yaml")); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	dir := filepath.Join(root, "dir")
	one := filepath.Join(root, "one.yml")
	missing := filepath.Join(root, "missing.yaml")
	txt := filepath.Join(root, "notes.txt")

	got := Load(context.Background(), []string{one, dir, missing, txt, one}, Options{})

	want := []loaded{
		{Object: "ConfigMap one", Origin: Origin{Path: one, Line: 1}},
		{Object: "ConfigMap a", Origin: Origin{Path: filepath.Join(dir, "a.json"), Line: 1}},
		{Object: "ConfigMap b", Origin: Origin{Path: filepath.Join(dir, "b.yaml"), Line: 1}},
		{Object: "ConfigMap b2", Origin: Origin{Path: filepath.Join(dir, "b.yaml"), Line: 6}},
		{Object: "ConfigMap d", Origin: Origin{Path: filepath.Join(dir, "c", "d.YAML"), Line: 2}},
		{Object: "ConfigMap one", Origin: Origin{Path: filepath.Join(dir, "link.yaml"), Line: 1}},
		// No duplicate detection here: the same file twice loads twice.
		{Object: "ConfigMap one", Origin: Origin{Path: one, Line: 1}},
	}
	if diff := cmp.Diff(want, summarizeSet(got)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	wantErrs := []Error{
		{Path: filepath.Join(dir, "e.yaml"), Line: 1, Object: "ConfigMap", Message: "missing metadata.name"},
		{Path: missing, Message: "no such file or directory"},
		{Path: txt, Message: `unsupported file type ".txt": want a directory or a .yaml, .yml or .json file`},
	}
	if diff := cmp.Diff(wantErrs, got.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoadMixedDirectory(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app.yaml": configMap("plain"),
		// A kustomize root: built, not walked (cm.yaml would load twice and
		// kustomization.yaml would be an error).
		"base/kustomization.yaml": "resources:\n- cm.yaml\nnamePrefix: k-\nnamespace: kns\n",
		"base/cm.yaml":            configMap("cm"),
		"base/nested/x.yaml":      configMap("not-walked"),
		// A chart: rendered, not walked.
		"chart/Chart.yaml":  "apiVersion: v2\nname: mini\nversion: 0.1.0\n",
		"chart/values.yaml": "greeting: hello\n",
		"chart/templates/cm.yaml": `# Source comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
  namespace: {{ .Release.Namespace }}
data:
  greeting: {{ .Values.greeting }}
  install: {{ .Release.IsInstall | quote }}
`,
		"chart/templates/_helpers.tpl": `{{- define "mini.name" -}}mini{{- end -}}`,
		"chart/templates/NOTES.txt":    "Thanks for installing {{ .Chart.Name }}",
		"chart/templates/empty.yaml":   "{{- if false }}\nnever\n{{- end }}\n",
		"chart/templates/hook.yaml":    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n",
		"chart/templates/multi.yaml":   "{{- range list \"x\" \"y\" }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include \"mini.name\" $ }}-{{ . }}\n{{- end }}\n",
		"chart/crds/crd.yaml":          "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n",
		"chart/plain.yaml":             configMap("not-walked"),
	})

	got := Load(context.Background(), []string{root}, Options{})

	chartDir := filepath.Join(root, "chart")
	base := filepath.Join(root, "base")
	want := []loaded{
		{Object: "ConfigMap plain", Origin: Origin{Path: filepath.Join(root, "app.yaml"), Line: 1}},
		{Object: "ConfigMap kns/k-cm", Origin: Origin{Path: filepath.Join(base, "cm.yaml"), Line: 1, Kustomization: base}},
		{Object: "ConfigMap default/mini-cm", Origin: Origin{Path: filepath.Join(chartDir, "templates", "cm.yaml"), Line: 2, Chart: "mini-0.1.0"}},
		{Object: "Secret mini-x", Origin: Origin{Path: filepath.Join(chartDir, "templates", "multi.yaml"), Line: 3, Chart: "mini-0.1.0"}},
		{Object: "Secret mini-y", Origin: Origin{Path: filepath.Join(chartDir, "templates", "multi.yaml"), Line: 8, Chart: "mini-0.1.0"}},
	}
	if diff := cmp.Diff(want, summarizeSet(got)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Error(nil), got.Errors, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	wantData := map[string]any{"greeting": "hello", "install": "true"}
	if diff := cmp.Diff(wantData, got.Objects[2].Object.Object["data"]); diff != "" {
		t.Errorf("chart ConfigMap data (-want +got):\n%s", diff)
	}
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := Load(ctx, []string{filepath.Join(realWorld, "microservices-demo")}, Options{})
	if diff := cmp.Diff(Set{}, got); diff != "" {
		t.Errorf("Load after cancel (-want +got):\n%s", diff)
	}
}

func TestLoadMicroservicesDemo(t *testing.T) {
	path := filepath.Join(realWorld, "microservices-demo", "release", "kubernetes-manifests.yaml")
	got := Load(context.Background(), []string{path}, Options{})
	if len(got.Errors) != 0 {
		t.Fatalf("errors: %v", got.Errors)
	}
	if len(got.Objects) != 35 {
		t.Errorf("got %d objects, want 35", len(got.Objects))
	}
	// Line numbers checked by hand against the file.
	wantSome := map[int]string{
		21:  "Deployment frontend",
		114: "Service frontend",
		129: "Service frontend-external",
		441: "Deployment loadgenerator",
		976: "ServiceAccount productcatalogservice",
	}
	kinds := map[string]int{}
	for _, o := range got.Objects {
		kinds[o.Object.GetKind()]++
		if want, ok := wantSome[o.Origin.Line]; ok {
			if got := objectRef(o.Object); got != want {
				t.Errorf("line %d: got %s, want %s", o.Origin.Line, got, want)
			}
			delete(wantSome, o.Origin.Line)
		}
	}
	if len(wantSome) != 0 {
		t.Errorf("no objects at lines: %v", wantSome)
	}
	if diff := cmp.Diff(map[string]int{"Deployment": 12, "Service": 12, "ServiceAccount": 11}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	checkLinesStartDocuments(t, path, got.Objects)
}

func TestLoadIngressNginx(t *testing.T) {
	path := filepath.Join(realWorld, "ingress-nginx", "deploy", "static", "provider", "cloud", "deploy.yaml")
	got := Load(context.Background(), []string{path}, Options{})
	if len(got.Errors) != 0 {
		t.Fatalf("errors: %v", got.Errors)
	}
	if len(got.Objects) != 19 {
		t.Errorf("got %d objects, want 19", len(got.Objects))
	}
	checkLinesStartDocuments(t, path, got.Objects)
}

// checkLinesStartDocuments checks, against the file itself, that each
// object's line is an apiVersion or kind line at the top level of a
// document (these files put one of the two first).
func checkLinesStartDocuments(t *testing.T, path string, objs []Object) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read: %v", err)
	}
	for _, o := range objs {
		n := o.Origin.Line
		if n < 1 || n > len(lines) {
			t.Errorf("%s: line %d out of range", objectRef(o.Object), n)
			continue
		}
		if l := lines[n-1]; !strings.HasPrefix(l, "apiVersion:") && !strings.HasPrefix(l, "kind:") {
			t.Errorf("%s: line %d is %q, want the document's first line", objectRef(o.Object), n, l)
		}
	}
}

// TestEachAndEncoded: Each hands over what Load collects, in the same
// order, and LoadEncoded's objects decode to the same (integers stay
// int64, as decoded from a file).
func TestEachAndEncoded(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
		"b.json":   `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}`,
		"bad.yaml": "kind: ConfigMap\n",
	})
	ctx := context.Background()
	set := Load(ctx, []string{dir}, Options{})
	var each []Object
	errs := Each(ctx, []string{dir}, Options{}, func(o Object) { each = append(each, o) })
	if diff := cmp.Diff(set.Objects, each); diff != "" {
		t.Errorf("Each (-Load +Each):\n%s", diff)
	}
	if diff := cmp.Diff(set.Errors, errs); diff != "" || len(errs) != 1 {
		t.Errorf("Each's errors (-Load +Each):\n%s", diff)
	}
	enc, encErrs := LoadEncoded(ctx, []string{dir}, Options{})
	if diff := cmp.Diff(set.Errors, encErrs); diff != "" || len(enc) != len(set.Objects) {
		t.Fatalf("LoadEncoded: %d of %d objects, errors (-Load +LoadEncoded):\n%s", len(enc), len(set.Objects), diff)
	}
	for i, e := range enc {
		got, err := e.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(set.Objects[i], got); diff != "" {
			t.Errorf("object %d after Encode and Decode (-want +got):\n%s", i, diff)
		}
	}
}

// TestLoadNoObjects: an empty folder, or a file of comments only, is an
// error naming it, so that a scan of it is never "in sync".
func TestLoadNoObjects(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"full/a.yaml": configMap("a"), "comments.yaml": "# nothing here\n"})
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	comments := filepath.Join(root, "comments.yaml")
	got := Load(context.Background(), []string{empty, filepath.Join(root, "full"), comments}, Options{})
	want := []Error{{Path: empty, Message: NoObjectsMessage}, {Path: comments, Message: NoObjectsMessage}}
	if diff := cmp.Diff(want, got.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
