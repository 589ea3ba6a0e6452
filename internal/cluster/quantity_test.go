package cluster

import (
	"testing"

	"k8s.io/kube-openapi/pkg/validation/spec"
)

func TestMarkQuantities(t *testing.T) {
	intOrString := func(pattern string) spec.Schema {
		s := spec.Schema{SchemaProps: spec.SchemaProps{Pattern: pattern,
			AnyOf: []spec.Schema{{SchemaProps: spec.SchemaProps{Type: []string{"integer"}}}, {SchemaProps: spec.SchemaProps{Type: []string{"string"}}}}}}
		s.AddExtension("x-kubernetes-int-or-string", true)
		return s
	}
	quantity, port := intOrString(quantityPattern), intOrString("")
	list := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"array"}, Items: &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{
		Type: []string{"object"}, AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &quantity}}}}}}
	schemas := map[string]*spec.Schema{"com.example.v1.Widget": {SchemaProps: spec.SchemaProps{Type: []string{"object"},
		Properties: map[string]spec.Schema{"spec": {SchemaProps: spec.SchemaProps{Type: []string{"object"},
			Properties: map[string]spec.Schema{"size": quantity, "port": port, "limits": list}}}}}}}
	markQuantities(schemas)

	props := schemas["com.example.v1.Widget"].Properties["spec"].Properties
	ref := "#/components/schemas/" + QuantityType
	size := props["size"]
	if got := size.Ref.String(); got != ref {
		t.Errorf("size: ref %q, want %q", got, ref)
	}
	if got := props["limits"].Items.Schema.AdditionalProperties.Schema.Ref.String(); got != ref {
		t.Errorf("limits[*][*]: ref %q, want %q", got, ref)
	}
	portSchema := props["port"]
	if got := portSchema.Ref.String(); got != "" {
		t.Errorf("port, an int-or-string without the quantity pattern, became %q", got)
	}
	if _, ok := schemas[QuantityType]; !ok {
		t.Errorf("the document gained no %s definition", QuantityType)
	}
}
