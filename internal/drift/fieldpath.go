package drift

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// plainField is a map key kubectl's notation can write after a dot.
var plainField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// kubectlPath renders p in kubectl's notation:
// .spec.template.spec.containers[name="web"].image,
// .metadata.annotations["example.com/owner"], .spec.args[0],
// .metadata.finalizers[="example.com/protect"].
func kubectlPath(p fieldpath.Path) string {
	var b strings.Builder
	for _, pe := range p {
		switch {
		case pe.FieldName != nil:
			if plainField.MatchString(*pe.FieldName) {
				b.WriteString("." + *pe.FieldName)
			} else {
				b.WriteString("[" + strconv.Quote(*pe.FieldName) + "]")
			}
		case pe.Key != nil:
			b.WriteString("[")
			for i, f := range *pe.Key {
				if i > 0 {
					b.WriteString(",")
				}
				b.WriteString(f.Name + "=" + literal(f.Value.Unstructured()))
			}
			b.WriteString("]")
		case pe.Value != nil:
			b.WriteString("[=" + literal((*pe.Value).Unstructured()) + "]")
		case pe.Index != nil:
			b.WriteString("[" + strconv.Itoa(*pe.Index) + "]")
		}
	}
	if b.Len() == 0 {
		return "."
	}
	return b.String()
}

func literal(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// resolve walks obj along p without a schema: list elements are found by
// their key field values (or value, or index) as managedFields name them.
// A key field the element does not set matches any value, because the
// server defaults list keys (a port's protocol) before it records them.
func resolve(obj any, p fieldpath.Path) (any, bool) {
	cur := obj
	for _, pe := range p {
		next, ok := step(cur, pe)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// FieldValue returns the value at p in obj, found as managedFields name it
// (see resolve).
func FieldValue(obj map[string]any, p fieldpath.Path) (any, bool) { return resolve(obj, p) }

func step(cur any, pe fieldpath.PathElement) (any, bool) {
	switch {
	case pe.FieldName != nil:
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[*pe.FieldName]
		return v, ok
	case pe.Key != nil:
		l, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		for _, el := range l {
			if m, ok := el.(map[string]any); ok && keyMatches(m, *pe.Key) {
				return el, true
			}
		}
	case pe.Value != nil:
		l, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		want := (*pe.Value).Unstructured()
		for _, el := range l {
			if equalJSON(el, want) {
				return el, true
			}
		}
	case pe.Index != nil:
		l, ok := cur.([]any)
		if ok && *pe.Index >= 0 && *pe.Index < len(l) {
			return l[*pe.Index], true
		}
	}
	return nil, false
}

func keyMatches(m map[string]any, key value.FieldList) bool {
	matched := 0
	for _, f := range key {
		v, ok := m[f.Name]
		if !ok {
			continue
		}
		if !equalJSON(v, f.Value.Unstructured()) {
			return false
		}
		matched++
	}
	return matched > 0
}

// isKeyField reports whether the last element of p names a field that is
// part of its list element's key (owning the element implies owning it).
func isKeyField(p fieldpath.Path) bool {
	if len(p) < 2 || p[len(p)-1].FieldName == nil || p[len(p)-2].Key == nil {
		return false
	}
	for _, f := range *p[len(p)-2].Key {
		if f.Name == *p[len(p)-1].FieldName {
			return true
		}
	}
	return false
}

// declares reports whether the desired object sets the field at p (or, for
// a list key field, the element it belongs to).
func declares(desired map[string]any, p fieldpath.Path) bool {
	if isKeyField(p) {
		p = p[:len(p)-1]
	}
	_, ok := resolve(desired, p)
	return ok
}

// leaves lists the paths of s that name fields, without the "." entries
// managedFields use to mark ownership of a map or list element that the
// set also descends into.
func leaves(s *fieldpath.Set) []fieldpath.Path {
	var out []fieldpath.Path
	var walk func(node *fieldpath.Set, prefix fieldpath.Path)
	walk = func(node *fieldpath.Set, prefix fieldpath.Path) {
		node.Members.Iterate(func(pe fieldpath.PathElement) {
			if _, hasChildren := node.Children.Get(pe); !hasChildren {
				out = append(out, append(prefix.Copy(), pe))
			}
		})
		node.Children.Iterate(func(pe fieldpath.PathElement) {
			child, _ := node.Children.Get(pe)
			walk(child, append(prefix.Copy(), pe))
		})
	}
	walk(s, nil)
	return out
}

// topmostMissing returns, for each path in paths, the prefix that obj
// lacks, deduplicated and sorted: a list element that is missing as a whole
// (a removed container) is one change, not one per field. Map fields are
// never collapsed: a label added where the source declares no labels is
// .metadata.labels.team, not .metadata.labels, so that ignore rules and
// readers see the key.
func topmostMissing(obj map[string]any, paths []fieldpath.Path) []fieldpath.Path {
	seen := map[string]bool{}
	var out []fieldpath.Path
	for _, p := range paths {
		for i := 1; i <= len(p); i++ {
			if _, ok := resolve(obj, p[:i]); ok {
				continue
			}
			if p[i-1].FieldName != nil && i < len(p) && !beforeListElement(p, i) {
				continue
			}
			prefix := p[:i].Copy()
			if k := prefix.String(); !seen[k] {
				seen[k] = true
				out = append(out, prefix)
			}
			break
		}
	}
	sortPaths(out)
	return out
}

// beforeListElement reports whether p[:i] is a list whose element p[i] is:
// a list missing whole is reported as the list, not per element.
func beforeListElement(p fieldpath.Path, i int) bool {
	return i < len(p) && p[i].FieldName == nil
}

func sortPaths(ps []fieldpath.Path) {
	sort.Slice(ps, func(i, j int) bool { return ps[i].Compare(ps[j]) < 0 })
}

// equalJSON compares two decoded JSON values, treating integral floats and
// integers alike (YAML and JSON decoders disagree on which they produce).
func equalJSON(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	return 0, false
}

// ValueAt returns the value at a path in kubectl's notation (as Change.Path
// writes it) in obj, without a schema.
func ValueAt(obj map[string]any, path string) (any, bool) {
	v, _, ok := walk(obj, path)
	return v, ok
}

// JSONPointer turns a path in kubectl's notation into the JSON Pointer
// (RFC 6901) of the same field in obj, with list elements by position: the
// path a JSON patch against obj needs. ok is false if obj has no such field.
func JSONPointer(obj map[string]any, path string) (string, bool) {
	_, ptr, ok := walk(obj, path)
	return ptr, ok && ptr != ""
}

// PutValue writes v at a path in kubectl's notation in obj, making the
// maps the path passes through when they are missing; a list element on
// the way must exist. It reports whether it wrote v.
func PutValue(obj map[string]any, path string, v any) bool {
	segs, err := ParsePath(path)
	if err != nil || len(segs) == 0 || !segs[len(segs)-1].isField {
		return false
	}
	var cur any = obj
	for i, s := range segs {
		last := i == len(segs)-1
		if s.isField {
			m, ok := cur.(map[string]any)
			if !ok {
				return false
			}
			if last {
				m[s.field] = v
				return true
			}
			next, ok := m[s.field]
			if !ok && segs[i+1].isField {
				next = map[string]any{}
				m[s.field] = next
			}
			cur = next
			continue
		}
		l, ok := cur.([]any)
		if !ok {
			return false
		}
		j := s.elementIndex(l)
		if j < 0 {
			return false
		}
		cur = l[j]
	}
	return false
}

// walk follows path through obj, returning the value and its pointer.
func walk(obj map[string]any, path string) (any, string, bool) {
	if path == "." {
		return obj, "", true
	}
	segs, err := ParsePath(path)
	if err != nil {
		return nil, "", false
	}
	var cur any = obj
	var ptr strings.Builder
	for _, s := range segs {
		switch {
		case s.isField:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, "", false
			}
			if cur, ok = m[s.field]; !ok {
				return nil, "", false
			}
			ptr.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(s.field))
		default:
			l, ok := cur.([]any)
			if !ok {
				return nil, "", false
			}
			i := s.elementIndex(l)
			if i < 0 {
				return nil, "", false
			}
			cur = l[i]
			ptr.WriteString("/" + strconv.Itoa(i))
		}
	}
	return cur, ptr.String(), true
}
