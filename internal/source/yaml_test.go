package source

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decoded is a document reduced to what tests compare.
type decoded struct {
	Line   int
	Object map[string]any
}

func summarize(docs []document) []decoded {
	var out []decoded
	for _, d := range docs {
		out = append(out, decoded{Line: d.line, Object: d.object.Object})
	}
	return out
}

// cm is a ConfigMap as decoded from YAML or JSON.
func cm(name string, data map[string]any) map[string]any {
	m := map[string]any{
		"apiVersion": "v1",
		"kind":       "ConfigMap",
		"metadata":   map[string]any{"name": name},
	}
	if data != nil {
		m["data"] = data
	}
	return m
}

func TestDecodeYAMLStream(t *testing.T) {
	const path = "m.yaml"
	tests := []struct {
		name     string
		in       string
		mode     splitMode
		wantDocs []decoded
		wantErrs []Error
	}{
		{
			name: "multi-document with comments and empty documents",
			in: `# leading comment

---
# only a comment
---

---
# about a
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
--- # separator with a comment
  
apiVersion: v1   # line 15
kind: ConfigMap
metadata: {name: b}
---
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
`,
			wantDocs: []decoded{
				{Line: 9, Object: cm("a", nil)},
				{Line: 15, Object: cm("b", nil)},
				{Line: 20, Object: cm("c", nil)},
			},
		},
		{
			name: "first document without separator, CRLF, no final newline",
			in:   "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: b",
			wantDocs: []decoded{
				{Line: 1, Object: cm("a", nil)},
				{Line: 6, Object: cm("b", nil)},
			},
		},
		{
			name: "YAML 1.1 values and JSON numbers",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  annotations:
    on: "1"
data:
  int: 3
  float: 1.5
  big: 9007199254740993
  bool: yes
  octal: 010
`,
			wantDocs: []decoded{{Line: 1, Object: map[string]any{
				"apiVersion": "v1",
				"kind":       "ConfigMap",
				"metadata":   map[string]any{"name": "a", "annotations": map[string]any{"true": "1"}}, // YAML 1.1: the key on is true,
				"data": map[string]any{
					"int":   int64(3),
					"float": 1.5,
					"big":   int64(9007199254740993),
					"bool":  true,     // YAML 1.1, as kubectl reads it
					"octal": int64(8), // YAML 1.1 octal
				},
			}}},
		},
		{
			name: "List expanded, items keep the List's line",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: before
---
# a list
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: one
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: two
---
apiVersion: v1
kind: ConfigMapList
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: three
- not an object
- kind: ConfigMap
  metadata:
    name: four
`,
			wantDocs: []decoded{
				{Line: 1, Object: cm("before", nil)},
				{Line: 7, Object: cm("one", nil)},
				{Line: 7, Object: cm("two", nil)},
				{Line: 19, Object: cm("three", nil)},
			},
			wantErrs: []Error{
				{Path: path, Line: 19, Object: "ConfigMapList", Message: "items[1] is a string, not an object"},
				{Path: path, Line: 19, Object: "ConfigMap four", Message: "items[2]: missing apiVersion"},
			},
		},
		{
			name: "empty List yields nothing",
			in:   "apiVersion: v1\nkind: List\nitems: []\n",
		},
		{
			name: "invalid YAML in the middle: absolute line, later documents load",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
# comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
   bad: indent
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
`,
			wantDocs: []decoded{
				{Line: 1, Object: cm("a", nil)},
				{Line: 13, Object: cm("c", nil)},
			},
			wantErrs: []Error{
				{Path: path, Line: 11, Message: "invalid YAML: mapping values are not allowed in this context"},
			},
		},
		{
			name: "unterminated flow sequence",
			in: `---
apiVersion: v1
kind: [
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
`,
			wantDocs: []decoded{{Line: 5, Object: cm("c", nil)}},
			wantErrs: []Error{{Path: path, Line: 3, Message: "invalid YAML: did not find expected node content"}},
		},
		{
			name: "missing fields",
			in: `kind: ConfigMap
metadata:
  name: no-api-version
---
apiVersion: v1
metadata:
  name: no-kind
  namespace: ns
---
apiVersion: v1
kind: ConfigMap
metadata:
  namespace: ns
---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  namespace: ns
---
data: {}
---
"a scalar"
`,
			wantErrs: []Error{
				{Path: path, Line: 1, Object: "ConfigMap no-api-version", Message: "missing apiVersion"},
				{Path: path, Line: 5, Object: "ns/no-kind", Message: "missing kind"},
				{Path: path, Line: 10, Object: "ConfigMap", Message: "missing metadata.name"},
				{Path: path, Line: 15, Object: "Job", Message: `missing metadata.name (metadata.generateName "migrate-" is not supported: a generated name cannot be matched to a live object)`},
				{Path: path, Line: 21, Message: "missing apiVersion, kind, metadata.name"},
				{Path: path, Line: 23, Message: "document is a string, not an object"},
			},
		},
		{
			name: "null document is empty",
			in:   "---\n~\n---\nnull\n",
		},
		{
			name: "invalid separator skips its document only",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---apiVersion: v1
kind: ConfigMap
metadata:
  name: skipped
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
`,
			wantDocs: []decoded{
				{Line: 1, Object: cm("a", nil)},
				{Line: 10, Object: cm("c", nil)},
			},
			wantErrs: []Error{
				{Path: path, Line: 5, Message: `invalid YAML document separator "---apiVersion: v1": only a comment may follow ---`},
			},
		},
		{
			name: "Helm splitting: text after --- starts the next document",
			mode: splitHelm,
			in: `
---
# Source: chart/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---apiVersion: v1
kind: ConfigMap
metadata:
  name: b
`,
			wantDocs: []decoded{
				{Line: 4, Object: cm("a", nil)},
				{Line: 8, Object: cm("b", nil)},
			},
		},
		{
			name: "byte order mark",
			in:   "\ufeffapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
			wantDocs: []decoded{
				{Line: 1, Object: cm("a", nil)},
			},
		},
		{
			name: "empty file",
			in:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var docs []document
			errs := decodeYAMLStream(path, []byte(tt.in), tt.mode, 0, func(d document) { docs = append(docs, d) })
			if diff := cmp.Diff(tt.wantDocs, summarize(docs)); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestYAMLError(t *testing.T) {
	tests := []struct {
		name    string
		start   int
		docLine int
		err     string
		want    Error
	}{
		{
			name:  "one line number",
			start: 10, docLine: 12,
			err:  "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context",
			want: Error{Path: "f", Line: 12, Message: "invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name:  "unmarshal errors with several lines",
			start: 5, docLine: 5,
			err:  "error converting YAML to JSON: yaml: unmarshal errors:\n  line 2: first\n  line 4: second",
			want: Error{Path: "f", Line: 6, Message: "invalid YAML: unmarshal errors:\n  line 6: first\n  line 8: second"},
		},
		{
			name:  "no line number points at the document",
			start: 5, docLine: 7,
			err:  "error converting YAML to JSON: yaml: control characters are not allowed",
			want: Error{Path: "f", Line: 7, Message: "invalid YAML: control characters are not allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := yamlError("f", tt.start, tt.docLine, errString(tt.err))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("yamlError (-want +got):\n%s", diff)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }
