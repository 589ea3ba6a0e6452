package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"go.yaml.in/yaml/v3"
)

// File is a policy file: user rules, each written as a Kubernetes
// ValidatingAdmissionPolicy's validation is (a CEL expression, true when
// the change is allowed, and a message), with a name, a match and a
// severity, listed under spec.rules.
//
//	apiVersion: plumb.dev/v1alpha1
//	kind: GuardrailPolicy
//	spec:
//	  rules:
//	    - name: no-latest-tag
//	      match: {apiGroups: [apps], kinds: [Deployment], namespaces: [prod]}
//	      expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"
//	      message: images must be pinned
//	      severity: deny
type File struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   yaml.Node  `yaml:"metadata"`
	Spec       PolicySpec `yaml:"spec"`
}

// PolicySpec holds the rules.
type PolicySpec struct {
	Rules []UserRule `yaml:"rules"`
}

// UserRule is one CEL rule of a policy file.
type UserRule struct {
	// Name names the rule in reports. Required, unique in the file.
	Name  string `yaml:"name"`
	Match Match  `yaml:"match"`
	// Expression is CEL over object (the object after the change; null for
	// a delete), oldObject (before; null for a create) and operation
	// (CREATE, UPDATE or DELETE); true means the change is allowed.
	Expression string `yaml:"expression"`
	// Message says why a change is refused. Default: the expression.
	Message string `yaml:"message"`
	// Severity is deny (the default) or warn.
	Severity Severity `yaml:"severity"`
}

// Match says which objects a rule looks at; an empty list matches all,
// and "*" in a list matches anything.
type Match struct {
	APIGroups  []string `yaml:"apiGroups"`
	Kinds      []string `yaml:"kinds"`
	Namespaces []string `yaml:"namespaces"`
}

func (m Match) matches(c Change) bool {
	o := c.Object()
	in := func(list []string, v string) bool {
		return len(list) == 0 || slices.Contains(list, "*") || slices.Contains(list, v)
	}
	gvk := o.GroupVersionKind()
	return in(m.APIGroups, gvk.Group) && in(m.Kinds, gvk.Kind) && in(m.Namespaces, o.GetNamespace())
}

// APIVersion and Kind of a policy file.
const (
	APIVersion = "plumb.dev/v1alpha1"
	Kind       = "GuardrailPolicy"
)

// LoadFile reads a policy file and compiles its rules. Every mistake is
// named with the file, and the rule and its line where there is one; a
// file with any mistake gives no rules.
func LoadFile(path string) ([]Rule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		if line, ok := validationsLine(b); ok {
			return nil, fmt.Errorf("%s:%d: spec.validations: a GuardrailPolicy lists its rules under spec.rules, each written as a ValidatingAdmissionPolicy's validation is (expression, message) with a name and a match; see docs/check.md", path, line)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.APIVersion != APIVersion || f.Kind != Kind {
		msg := fmt.Sprintf("%s: want apiVersion %s and kind %s, got %q and %q", path, APIVersion, Kind, f.APIVersion, f.Kind)
		if f.Kind == "ValidatingAdmissionPolicy" {
			msg += "; plumb check does not read ValidatingAdmissionPolicies themselves: write their validations as the rules of a GuardrailPolicy (see docs/check.md)"
		}
		return nil, errors.New(msg)
	}
	lines := ruleLines(b)
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("operation", cel.StringType),
	)
	if err != nil {
		return nil, err
	}
	var errs []error
	var out []Rule
	seen := map[string]bool{}
	for i, ur := range f.Spec.Rules {
		where := fmt.Sprintf("%s:%d: rule %q", path, lineOf(lines, i), ur.Name)
		switch {
		case ur.Name == "":
			errs = append(errs, fmt.Errorf("%s:%d: spec.rules[%d]: name is required", path, lineOf(lines, i), i))
			continue
		case seen[ur.Name]:
			errs = append(errs, fmt.Errorf("%s: the name is used twice", where))
			continue
		case ur.Expression == "":
			errs = append(errs, fmt.Errorf("%s: expression is required", where))
			continue
		}
		seen[ur.Name] = true
		if ur.Severity == "" {
			ur.Severity = SeverityDeny
		}
		if ur.Severity != SeverityDeny && ur.Severity != SeverityWarn {
			errs = append(errs, fmt.Errorf("%s: severity %q: want deny or warn", where, ur.Severity))
			continue
		}
		ast, iss := env.Compile(ur.Expression)
		if iss.Err() != nil {
			errs = append(errs, fmt.Errorf("%s: expression does not compile: %w", where, iss.Err()))
			continue
		}
		if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
			errs = append(errs, fmt.Errorf("%s: expression gives %s; it must give a bool (true: allowed)", where, t))
			continue
		}
		prg, err := env.Program(ast)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		out = append(out, celRule(ur, prg))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// celRule turns a compiled user rule into a Rule. An expression that
// cannot be evaluated on a change (a field it reads is absent) refuses
// the change, as an admission policy that fails closed does.
func celRule(ur UserRule, prg cel.Program) Rule {
	msg := ur.Message
	if msg == "" {
		msg = "refused by " + ur.Expression
	}
	return Rule{Name: ur.Name, Severity: ur.Severity, Description: msg, Check: func(c Change) []string {
		if !ur.Match.matches(c) {
			return nil
		}
		vars := map[string]any{"object": nil, "oldObject": nil, "operation": string(c.Operation)}
		if c.New != nil {
			vars["object"] = c.New.Object
		}
		if c.Old != nil {
			vars["oldObject"] = c.Old.Object
		}
		val, _, err := prg.Eval(vars)
		if err != nil {
			return []string{fmt.Sprintf("%s (the rule could not be evaluated: %v)", msg, err)}
		}
		if b, ok := val.(types.Bool); ok && bool(b) {
			return nil
		}
		if _, ok := val.(types.Bool); !ok {
			return []string{fmt.Sprintf("%s (the rule gave %v, not a bool)", msg, val)}
		}
		return []string{msg}
	}}
}

// validationsLine is the line of spec.validations, where someone who knows
// ValidatingAdmissionPolicies would put the rules.
func validationsLine(b []byte) (int, bool) {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return 0, false
	}
	spec := mapValue(doc.Content[0], "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return 0, false
	}
	for i := 0; i+1 < len(spec.Content); i += 2 {
		if spec.Content[i].Value == "validations" {
			return spec.Content[i].Line, true
		}
	}
	return 0, false
}

// mapValue is the value of key in the mapping n; nil when there is none.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// ruleLines returns the line of each item of spec.rules.
func ruleLines(b []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	rules := mapValue(mapValue(doc.Content[0], "spec"), "rules")
	if rules == nil {
		return nil
	}
	out := make([]int, len(rules.Content))
	for i, r := range rules.Content {
		out[i] = r.Line
	}
	return out
}

func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}
