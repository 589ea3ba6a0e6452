package source

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStdin: the path "-" loads Options.Stdin, YAML or a JSON stream,
// named <stdin> with its lines; without Stdin it is an error, and
// ReadStdin refuses more than the file limit.
func TestStdin(t *testing.T) {
	yaml := "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b\n"
	set := Load(context.Background(), []string{Stdin}, Options{Stdin: []byte(yaml)})
	if diff := cmp.Diff([]loaded{{Object: "ConfigMap a", Origin: Origin{Path: StdinName, Line: 2}}}, summarizeSet(set)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(set.Errors) != 1 || !strings.HasPrefix(set.Errors[0].Error(), "<stdin>:8: invalid YAML") {
		t.Errorf("errors %v, want one at <stdin>:8", set.Errors)
	}
	set = Load(context.Background(), []string{Stdin}, Options{Stdin: []byte(` {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"}}`)})
	if len(set.Objects) != 2 || len(set.Errors) != 0 {
		t.Errorf("a JSON stream: %d objects, errors %v; want 2, none", len(set.Objects), set.Errors)
	}
	if set := Load(context.Background(), []string{Stdin}, Options{}); len(set.Errors) != 1 || set.Errors[0].Path != StdinName {
		t.Errorf("without Stdin: %v", set.Errors)
	}
	if _, err := ReadStdin(strings.NewReader(strings.Repeat("x", 11)), 10); err == nil || !strings.Contains(err.Error(), "<stdin>: file is larger than") {
		t.Errorf("ReadStdin over the limit: %v", err)
	}
	if data, err := ReadStdin(strings.NewReader(""), 10); err != nil || data == nil {
		t.Errorf("ReadStdin of nothing: %q, %v; want empty, not nil", data, err)
	}
}
