package snapshot

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"plumb.dev/plumb/internal/drift"
)

// withoutValues takes a cleaned Secret's values out and declares its data
// by keys and hash instead (drift.DataKeysAnnotation and
// drift.DataHashAnnotation), from the live Secret's data.
func withoutValues(key []byte, u, live *unstructured.Unstructured) error {
	delete(u.Object, "data")
	delete(u.Object, "stringData")
	data, _, _ := unstructured.NestedMap(live.Object, "data")
	hash, err := drift.SecretDataHash(key, data)
	if err != nil {
		return err
	}
	a := u.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[drift.DataHashAnnotation] = hash
	a[drift.DataKeysAnnotation] = drift.SecretDataKeys(data)
	u.SetAnnotations(a)
	return nil
}

// secretHeader is written above a Secret's manifest: how to supply the
// values it does not hold. A name or namespace the API server would not
// take for a Secret (a newline in it would end the comment) is written as
// NAME or NAMESPACE.
func secretHeader(u *unstructured.Unstructured) string {
	name, ns := u.GetName(), u.GetNamespace()
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		name = "NAME"
	}
	if len(validation.IsDNS1123Label(ns)) > 0 {
		ns = "NAMESPACE"
	}
	return fmt.Sprintf(`# Written by plumb snapshot WITHOUT VALUES: the data keys are in
# %s and a hash of the data in %s, so that
# plumb scan finds a change, and plumb fix never creates or changes this Secret.
# To create it elsewhere, supply the values, e.g.
#   kubectl create secret generic %s -n %s --from-literal=KEY=VALUE ...
# or replace this file with the real Secret (or a SealedSecret or ExternalSecret).
`, drift.DataKeysAnnotation, drift.DataHashAnnotation, name, ns)
}
