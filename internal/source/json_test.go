package source

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecodeJSONStream(t *testing.T) {
	const path = "m.json"
	tests := []struct {
		name     string
		in       string
		wantDocs []decoded
		wantErrs []Error
	}{
		{
			name: "one object, tab-indented, numbers",
			in: "\n{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"ConfigMap\",\n\t\"metadata\": {\"name\": \"a\"},\n" +
				"\t\"data\": {\"int\": 3, \"float\": 1.5, \"big\": 9007199254740993}\n}\n",
			wantDocs: []decoded{{Line: 2, Object: cm("a", map[string]any{
				"int":   int64(3),
				"float": 1.5,
				"big":   int64(9007199254740993),
			})}},
		},
		{
			name: "stream of objects and a List",
			in: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
]}

  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}
`,
			wantDocs: []decoded{
				{Line: 1, Object: cm("a", nil)},
				{Line: 2, Object: cm("b", nil)},
				{Line: 2, Object: cm("c", nil)},
				{Line: 7, Object: cm("d", nil)},
			},
		},
		{
			name: "syntax error ends the file",
			in: `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
{
  "apiVersion": "v1",
  "kind": "ConfigMap",,
}
{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lost"}}
`,
			wantDocs: []decoded{{Line: 1, Object: cm("a", nil)}},
			wantErrs: []Error{{Path: path, Line: 4, Message: "invalid JSON: invalid character ',' looking for beginning of object key string"}},
		},
		{
			name:     "truncated",
			in:       "{\"apiVersion\": \"v1\",\n",
			wantErrs: []Error{{Path: path, Line: 2, Message: "invalid JSON: unexpected EOF"}},
		},
		{
			name:     "array is not an object",
			in:       `[{"apiVersion": "v1"}]`,
			wantErrs: []Error{{Path: path, Line: 1, Message: "document is an array, not an object"}},
		},
		{
			name:     "missing name",
			in:       `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "ns"}}`,
			wantErrs: []Error{{Path: path, Line: 1, Object: "ConfigMap", Message: "missing metadata.name"}},
		},
		{
			name: "null and empty",
			in:   "null\n  \n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var docs []document
			errs := decodeJSONStream(path, []byte(tt.in), 0, func(d document) { docs = append(docs, d) })
			if diff := cmp.Diff(tt.wantDocs, summarize(docs)); diff != "" {
				t.Errorf("documents (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrs, errs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
