package drift

import (
	"encoding/base64"
	"errors"
	"strings"
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
		h, err := SecretDataHash(nil, data)
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
	if _, err := SecretDataHash(nil, map[string]any{"k": "not base64!"}); err == nil {
		t.Error("a value that is not base64 hashed without error")
	}
}

// TestKeyedSecretDataHash: a keyed hash cannot be checked without the
// key (a guess at the value, hashed unkeyed or with another key, does not
// match), and comparing a Secret declared by one needs the key.
func TestKeyedSecretDataHash(t *testing.T) {
	data := map[string]any{"password": b64("hunter2")}
	keyed, err := SecretDataHash([]byte("installation-key"), data)
	if err != nil || !strings.HasPrefix(keyed, KeyedHashPrefix) {
		t.Fatalf("keyed hash %q, %v", keyed, err)
	}
	plain, _ := SecretDataHash(nil, data)
	other, _ := SecretDataHash([]byte("another-key"), data)
	if strings.TrimPrefix(keyed, KeyedHashPrefix) == strings.TrimPrefix(plain, "sha256:") || keyed == other {
		t.Error("the keyed hash can be made without the key")
	}
	declared := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "db", "annotations": map[string]any{DataHashAnnotation: keyed, DataKeysAnnotation: SecretDataKeys(data)}}}}
	live := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"}, "data": data}}
	if _, _, err := valuelessSecret(nil, declared, live); !errors.Is(err, ErrNoHashKey) {
		t.Errorf("without the key: %v, want ErrNoHashKey", err)
	}
	if _, raw, err := valuelessSecret([]byte("installation-key"), declared, live); err != nil || len(raw) != 0 {
		t.Errorf("with the key, unchanged data: %v, %v; want in sync", raw, err)
	}
	if _, raw, err := valuelessSecret([]byte("another-key"), declared, live); err != nil || len(raw) != 1 {
		t.Errorf("with another key: %v, %v; want the data reported modified", raw, err)
	}
}

// TestValuelessSecret: a Secret declared by hash is compared by hash and
// keys; the changes name keys, never values. An unkeyed hash (an older
// snapshot) is compared as it was made, key or none.
func TestValuelessSecret(t *testing.T) {
	data := map[string]any{"user": b64("admin"), "password": b64("hunter2")}
	h, _ := SecretDataHash(nil, data)
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
			d, raw, err := valuelessSecret([]byte("a key the old hash was not made with"), declared, liveWith(tt.live))
			if err != nil {
				t.Fatal(err)
			}
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
