package cluster

import (
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// QuantityType is the OpenAPI name of resource.Quantity. Every built-in
// field that holds a resource quantity refers to it (resources.limits and
// requests, a Pod's overhead, a ResourceQuota's hard, a LimitRange's
// limits, a PersistentVolume's capacity, an emptyDir's sizeLimit, an
// HPA's targets), and the converters built here make a custom resource's
// quantity fields refer to it too, so that a typed value's schema tells
// which fields compare as quantities.
const QuantityType = "io.k8s.apimachinery.pkg.api.resource.Quantity"

// quantityPattern is the validation pattern controller-gen writes for a
// resource.Quantity field of a custom resource, beside
// x-kubernetes-int-or-string: the only mark a CRD's schema carries of a
// quantity.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

// markQuantities rewrites, in place, every int-or-string schema with the
// quantity pattern into a reference to QuantityType, and adds that type if
// the document lacks it (a CRD's group-version document does). The typed
// converter treats both as an untyped scalar, so comparisons are otherwise
// unchanged.
func markQuantities(schemas map[string]*spec.Schema) {
	found := false
	for _, s := range schemas {
		found = markQuantity(s) || found
	}
	if _, ok := schemas[QuantityType]; found && !ok {
		schemas[QuantityType] = &spec.Schema{SchemaProps: spec.SchemaProps{OneOf: []spec.Schema{
			{SchemaProps: spec.SchemaProps{Type: []string{"string"}}},
			{SchemaProps: spec.SchemaProps{Type: []string{"number"}}},
		}}}
	}
}

// markQuantity is markQuantities for one schema and its descendants; it
// reports whether it rewrote any.
func markQuantity(s *spec.Schema) bool {
	if s == nil {
		return false
	}
	if v, _ := s.Extensions["x-kubernetes-int-or-string"].(bool); v && s.Pattern == quantityPattern {
		*s = spec.Schema{SchemaProps: spec.SchemaProps{Description: s.Description, Ref: spec.MustCreateRef("#/components/schemas/" + QuantityType)}}
		return true
	}
	found := false
	for k, p := range s.Properties {
		if markQuantity(&p) {
			s.Properties[k] = p
			found = true
		}
	}
	if s.AdditionalProperties != nil {
		found = markQuantity(s.AdditionalProperties.Schema) || found
	}
	if s.Items != nil {
		found = markQuantity(s.Items.Schema) || found
		for i := range s.Items.Schemas {
			found = markQuantity(&s.Items.Schemas[i]) || found
		}
	}
	for _, list := range [][]spec.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range list {
			found = markQuantity(&list[i]) || found
		}
	}
	return found
}
