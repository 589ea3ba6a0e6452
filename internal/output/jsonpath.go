package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// The -o prefixes of a JSONPath template, kubectl's: the template given on
// the command line, or read from a file.
const (
	jsonPathPrefix     = "jsonpath="
	jsonPathFilePrefix = "jsonpath-file="
)

// IsTemplate reports whether format is a JSONPath template
// (jsonpath=TEMPLATE or jsonpath-file=FILE).
func IsTemplate(format string) bool {
	return strings.HasPrefix(format, jsonPathPrefix) || strings.HasPrefix(format, jsonPathFilePrefix)
}

// Template parses the JSONPath template of format, as kubectl -o
// jsonpath does: keys that are missing print nothing, and a template
// without braces is taken as one expression ("{.items[*].name}").
func Template(format string) (*jsonpath.JSONPath, error) {
	text, ok := strings.CutPrefix(format, jsonPathPrefix)
	if !ok {
		file, _ := strings.CutPrefix(format, jsonPathFilePrefix)
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-o jsonpath-file: %w", err)
		}
		text = string(b)
	}
	if text == "" {
		return nil, fmt.Errorf("-o %s: the template is empty", format)
	}
	if !strings.Contains(text, "{") {
		text = "{" + text + "}"
	}
	jp := jsonpath.New("output").AllowMissingKeys(true)
	if err := jp.Parse(text); err != nil {
		return nil, fmt.Errorf("-o %s: %w", format, err)
	}
	return jp, nil
}

// executeTemplate writes v, as its JSON, through the template of format.
func executeTemplate(w io.Writer, v any, format string) error {
	jp, err := Template(format)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var data any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return err
	}
	if err := jp.Execute(w, data); err != nil {
		return fmt.Errorf("-o %s: %w", format, err)
	}
	return nil
}
