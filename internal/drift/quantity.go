package drift

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/schema"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"plumb.dev/plumb/internal/cluster"
)

// Resource quantities are compared by value, never by spelling: 1Gi and
// 1073741824, 300m and 0.3, are the same quantity, and the server keeps
// whichever spelling it was sent. A server-side apply dry-run does not help
// here: it keeps the live spelling unless the applier's differs, and then
// the two compare unequal as strings.

// quantityAt reports whether the field at p of a value typed like tv holds
// a resource quantity, from the schema the cluster publishes (see
// cluster.QuantityType: built-in quantity fields, and a custom resource's
// int-or-string fields with the quantity pattern). Where the server
// publishes no schema, the field names decide (quantityField).
func quantityAt(tv *typed.TypedValue, p fieldpath.Path) bool {
	tr, ok := typeAt(tv.Schema(), tv.TypeRef(), p)
	return ok && quantityType(tr, p)
}

// equivalentAt reports whether a and b, the values at p of objects typed
// like tv, are the same once every quantity in them is compared by
// amount: a quantity field, or an atomic list or map holding quantities (an
// HPA's metrics).
func equivalentAt(tv *typed.TypedValue, p fieldpath.Path, a, b any) bool {
	tr, ok := typeAt(tv.Schema(), tv.TypeRef(), p)
	return ok && equivalent(tv.Schema(), tr, p, a, b)
}

// typeAt walks the schema from tr along p.
func typeAt(s *schema.Schema, tr schema.TypeRef, p fieldpath.Path) (schema.TypeRef, bool) {
	for _, pe := range p {
		var ok bool
		if tr, ok = child(s, tr, pe); !ok {
			return tr, false
		}
	}
	return tr, true
}

// child is the type of one step down from tr.
func child(s *schema.Schema, tr schema.TypeRef, pe fieldpath.PathElement) (schema.TypeRef, bool) {
	atom, ok := s.Resolve(tr)
	switch {
	case !ok:
		return tr, false
	case pe.FieldName != nil && atom.Map != nil:
		if f, ok := atom.Map.FindField(*pe.FieldName); ok {
			return f.Type, true
		}
		return atom.Map.ElementType, true
	case pe.FieldName == nil && atom.List != nil:
		return atom.List.ElementType, true
	}
	return tr, false
}

// quantityType reports whether tr, the type of the field at p, is a
// quantity.
func quantityType(tr schema.TypeRef, p fieldpath.Path) bool {
	if tr.NamedType == nil {
		return false
	}
	if name := *tr.NamedType; name != cluster.QuantityType {
		return deduced(name) && namedQuantity(p)
	}
	return true
}

// equivalent compares a and b of type tr at p, quantities by amount.
func equivalent(s *schema.Schema, tr schema.TypeRef, p fieldpath.Path, a, b any) bool {
	if quantityType(tr, p) {
		return EqualQuantities(a, b) || equalJSON(a, b)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok {
				return false
			}
			pe := fieldpath.PathElement{FieldName: &k}
			ctr, ok := child(s, tr, pe)
			if !ok {
				if !equalJSON(x, y) {
					return false
				}
				continue
			}
			if !equivalent(s, ctr, append(p[:len(p):len(p)], pe), x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			pe := fieldpath.PathElement{Index: &i}
			ctr, ok := child(s, tr, pe)
			if !ok {
				if !equalJSON(av[i], bv[i]) {
					return false
				}
				continue
			}
			if !equivalent(s, ctr, append(p[:len(p):len(p)], pe), av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return equalJSON(a, b)
}

// deduced reports whether a type is structured-merge-diff's stand-in for
// a value without a schema.
func deduced(name string) bool { return strings.HasPrefix(name, "__untyped") }

// namedQuantity is quantityField for a full path.
func namedQuantity(p fieldpath.Path) bool {
	n := len(p)
	return n >= 3 && p[n-3].FieldName != nil && p[n-2].FieldName != nil && quantityField(*p[n-3].FieldName, *p[n-2].FieldName)
}

// quantityField reports whether the map reached through grandparent.parent
// holds resource quantities, by name alone: resources.limits and
// resources.requests of containers, claims and volume claims, a
// ResourceQuota's hard limits and a PersistentVolume's capacity. It serves
// the local check and values without a schema; elsewhere a string that
// looks like a number is only a string ("1" and "1.0" in a ConfigMap
// differ).
func quantityField(grandparent, parent string) bool {
	return grandparent == "resources" && (parent == "limits" || parent == "requests") ||
		grandparent == "spec" && (parent == "hard" || parent == "capacity" || parent == "overhead")
}

// EqualQuantities reports whether a and b are the same resource quantity,
// however each is spelt (a string such as "1Gi" or "300m", or a number).
func EqualQuantities(a, b any) bool {
	qa, err := quantity(a)
	if err != nil {
		return false
	}
	qb, err := quantity(b)
	return err == nil && qa.Cmp(qb) == 0
}

func quantity(v any) (resource.Quantity, error) {
	switch n := v.(type) {
	case string:
		return resource.ParseQuantity(n)
	case int64:
		return *resource.NewQuantity(n, resource.DecimalSI), nil
	case int:
		return *resource.NewQuantity(int64(n), resource.DecimalSI), nil
	case float64:
		return resource.ParseQuantity(strconv.FormatFloat(n, 'f', -1, 64))
	}
	return resource.Quantity{}, fmt.Errorf("not a quantity: %v", v)
}

// setAt writes v at p, a field of a map, if the map exists; it reports
// whether it did.
// putAt is setAt that also makes the maps p passes through when they are
// missing (a removed annotation was the object's last one), and appends a
// list element p names by key or value when the list lacks it (a removed
// port); it gives up at a missing list element on the way.
func putAt(obj map[string]any, p fieldpath.Path, v any) bool {
	for i := 1; i < len(p); i++ {
		if _, ok := resolve(obj, p[:i]); ok || p[i-1].FieldName == nil {
			continue
		}
		parent, ok := resolve(obj, p[:i-1])
		m, isMap := parent.(map[string]any)
		if !ok || !isMap {
			return false
		}
		m[*p[i-1].FieldName] = map[string]any{}
	}
	if last := p[len(p)-1]; len(p) >= 2 && (last.Key != nil || last.Value != nil) {
		if _, ok := resolve(obj, p); ok {
			return false
		}
		list, _ := resolve(obj, p[:len(p)-1])
		l, isList := list.([]any)
		if list != nil && !isList {
			return false
		}
		return setAt(obj, p[:len(p)-1], append(l, v))
	}
	return setAt(obj, p, v)
}

func setAt(obj map[string]any, p fieldpath.Path, v any) bool {
	if len(p) == 0 || p[len(p)-1].FieldName == nil {
		return false
	}
	parent, ok := resolve(obj, p[:len(p)-1])
	if !ok {
		return false
	}
	m, ok := parent.(map[string]any)
	if ok {
		m[*p[len(p)-1].FieldName] = v
	}
	return ok
}
