package policy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writePolicy(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "guardrails.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const userPolicy = `apiVersion: plumb.dev/v1alpha1
kind: GuardrailPolicy
metadata: {name: shop}
spec:
  rules:
    - name: no-latest-tag
      match: {apiGroups: [apps], kinds: [Deployment]}
      expression: "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"
      message: images must be pinned to a version
    - name: keep-two-replicas-in-prod
      match: {apiGroups: [apps], kinds: [Deployment], namespaces: [prod]}
      expression: "operation == 'DELETE' || !has(object.spec.replicas) || object.spec.replicas >= 2"
      message: prod Deployments keep at least two replicas
      severity: warn
    - name: no-configmap-deletes
      match: {kinds: [ConfigMap]}
      expression: "operation != 'DELETE' || oldObject.metadata.name.startsWith('tmp-')"
`

func TestUserRules(t *testing.T) {
	rules, err := LoadFile(writePolicy(t, userPolicy))
	if err != nil {
		t.Fatal(err)
	}
	before := objs(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: prod}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: tmp-cache, namespace: prod}
`)
	after := objs(t, strings.ReplaceAll(strings.Replace(deploy, "nginx:1.27", "nginx:latest", 1), "namespace: shop", "namespace: prod")+`---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: staging}
spec: {replicas: 1, template: {spec: {containers: [{name: api, image: "api:1.2"}]}}}
`)
	after[0].Object["spec"].(map[string]any)["replicas"] = int64(1)
	vs := Evaluate(context.Background(), Diff(declared(before), declared(after)), rules, Options{})
	want := []string{
		"no-configmap-deletes | deny | ConfigMap/settings | 0 | refused by operation != 'DELETE' || oldObject.metadata.name.startsWith('tmp-')",
		"no-latest-tag | deny | Deployment/web | 0 | images must be pinned to a version",
		"keep-two-replicas-in-prod | warn | Deployment/web | 0 | prod Deployments keep at least two replicas",
	}
	if diff := cmp.Diff(want, fired(vs)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

func TestUserRuleErrorsNameFileAndRule(t *testing.T) {
	p := writePolicy(t, `apiVersion: plumb.dev/v1alpha1
kind: GuardrailPolicy
spec:
  rules:
    - name: fine
      expression: "true"
    - name: typo
      expression: "object.spec.replicas >"
    - name: not-a-bool
      expression: "'yes'"
    - name: loud
      expression: "true"
      severity: fatal
`)
	_, err := LoadFile(p)
	if err == nil {
		t.Fatal("a file with broken rules loaded")
	}
	for _, want := range []string{p + `:7: rule "typo": expression does not compile`, p + `:9: rule "not-a-bool": expression gives string`, p + `:11: rule "loud": severity "fatal"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	if _, err := LoadFile(writePolicy(t, "apiVersion: plumb.dev/v1alpha1\nkind: GuardrailPolicy\nspec:\n  rulez: []\n")); err == nil || !strings.Contains(err.Error(), "line 4: field rulez not found") {
		t.Errorf("unknown field: %v", err)
	}
	// Rules written as a ValidatingAdmissionPolicy's validations, where
	// the help's wording leads someone who knows them: the error says
	// where they go instead.
	vp := writePolicy(t, "apiVersion: plumb.dev/v1alpha1\nkind: GuardrailPolicy\nspec:\n  validations:\n    - expression: \"true\"\n")
	if _, err := LoadFile(vp); err == nil || !strings.Contains(err.Error(), vp+":4: spec.validations: a GuardrailPolicy lists its rules under spec.rules") {
		t.Errorf("spec.validations: %v", err)
	}
	vap := writePolicy(t, "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nspec: {}\n")
	if _, err := LoadFile(vap); err == nil || !strings.Contains(err.Error(), "does not read ValidatingAdmissionPolicies themselves") {
		t.Errorf("a ValidatingAdmissionPolicy: %v", err)
	}
}
