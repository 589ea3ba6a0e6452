package source

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

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

// lookupCall is a template calling lookup.
var lookupCall = regexp.MustCompile(`\blookup\b`)

// callsLookup reports whether any template of ch or of its subcharts,
// helpers included, calls lookup. An offline render of such a chart
// cannot know what lookup would find, and a chart that keeps a Secret's
// value with it usually does so from a helper the Secret's own template
// only includes: every Secret value the chart renders is then unknown.
func callsLookup(ch *chart.Chart) bool {
	for _, t := range ch.Templates {
		if lookupCall.Match(t.Data) {
			return true
		}
	}
	return slices.ContainsFunc(ch.Dependencies(), callsLookup)
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

// appendSecretValues adds the values of a Secret from a chart that calls
// lookup (callsLookup): the usual way a chart keeps a password it
// generated once is to look the Secret up and reuse its value, which an
// offline render cannot, so no Secret value of such a chart is ever
// planned over a live one.
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
