package source

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// document is one decoded object and the line where its document starts.
type document struct {
	object *unstructured.Unstructured
	line   int
}

// decodeJSONDocument decodes one JSON document that starts at line of path
// into objects, expanding a List into its items. JSON numbers become int64
// when they are integers and float64 otherwise, as in kubectl. A null
// document is empty and yields nothing. An object larger than maxObject
// bytes encoded as JSON is an Error; maxObject 0 is no limit.
func decodeJSONDocument(path string, line int, data []byte, maxObject int64) ([]document, []Error) {
	// Only a document over the limit can hold an object over it: the
	// others are not measured again.
	big := maxObject > 0 && int64(len(data)) > maxObject
	tooLarge := func(m map[string]any) string {
		if !big {
			return ""
		}
		if n := jsonSize(m); n > maxObject {
			return objectTooLarge(n, maxObject)
		}
		return ""
	}
	var v any
	if err := utiljson.Unmarshal(data, &v); err != nil {
		return nil, []Error{{Path: path, Line: line, Message: "invalid JSON: " + err.Error()}}
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, []Error{{Path: path, Line: line, Message: fmt.Sprintf("document is %s, not an object", jsonType(v))}}
	}
	u := &unstructured.Unstructured{Object: m}
	if !isList(u) {
		if msg := validate(u); msg != "" {
			return nil, []Error{{Path: path, Line: line, Object: objectRef(u), Message: msg}}
		}
		if msg := tooLarge(m); msg != "" {
			return nil, []Error{{Path: path, Line: line, Object: objectRef(u), Message: msg}}
		}
		return []document{{object: u, line: line}}, nil
	}

	// A List stands for its items, which keep the List's line.
	var (
		docs []document
		errs []Error
	)
	items, _ := m["items"].([]any)
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok {
			errs = append(errs, Error{Path: path, Line: line, Object: objectRef(u), Message: fmt.Sprintf("items[%d] is %s, not an object", i, jsonType(it))})
			continue
		}
		item := &unstructured.Unstructured{Object: im}
		if msg := validate(item); msg != "" {
			errs = append(errs, Error{Path: path, Line: line, Object: objectRef(item), Message: fmt.Sprintf("items[%d]: %s", i, msg)})
			continue
		}
		if msg := tooLarge(im); msg != "" {
			errs = append(errs, Error{Path: path, Line: line, Object: objectRef(item), Message: fmt.Sprintf("items[%d]: %s", i, msg)})
			continue
		}
		docs = append(docs, document{object: item, line: line})
	}
	return docs, errs
}

// isList reports whether u is a List to expand: kind "List", or any kind
// ending in "List" with an items array (such as ConfigMapList).
func isList(u *unstructured.Unstructured) bool {
	kind := u.GetKind()
	if kind == "List" {
		return true
	}
	_, ok := u.Object["items"].([]any)
	return ok && strings.HasSuffix(kind, "List")
}

// validate returns what makes u unusable as a desired object, or "" if
// nothing does.
func validate(u *unstructured.Unstructured) string {
	var missing []string
	if !hasString(u.Object, "apiVersion") {
		missing = append(missing, "apiVersion")
	}
	if !hasString(u.Object, "kind") {
		missing = append(missing, "kind")
	}
	if u.GetName() == "" {
		if g := u.GetGenerateName(); g != "" {
			// An object with only generateName gets a new name each time it
			// is created, so there is no live object to compare it with.
			missing = append(missing, fmt.Sprintf("metadata.name (metadata.generateName %q is not supported: a generated name cannot be matched to a live object)", g))
		} else {
			missing = append(missing, "metadata.name")
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "missing " + strings.Join(missing, ", ")
}

// hasString reports whether m[key] is a non-empty string.
func hasString(m map[string]any, key string) bool {
	s, ok := m[key].(string)
	return ok && s != ""
}

// objectRef names u as "Kind namespace/name" or "Kind name", leaving out
// what is not known.
func objectRef(u *unstructured.Unstructured) string {
	kind, _ := u.Object["kind"].(string)
	return ref(kind, u.GetNamespace(), u.GetName())
}

// ref names an object as "Kind namespace/name" or "Kind name", leaving out
// what is empty.
func ref(kind, namespace, name string) string {
	if namespace != "" && name != "" {
		name = namespace + "/" + name
	}
	return strings.TrimSpace(kind + " " + name)
}

// jsonType names the JSON type of v for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
