package drift

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// IgnoreRule drops changes that are expected. A change is dropped when its
// object's kind matches Kinds and its path lies under one of Paths, or its
// live owner matches one of Managers (Argo CD's managedFieldsManagers).
type IgnoreRule struct {
	// Kinds are "Kind" or "group/Kind" ("apps/Deployment"); "*" or none
	// means every kind.
	Kinds []string `json:"kinds,omitempty"`
	// Paths accept kubectl's notation (.spec.replicas,
	// .spec.template.spec.containers[name="web"].image, [*] for any list
	// element, ["dotted.key"] for keys with dots) and JSON Pointer
	// (/spec/replicas, /metadata/annotations/example.com~1owner), as
	// written for Flux and Argo CD. A path covers everything below it.
	Paths []string `json:"paths,omitempty"`
	// Managers are field manager names or path.Match patterns.
	Managers []string `json:"managers,omitempty"`
	// Reason is shown in debug logs when the rule drops a change.
	Reason string `json:"reason,omitempty"`
}

// DefaultIgnoreRules are fields that are expected to move. Each says why.
var DefaultIgnoreRules = []IgnoreRule{
	{Paths: []string{".status"}, Reason: "status is written by controllers, never declared"},
	{Paths: []string{".metadata.generation", ".metadata.resourceVersion", ".metadata.uid", ".metadata.creationTimestamp", ".metadata.managedFields", ".metadata.selfLink"},
		Reason: "server bookkeeping"},
	{Paths: []string{`.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]`},
		Reason: "kubectl's client-side apply records its input here; the fields themselves are compared"},
	{Paths: []string{`.metadata.annotations["argocd.argoproj.io/tracking-id"]`},
		Reason: "Argo CD adds its tracking annotation to every object it applies; the source never declares it"},
	{Paths: []string{`.metadata.labels["kustomize.toolkit.fluxcd.io/name"]`, `.metadata.labels["kustomize.toolkit.fluxcd.io/namespace"]`,
		`.metadata.labels["helm.toolkit.fluxcd.io/name"]`, `.metadata.labels["helm.toolkit.fluxcd.io/namespace"]`},
		Reason: "Flux adds its tracking labels to every object it applies; the source never declares them"},
	{Kinds: []string{"apps/Deployment"}, Paths: []string{`.metadata.annotations["deployment.kubernetes.io/revision"]`},
		Reason: "the Deployment controller counts rollouts here"},
	{Kinds: []string{"apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet"},
		Paths:  []string{`.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]`},
		Reason: "kubectl rollout restart restarts pods and declares nothing"},
	{Kinds: []string{"admissionregistration.k8s.io/ValidatingWebhookConfiguration", "admissionregistration.k8s.io/MutatingWebhookConfiguration"},
		Paths:  []string{".webhooks[*].clientConfig.caBundle"},
		Reason: "injected by certificate tools (cert-manager's cainjector, ingress-nginx's admission job)"},
	{Kinds: []string{"apiextensions.k8s.io/CustomResourceDefinition"}, Paths: []string{".spec.conversion.webhook.clientConfig.caBundle"},
		Reason: "injected by certificate tools"},
	{Kinds: []string{"apiregistration.k8s.io/APIService"}, Paths: []string{".spec.caBundle"},
		Reason: "injected by certificate tools"},
}

// hpaReplicasReason explains the rule the engine adds per object that a
// HorizontalPodAutoscaler targets.
const hpaReplicasReason = "a HorizontalPodAutoscaler owns .spec.replicas of its target"

// compiledRule is an IgnoreRule with parsed paths.
type compiledRule struct {
	rule  IgnoreRule
	paths [][]segment
}

// segment is one step of an ignore path pattern.
type segment struct {
	field    string            // a field name; "*" any field
	index    int               // a list position; -1 none
	keys     map[string]string // a list element by key fields, values as literals
	value    *string           // a set element by value, as a literal
	anyElem  bool              // [*]
	isField  bool              // field or numeric JSON Pointer step
	numField bool              // a numeric JSON Pointer step: field "N" or index N
}

func compileRules(rules []IgnoreRule) ([]compiledRule, error) {
	out := make([]compiledRule, 0, len(rules))
	for _, r := range rules {
		cr := compiledRule{rule: r}
		for _, p := range r.Paths {
			segs, err := ParsePath(p)
			if err != nil {
				return nil, err
			}
			cr.paths = append(cr.paths, segs)
		}
		out = append(out, cr)
	}
	return out, nil
}

// ParsePath parses an ignore path in kubectl's notation or JSON Pointer.
func ParsePath(p string) ([]segment, error) {
	switch {
	case strings.HasPrefix(p, "/"):
		return parsePointer(p), nil
	case strings.HasPrefix(p, "."), strings.HasPrefix(p, "["):
		return parseKubectl(p)
	}
	return nil, fmt.Errorf("path %q: want kubectl's notation (.spec.replicas) or a JSON Pointer (/spec/replicas)", p)
}

func parsePointer(p string) []segment {
	var segs []segment
	for _, raw := range strings.Split(p[1:], "/") {
		tok := strings.ReplaceAll(strings.ReplaceAll(raw, "~1", "/"), "~0", "~")
		s := segment{field: tok, index: -1, isField: true}
		if n, err := strconv.Atoi(tok); err == nil && n >= 0 {
			s.index, s.numField = n, true
		}
		if tok == "*" {
			s.anyElem = true
		}
		segs = append(segs, s)
	}
	return segs
}

func parseKubectl(p string) ([]segment, error) {
	var segs []segment
	bad := func(msg string) error { return fmt.Errorf("path %q: %s", p, msg) }
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			j := i + 1
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if j == i+1 {
				return nil, bad("empty field name")
			}
			segs = append(segs, segment{field: p[i+1 : j], index: -1, isField: true})
			i = j
		case '[':
			j, err := closingBracket(p, i)
			if err != nil {
				return nil, bad(err.Error())
			}
			s, err := parseBracket(p[i+1 : j])
			if err != nil {
				return nil, bad(err.Error())
			}
			segs = append(segs, s)
			i = j + 1
		default:
			return nil, bad(fmt.Sprintf("unexpected %q at offset %d", p[i], i))
		}
	}
	return segs, nil
}

// closingBracket finds the ] that closes the [ at i, skipping quoted text.
func closingBracket(p string, i int) (int, error) {
	inQuote := false
	for j := i + 1; j < len(p); j++ {
		switch {
		case p[j] == '\\' && inQuote:
			j++
		case p[j] == '"':
			inQuote = !inQuote
		case p[j] == ']' && !inQuote:
			return j, nil
		}
	}
	return 0, fmt.Errorf("unclosed [")
}

func parseBracket(in string) (segment, error) {
	s := segment{index: -1}
	switch {
	case in == "*":
		s.anyElem = true
	case strings.HasPrefix(in, `"`):
		f, err := strconv.Unquote(in)
		if err != nil {
			return s, fmt.Errorf("bad quoted key %s", in)
		}
		s.field, s.isField = f, true
	case strings.HasPrefix(in, "="):
		v := in[1:]
		s.value = &v
	case strings.Contains(in, "="):
		s.keys = map[string]string{}
		for _, kv := range splitOutsideQuotes(in, ',') {
			k, v, _ := strings.Cut(kv, "=")
			s.keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	default:
		n, err := strconv.Atoi(in)
		if err != nil || n < 0 {
			return s, fmt.Errorf("bad list selector [%s]", in)
		}
		s.index = n
	}
	return s, nil
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// kindMatches reports whether gk is one of kinds ("Kind", "group/Kind", "*").
func kindMatches(kinds []string, gk schema.GroupKind) bool {
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if k == "*" || k == gk.Kind || k == gk.Group+"/"+gk.Kind {
			return true
		}
	}
	return false
}

// matchPrefix reports whether pattern covers p (p equals it or lies below).
// live resolves list positions for patterns that name elements by index.
func matchPrefix(pattern []segment, p fieldpath.Path, live map[string]any) bool {
	if len(pattern) > len(p) {
		return false
	}
	for i, s := range pattern {
		if !s.matches(p, i, live) {
			return false
		}
	}
	return true
}

func (s segment) matches(p fieldpath.Path, i int, live map[string]any) bool {
	pe := p[i]
	if pe.FieldName != nil {
		return s.isField && (s.field == "*" || s.field == *pe.FieldName)
	}
	// pe is a list element.
	switch {
	case s.anyElem:
		return true
	case s.keys != nil:
		if pe.Key == nil || len(*pe.Key) != len(s.keys) {
			return false
		}
		for _, f := range *pe.Key {
			want, ok := s.keys[f.Name]
			if !ok || (want != literal(f.Value.Unstructured()) && want != fmt.Sprint(f.Value.Unstructured())) {
				return false
			}
		}
		return true
	case s.value != nil:
		return pe.Value != nil && (*s.value == literal((*pe.Value).Unstructured()) || *s.value == fmt.Sprint((*pe.Value).Unstructured()))
	case s.index >= 0:
		if pe.Index != nil {
			return *pe.Index == s.index
		}
		return elementIndex(live, p[:i+1]) == s.index
	}
	return false
}

// elementIndex finds the position of the list element p names in obj.
func elementIndex(obj map[string]any, p fieldpath.Path) int {
	parent, ok := resolve(obj, p[:len(p)-1])
	if !ok {
		return -1
	}
	list, ok := parent.([]any)
	if !ok {
		return -1
	}
	el, ok := step(list, p[len(p)-1])
	if !ok {
		return -1
	}
	for i := range list {
		if equalJSON(list[i], el) {
			return i
		}
	}
	return -1
}

// elementIndex is the position in l of the element s names (by key
// fields, by value or by position), or -1.
func (s segment) elementIndex(l []any) int {
	switch {
	case s.keys != nil:
		for i, el := range l {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			match := true
			for k, want := range s.keys {
				v, ok := m[k]
				if !ok || (literal(v) != want && fmt.Sprint(v) != want) {
					match = false
					break
				}
			}
			if match {
				return i
			}
		}
	case s.value != nil:
		for i, el := range l {
			if literal(el) == *s.value || fmt.Sprint(el) == *s.value {
				return i
			}
		}
	case s.index >= 0 && s.index < len(l):
		return s.index
	}
	return -1
}
