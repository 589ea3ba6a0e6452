package drift

import (
	"encoding/base64"
)

// contains reports whether every field desired declares has the same value
// in live: the cheap local check that decides whether a server-side dry-run
// is needed at all. Lists must have the same length and match element by
// element, because an atomic list is replaced whole on apply. A false
// answer is never trusted as drift; it only sends the object to the
// dry-run, which has the last word (defaults, normalised quantities,
// webhooks).
func contains(desired, live any) bool { return containsAt(desired, live, "", "") }

// containsAt is contains for a value reached through the map keys
// grandparent and parent, which tell resource quantities apart from other
// strings.
func containsAt(desired, live any, grandparent, parent string) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		quantities := quantityField(grandparent, parent)
		for k, dv := range d {
			lv, ok := l[k]
			if !ok {
				return false
			}
			if quantities && EqualQuantities(dv, lv) {
				continue
			}
			if !containsAt(dv, lv, parent, k) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(d) {
			return false
		}
		for i := range d {
			if !containsAt(d[i], l[i], "", "") {
				return false
			}
		}
		return true
	}
	return equalJSON(desired, live)
}

// secretForCompare returns a copy of a Secret's desired content with
// stringData folded into data, as the API server stores it, so that a
// Secret declared with stringData passes the local check when it matches.
func secretForCompare(desired map[string]any) map[string]any {
	sd, ok := desired["stringData"].(map[string]any)
	if !ok {
		return desired
	}
	out := make(map[string]any, len(desired))
	for k, v := range desired {
		out[k] = v
	}
	delete(out, "stringData")
	data := map[string]any{}
	if d, ok := desired["data"].(map[string]any); ok {
		for k, v := range d {
			data[k] = v
		}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	out["data"] = data
	return out
}

// secretDeclarations returns a Secret's declaration with each stringData
// key also declared under data, as the server stores it, keeping
// stringData: a field path under either is then declared. Ownership of
// data.K by whoever patched stringData.K is no undeclared field.
func secretDeclarations(desired map[string]any) map[string]any {
	sd, ok := desired["stringData"].(map[string]any)
	if !ok {
		return desired
	}
	out := secretForCompare(desired)
	out["stringData"] = sd
	return out
}
