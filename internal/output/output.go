// Package output writes plumb's data documents (reports, skew reports,
// version information) in the machine formats every command offers with
// -o: indented JSON and YAML, with the same field names, taken from the
// types' JSON tags, and kubectl's JSONPath templates applied to the JSON
// (-o jsonpath=TEMPLATE, -o jsonpath-file=FILE).
//
// It must not shape the documents it writes: their fields are their types'.
package output

import (
	"encoding/json"
	"io"

	"sigs.k8s.io/yaml"
)

// Data writes v as "json", "yaml" or through a JSONPath template
// (IsTemplate) and reports whether format was one of them; other formats
// are the caller's to render.
func Data(w io.Writer, v any, format string) (bool, error) {
	if IsTemplate(format) {
		return true, executeTemplate(w, v, format)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	}
	return false, nil
}
