package drift

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// A Secret declared without its values (plumb snapshot writes them so) is
// declared by these two annotations: the names of its data keys and a hash
// of its data. The engine compares the hash with the live data's instead of
// comparing values, so a changed Secret is still found, and nothing that
// could apply it (plumb fix) has values to write.
const (
	// DataHashAnnotation holds SecretDataHash of the Secret's data.
	DataHashAnnotation = "plumb.dev/data-hash"
	// DataKeysAnnotation holds the Secret's data keys, sorted, comma-separated.
	DataKeysAnnotation = "plumb.dev/data-keys"
)

// dataHashDomain separates plumb's hashes of Secret data from any other use
// of sha256 over the same bytes, so that tables of hashes made elsewhere do
// not apply.
const dataHashDomain = "plumb.dev/data-hash/v1\x00"

// SecretDataHash returns "hmac-sha256:HEX" keyed with key, or, with no
// key, "sha256:HEX", over a Secret's data (base64 values, as the API serves
// them): every key in order and its decoded value, each length-prefixed. A
// value that is not base64 is an error naming its key. An unkeyed hash can
// be checked against a guessed value by anyone who reads the file it is in;
// a keyed one only by who holds the key.
func SecretDataHash(key []byte, data map[string]any) (string, error) {
	h, prefix := sha256.New(), "sha256:"
	if len(key) > 0 {
		h, prefix = hmac.New(sha256.New, key), KeyedHashPrefix
	}
	h.Write([]byte(dataHashDomain))
	var n [8]byte
	write := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, k := range slices.Sorted(maps.Keys(data)) {
		s, _ := data[k].(string)
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("data key %q: not base64", k)
		}
		write([]byte(k))
		write(v)
	}
	return prefix + hex.EncodeToString(h.Sum(nil)), nil
}

// KeyedHashPrefix starts a hash of Secret data keyed with the
// installation's key.
const KeyedHashPrefix = "hmac-sha256:"

// ErrNoHashKey: a Secret is declared by a keyed hash, and the engine has no
// key to compare it with.
var ErrNoHashKey = errors.New("the Secret is declared by a keyed hash (hmac-sha256): give the key it was made with (--secret-hash-key-file) to compare it")

// SecretDataKeys returns the data keys, sorted and comma-separated, as
// DataKeysAnnotation holds them.
func SecretDataKeys(data map[string]any) string {
	return strings.Join(slices.Sorted(maps.Keys(data)), ",")
}

// IsValueless reports whether u is a Secret declared by hash, without
// values (see DataHashAnnotation): it can be compared but never applied.
func IsValueless(u *unstructured.Unstructured) bool {
	if !IsSecret(u) {
		return false
	}
	_, ok := u.GetAnnotations()[DataHashAnnotation]
	return ok
}

// valuelessSecret turns a Secret declared by hash into one the engine can
// compare as usual: the live data stand in for the values it does not
// declare, and its two annotations, which are no field of the live object,
// are taken out. The changes it returns are what the hash and the keys say
// about the data: a key added or removed live, or, with the same keys,
// .data modified. Values never appear in them.
func valuelessSecret(key []byte, desired, live *unstructured.Unstructured) (*unstructured.Unstructured, []rawChange, error) {
	ann := desired.GetAnnotations()
	want, declared := ann[DataHashAnnotation]
	if !declared {
		return desired, nil, nil
	}
	keyed := strings.HasPrefix(want, KeyedHashPrefix)
	if keyed && len(key) == 0 {
		return nil, nil, ErrNoHashKey
	}
	if !keyed {
		key = nil // an older snapshot's unkeyed hash: compared as it was made
	}
	d := desired.DeepCopy()
	da := d.GetAnnotations()
	delete(da, DataHashAnnotation)
	delete(da, DataKeysAnnotation)
	if len(da) == 0 {
		unstructured.RemoveNestedField(d.Object, "metadata", "annotations")
	} else {
		d.SetAnnotations(da)
	}
	delete(d.Object, "stringData")
	liveData, _, _ := unstructured.NestedMap(live.Object, "data")
	if liveData != nil {
		d.Object["data"] = liveData
	} else {
		delete(d.Object, "data")
	}

	got, err := SecretDataHash(key, liveData)
	if err == nil && hmac.Equal([]byte(got), []byte(want)) {
		return d, nil, nil
	}
	var keys []string
	if s := ann[DataKeysAnnotation]; s != "" {
		keys = strings.Split(s, ",")
	}
	var changes []rawChange
	for _, k := range keys {
		if _, ok := liveData[k]; !ok {
			changes = append(changes, rawChange{path: dataKeyPath(k), typ: ChangeRemoved, desired: Redacted})
		}
	}
	for k := range liveData {
		if !slices.Contains(keys, k) {
			changes = append(changes, rawChange{path: dataKeyPath(k), typ: ChangeAdded, live: Redacted})
		}
	}
	if len(changes) == 0 {
		// The same keys: some value changed, and the hash cannot say which.
		changes = append(changes, rawChange{path: fieldpath.MakePathOrDie("data"), typ: ChangeModified, desired: Redacted, live: Redacted})
	}
	return d, changes, nil
}

func dataKeyPath(k string) fieldpath.Path { return fieldpath.MakePathOrDie("data", k) }

// Valueless reports whether the target is a Secret declared by hash,
// without values (see IsValueless).
func (t Target) Valueless() bool {
	if !isSecret(t.t.mapping.GroupVersionKind.GroupKind()) {
		return false
	}
	d, err := t.Desired()
	return err == nil && IsValueless(d)
}
