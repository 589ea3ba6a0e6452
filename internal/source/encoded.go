package source

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Encoded is an object kept as JSON with its origin, for callers that hold
// many objects for a while before they use them one by one (plumb serve
// holds its sources from load until the cluster answers): about a sixth of
// the memory of the decoded object.
type Encoded struct {
	JSON   []byte
	Origin Origin
}

// Encode returns o as JSON.
func Encode(o Object) (Encoded, error) {
	b, err := json.Marshal(o.Object.Object)
	if err != nil {
		return Encoded{}, fmt.Errorf("encode as JSON: %w", err)
	}
	return Encoded{JSON: b, Origin: o.Origin}, nil
}

// EncodeAll encodes objs; an object that cannot be encoded (it holds a
// value JSON has no form for) is an Error naming it.
func EncodeAll(objs []Object) ([]Encoded, []Error) {
	out := make([]Encoded, 0, len(objs))
	var errs []Error
	for _, o := range objs {
		out, errs = appendEncoded(out, errs, o)
	}
	return out, errs
}

// LoadEncoded loads like Load and encodes each object as soon as it is
// decoded (see Each): a large source is never held decoded all at once.
func LoadEncoded(ctx context.Context, paths []string, opts Options) ([]Encoded, []Error) {
	var out []Encoded
	var errs []Error
	loadErrs := Each(ctx, paths, opts, func(o Object) { out, errs = appendEncoded(out, errs, o) })
	return out, append(loadErrs, errs...)
}

func appendEncoded(out []Encoded, errs []Error, o Object) ([]Encoded, []Error) {
	e, err := Encode(o)
	if err != nil {
		return out, append(errs, Error{Path: o.Origin.Path, Line: o.Origin.Line, Object: objectRef(o.Object), Message: err.Error()})
	}
	return append(out, e), errs
}

// Decode returns the object again. Numbers decode as they do from a file
// (integers as int64).
func (e Encoded) Decode() (Object, error) {
	var m map[string]any
	if err := utiljson.Unmarshal(e.JSON, &m); err != nil {
		return Object{}, fmt.Errorf("%s: %w", e.Origin, err)
	}
	return Object{Object: &unstructured.Unstructured{Object: m}, Origin: e.Origin}, nil
}
