package source

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// generatingFuncs are the template functions whose output differs from one
// render to the next: sprig's random strings, UUIDs, keys and certificates,
// the time, and lookup, which finds nothing when rendering offline and so
// usually falls back to one of the others.
var generatingFuncs = regexp.MustCompile(`\b(rand[A-Za-z]*|uuidv4|genCA|genCAWithKey|genPrivateKey|genSelfSignedCert|genSelfSignedCertWithKey|genSignedCert|genSignedCertWithKey|now|lookup)\b`)

// generates reports whether any template of ch, or of its subcharts, may
// generate values; only such charts are rendered twice.
func generates(ch *chart.Chart) bool {
	for _, t := range ch.Templates {
		if generatingFuncs.Match(t.Data) {
			return true
		}
	}
	return slices.ContainsFunc(ch.Dependencies(), generates)
}

// usesLookup reports whether the template rendered as name (chart name,
// then its path, as the engine names files) calls lookup.
func usesLookup(ch *chart.Chart, name string) bool {
	prefix := ch.Name() + "/"
	for _, t := range ch.Templates {
		if prefix+t.Name == name {
			return strings.Contains(string(t.Data), "lookup")
		}
	}
	for _, sub := range ch.Dependencies() {
		if rest, ok := strings.CutPrefix(name, prefix+"charts/"); ok && usesLookup(sub, rest) {
			return true
		}
	}
	return false
}

// generatedFields lists, in kubectl's notation, the leaves whose values
// differ between two renders of one object, lists by position; a list or
// map whose shape differs is one field.
func generatedFields(a, b map[string]any) []string {
	var out []string
	var walk func(x, y any, path string)
	walk = func(x, y any, path string) {
		switch xv := x.(type) {
		case map[string]any:
			yv, ok := y.(map[string]any)
			if !ok || len(xv) != len(yv) {
				out = append(out, path)
				return
			}
			for k, v := range xv {
				w, ok := yv[k]
				if !ok {
					out = append(out, path)
					return
				}
				walk(v, w, path+fieldStep(k))
			}
		case []any:
			yv, ok := y.([]any)
			if !ok || len(xv) != len(yv) {
				out = append(out, path)
				return
			}
			for i := range xv {
				walk(xv[i], yv[i], path+"["+strconv.Itoa(i)+"]")
			}
		default:
			if fmt.Sprint(x) != fmt.Sprint(y) {
				out = append(out, path)
			}
		}
	}
	walk(a, b, "")
	slices.Sort(out)
	return out
}

// plainKey is a map key kubectl's notation writes after a dot.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func fieldStep(k string) string {
	if plainKey.MatchString(k) {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// appendSecretValues adds the values of a Secret from a template that calls
// lookup: the usual way a chart keeps a password it generated once is to
// look the Secret up and reuse its value, which an offline render cannot.
func appendSecretValues(paths []string, u *unstructured.Unstructured) []string {
	if u.GetAPIVersion() != "v1" || u.GetKind() != "Secret" {
		return paths
	}
	for _, field := range []string{"data", "stringData"} {
		m, _, _ := unstructured.NestedMap(u.Object, field)
		for k := range m {
			p := "." + field + fieldStep(k)
			if !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	slices.Sort(paths)
	return paths
}
