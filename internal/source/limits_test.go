package source

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// configMapOfSize returns a ConfigMap manifest whose data holds a value of
// n bytes.
func configMapOfSize(name string, n int) string {
	return configMap(name) + "data:\n  big: " + strings.Repeat("x", n) + "\n"
}

// refusal is an Error reduced to what the limit tests compare; the
// message's start and the flag it names are checked apart.
type refusal struct {
	Path   string
	Line   int
	Object string
}

// checkRefusals compares errs with want, each message starting with
// wantStart[i] and naming the flag that raises the limit.
func checkRefusals(t *testing.T, errs []Error, want []refusal, wantStart []string) {
	t.Helper()
	var got []refusal
	for i, e := range errs {
		got = append(got, refusal{Path: e.Path, Line: e.Line, Object: e.Object})
		if i < len(wantStart) && !strings.Contains(e.Message, wantStart[i]) {
			t.Errorf("error %d: %q, want it to contain %q", i, e.Message, wantStart[i])
		}
		if !strings.Contains(e.Message, FileSizeFlag) && !strings.Contains(e.Message, ObjectSizeFlag) {
			t.Errorf("error %d: %q names no flag that raises the limit", i, e.Message)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nall: %v", diff, errs)
	}
}

// names returns the names of the loaded objects, in order.
func names(s Set) []string {
	var out []string
	for _, o := range s.Objects {
		out = append(out, o.Object.GetName())
	}
	return out
}

// TestLoadRefusesFileOverLimit: a file over the file limit is an error
// naming it, its size and the flag that raises the limit; the source's
// other files still load; with the limit raised the file loads.
func TestLoadRefusesFileOverLimit(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"a.yaml":   configMap("a"),
		"big.yaml": configMapOfSize("big", 3000),
		"big.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big-json"},"data":{"big":"` + strings.Repeat("x", 3000) + `"}}`,
		"z.yaml":   configMap("z"),
	})
	limits := Limits{File: 2 << 10}

	set := Load(context.Background(), []string{root}, Options{Limits: limits})
	if diff := cmp.Diff([]string{"a", "z"}, names(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	checkRefusals(t, set.Errors,
		[]refusal{{Path: filepath.Join(root, "big.json")}, {Path: filepath.Join(root, "big.yaml")}},
		[]string{"file is 3.0 KiB (3087 bytes), over the 2 KiB limit on a source file: raise it with --max-source-file-size",
			"file is 3.0 KiB (3067 bytes), over the 2 KiB limit"})

	limits.File = 4 << 10
	set = Load(context.Background(), []string{root}, Options{Limits: limits})
	if diff := cmp.Diff([]string{"a", "big-json", "big", "z"}, names(set)); diff != "" || len(set.Errors) > 0 {
		t.Errorf("with the limit raised: objects (-want +got):\n%s\nerrors: %v", diff, set.Errors)
	}
}

// TestLoadRefusesLargeFileUnread: a 100 MiB file is refused by its size
// with the default limits: the file is sparse, and the message gives its
// exact size, which only Stat knows before reading.
func TestLoadRefusesLargeFileUnread(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	set := Load(context.Background(), []string{p}, Options{})
	checkRefusals(t, set.Errors, []refusal{{Path: p}},
		[]string{"file is 100 MiB, over the 32 MiB limit on a source file: raise it with --max-source-file-size"})
}

// TestLoadRefusesGrowingFile: a file with no size that goes on past the
// limit (a pipe) is read no further than the limit and refused.
func TestLoadRefusesGrowingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe.yaml")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		chunk := []byte(strings.Repeat("# endless\n", 100))
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the reader stopped: the test passes if it refused
			}
		}
	}()
	set := Load(context.Background(), []string{p}, Options{Limits: Limits{File: 64 << 10}})
	<-done
	checkRefusals(t, set.Errors, []refusal{{Path: p}},
		[]string{"file is larger than the 64 KiB limit on a source file: raise it with --max-source-file-size"})
}

// TestLoadRefusesObjectOverLimit: one object over the object limit, in a
// file under the file limit, is an error naming the file, the document's
// line and the object; the other objects of the file load; a List's item
// is refused alone; with the limit raised they all load.
func TestLoadRefusesObjectOverLimit(t *testing.T) {
	root := t.TempDir()
	bigJSON := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big-json"},"data":{"big":"` + strings.Repeat("x", 3000) + `"}}`
	writeFiles(t, root, map[string]string{
		"a.yaml": configMap("before") + "---\n" + configMapOfSize("big", 3000) + "---\n" + configMap("after"),
		"b.yaml": "apiVersion: v1\nkind: List\nitems:\n- " +
			strings.ReplaceAll(strings.TrimSuffix(configMap("item-small"), "\n"), "\n", "\n  ") + "\n- " +
			strings.ReplaceAll(strings.TrimSuffix(configMapOfSize("item-big", 3000), "\n"), "\n", "\n  ") + "\n",
		"c.json": `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"json-small"}}` + "\n" + bigJSON + "\n",
	})
	limits := Limits{Object: 2 << 10}
	set := Load(context.Background(), []string{root}, Options{Limits: limits})
	if diff := cmp.Diff([]string{"before", "after", "item-small", "json-small"}, names(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	checkRefusals(t, set.Errors, []refusal{
		{Path: filepath.Join(root, "a.yaml"), Line: 6, Object: "ConfigMap big"},
		{Path: filepath.Join(root, "b.yaml"), Line: 1, Object: "ConfigMap item-big"},
		{Path: filepath.Join(root, "c.json"), Line: 2, Object: "ConfigMap big-json"},
	}, []string{
		"object is 3.0 KiB (3082 bytes) as JSON, over the 2 KiB limit on one object: raise it with --max-source-object-size",
		"items[1]: object is 3.0 KiB",
		"object is 3.0 KiB",
	})

	limits.Object = 4 << 10
	set = Load(context.Background(), []string{root}, Options{Limits: limits})
	if len(set.Objects) != 7 || len(set.Errors) > 0 {
		t.Errorf("with the limit raised: objects %v, errors %v", names(set), set.Errors)
	}
}

// TestDefaultObjectLimit: with the default limits, an object of 3 MiB as
// JSON loads and one a byte larger does not: the API server would refuse
// the request.
func TestDefaultObjectLimit(t *testing.T) {
	root := t.TempDir()
	// The ConfigMap's JSON is its value plus this much.
	overhead := len(`{"apiVersion":"v1","data":{"big":""},"kind":"ConfigMap","metadata":{"name":"fits"}}`)
	writeFiles(t, root, map[string]string{
		"fits.yaml": configMapOfSize("fits", int(DefaultMaxObjectSize)-overhead),
		"over.yaml": configMapOfSize("over", int(DefaultMaxObjectSize)-overhead+1),
	})
	set := Load(context.Background(), []string{root}, Options{})
	if diff := cmp.Diff([]string{"fits"}, names(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	checkRefusals(t, set.Errors, []refusal{{Path: filepath.Join(root, "over.yaml"), Line: 1, Object: "ConfigMap over"}},
		[]string{"object is 3.0 MiB (3145729 bytes) as JSON, over the 3 MiB limit on one object (the API server refuses a larger request)"})
}

// TestKustomizeAndChartLimits: a file a kustomization reads is held to the
// file limit (the build fails naming it), an object kustomize or a chart
// makes to the object limit, and a Helm values file to the file limit.
func TestKustomizeAndChartLimits(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"k-file/kustomization.yaml": "resources: [small.yaml, big.yaml]\n",
		"k-file/small.yaml":         configMap("small"),
		"k-file/big.yaml":           configMapOfSize("big", 5000),
		// Generated in memory from a small kustomization: only the object
		// limit can catch it.
		"k-object/kustomization.yaml": "resources: [small.yaml]\nconfigMapGenerator:\n- name: generated\n  literals: [big=" + strings.Repeat("x", 3000) + "]\n  options: {disableNameSuffixHash: true}\n",
		"k-object/small.yaml":         configMap("k-small"),
		"chart/Chart.yaml":            "apiVersion: v2\nname: mini\nversion: 0.1.0\n",
		"chart/templates/cm.yaml":     configMap("chart-small") + "---\n" + configMap("chart-big") + "data:\n  big: {{ repeat 3000 \"x\" }}\n",
	})
	limits := Limits{File: 4 << 10, Object: 2 << 10}
	kFile, kObject, chart := filepath.Join(root, "k-file"), filepath.Join(root, "k-object"), filepath.Join(root, "chart")
	set := Load(context.Background(), []string{kFile, kObject, chart}, Options{Limits: limits})
	if diff := cmp.Diff([]string{"k-small", "chart-small"}, names(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	checkRefusals(t, set.Errors, []refusal{
		{Path: filepath.Join(kFile, "kustomization.yaml")},
		{Path: filepath.Join(kObject, "kustomization.yaml"), Object: "ConfigMap generated"},
		{Path: filepath.Join(chart, "templates", "cm.yaml"), Line: 6, Object: "ConfigMap chart-big"},
	}, []string{
		filepath.Join(kFile, "big.yaml") + ": file is 4.9 KiB (5067 bytes), over the 4 KiB limit on a source file",
		"object is 3.2 KiB (3237 bytes) as JSON",
		"object is 3.0 KiB (3088 bytes) as JSON",
	})

	values := filepath.Join(root, "values.yaml")
	writeFiles(t, root, map[string]string{"values.yaml": "pad: " + strings.Repeat("x", 5000) + "\n"})
	set = Load(context.Background(), []string{chart}, Options{Limits: limits, Values: []string{values}})
	if len(set.Objects) != 0 || len(set.Errors) != 2 || set.Errors[0].Path != values ||
		!strings.HasPrefix(set.Errors[0].Message, "read Helm values: file is 4.9 KiB (5006 bytes), over the 4 KiB limit on a source file: raise it with --max-source-file-size") {
		t.Errorf("a values file over the limit: objects %v, errors %v", names(set), set.Errors)
	}
}

func TestParseAndFormatSize(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "32Mi", want: 32 << 20},
		{in: "3145728", want: 3 << 20},
		{in: "1G", want: 1e9},
		{in: "0", wantErr: true},
		{in: "-1Mi", wantErr: true},
		{in: "lots", wantErr: true},
		{in: "100Ei", wantErr: true},
	} {
		got, err := ParseSize(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for n, want := range map[int64]string{32 << 20: "32Mi", 3 << 20: "3Mi", 1000: "1k", 1 << 30: "1Gi"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseSize(FormatSize(n)); back != n || err != nil {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
		}
	}
	for n, want := range map[int64]string{10: "10 B", 2048: "2 KiB", 3<<20 + 1: "3.0 MiB (3145729 bytes)", 100 << 20: "100 MiB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
