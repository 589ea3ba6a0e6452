package drift

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestSecretDataHash: the hash depends on every key and value and on
// nothing else: not on order, and not on where a key ends and its value
// begins.
func TestSecretDataHash(t *testing.T) {
	hash := func(data map[string]any) string {
		t.Helper()
		h, err := SecretDataHash(data)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	base := hash(map[string]any{"user": b64("admin"), "password": b64("hunter2")})
	if again := hash(map[string]any{"password": b64("hunter2"), "user": b64("admin")}); again != base {
		t.Errorf("the same data hashes to %s and %s", base, again)
	}
	for name, other := range map[string]map[string]any{
		"a value changed":  {"user": b64("admin"), "password": b64("hunter3")},
		"a key renamed":    {"user": b64("admin"), "passwd": b64("hunter2")},
		"a key added":      {"user": b64("admin"), "password": b64("hunter2"), "x": ""},
		"a boundary moved": {"user": b64("admi"), "password": b64("hunter2"), "n": ""},
	} {
		if hash(other) == base {
			t.Errorf("%s: same hash", name)
		}
	}
	if _, err := SecretDataHash(map[string]any{"k": "not base64!"}); err == nil {
		t.Error("a value that is not base64 hashed without error")
	}
}

// TestValuelessSecret: a Secret declared by hash is compared by hash and
// keys; the changes name keys, never values.
func TestValuelessSecret(t *testing.T) {
	data := map[string]any{"user": b64("admin"), "password": b64("hunter2")}
	h, _ := SecretDataHash(data)
	declared := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "annotations": map[string]any{DataHashAnnotation: h, DataKeysAnnotation: SecretDataKeys(data)}}}}
	liveWith := func(d map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"}, "data": d}}
	}
	type change struct{ Path, Type string }
	tests := []struct {
		name string
		live map[string]any
		want []change
	}{
		{"unchanged", data, nil},
		{"a value changed", map[string]any{"user": b64("admin"), "password": b64("rotated")}, []change{{".data", "modified"}}},
		{"a key added", map[string]any{"user": b64("admin"), "password": b64("hunter2"), "extra": b64("x")}, []change{{".data.extra", "added"}}},
		{"a key removed", map[string]any{"user": b64("admin")}, []change{{".data.password", "removed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, raw := valuelessSecret(declared, liveWith(tt.live))
			var got []change
			for _, c := range raw {
				pub := c.public(true)
				got = append(got, change{pub.Path, string(pub.Type)})
				for _, v := range []any{pub.Desired, pub.Live} {
					if v != nil && v != Redacted {
						t.Errorf("%s carries %v, want %q or nothing", pub.Path, v, Redacted)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("changes (-want +got):\n%s", diff)
			}
			// What the engine compares further: the live data, and no
			// annotation the live Secret lacks.
			if diff := cmp.Diff(tt.live, d.Object["data"]); diff != "" {
				t.Errorf("desired data (-want +got):\n%s", diff)
			}
			if len(d.GetAnnotations()) != 0 {
				t.Errorf("desired annotations %v, want none", d.GetAnnotations())
			}
		})
	}
}
