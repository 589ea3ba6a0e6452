package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"plumb.dev/plumb/internal/drift"
)

// maxSegment bounds a folder's name and a file's name before ".yaml".
// File systems allow 255 bytes; an object's name alone may be 253, and a
// kind and group come before it.
const maxSegment = 100

// hashLen is how many hex digits of the SHA-256 of an object's identity
// end a name that is not written as it is.
const hashLen = 8

// fileNames names each object's file, relative to the folder, with '/':
// NAMESPACE/KIND-NAME.yaml, or _cluster/KIND-NAME.yaml for cluster-scoped
// objects, with the kind's group (KIND.GROUP-NAME) when two groups share a
// kind. A folder or file name that is longer than maxSegment or holds
// anything but lower-case letters, digits, '.', '-' and '_' (a newline, a
// slash, a colon, an upper-case letter) is written as a readable part of
// it and a hash of what it names (hashed); so is a file name another
// object's file would otherwise have too. Two objects never share a file:
// an error says which two would, should their hashes ever agree.
func fileNames(objs []*unstructured.Unstructured) ([]string, error) {
	groups := map[string]map[string]bool{} // kind → groups
	for _, u := range objs {
		k := drift.KeyOf(u)
		if groups[k.Kind] == nil {
			groups[k.Kind] = map[string]bool{}
		}
		groups[k.Kind][k.Group] = true
	}
	folders := make([]string, len(objs))
	stems := make([]string, len(objs))
	ids := make([]string, len(objs))
	hashedAt := make([]bool, len(objs))
	for i, u := range objs {
		k := drift.KeyOf(u)
		kind := strings.ToLower(k.Kind)
		if len(groups[k.Kind]) > 1 && k.Group != "" {
			kind += "." + k.Group
		}
		folders[i] = clusterDir
		if k.Namespace != "" {
			folders[i] = segment(k.Namespace, "namespace\x00"+k.Namespace)
		}
		stems[i] = kind + "-" + k.Name
		ids[i] = strings.Join([]string{"object", k.Group, k.Kind, k.Namespace, k.Name}, "\x00")
		if !safe(stems[i]) {
			stems[i], hashedAt[i] = hashed(stems[i], ids[i]), true
		}
	}
	// Names that agree (a kind in two groups that differ only in case, a
	// name that looks like another's hashed one) are hashed until none
	// do; each round hashes at least one more, so it ends.
	for {
		byPath := map[string][]int{}
		out := make([]string, len(objs))
		for i := range objs {
			out[i] = folders[i] + "/" + stems[i] + ".yaml"
			byPath[out[i]] = append(byPath[out[i]], i)
		}
		changed := false
		for p, at := range byPath {
			if len(at) < 2 {
				continue
			}
			grew := false
			for _, i := range at {
				if !hashedAt[i] {
					stems[i], hashedAt[i], grew = hashed(stems[i], ids[i]), true, true
				}
			}
			if !grew {
				return nil, fmt.Errorf("%s and %s would both be written to %s", drift.KeyOf(objs[at[0]]), drift.KeyOf(objs[at[1]]), p)
			}
			changed = true
		}
		if !changed {
			return out, nil
		}
	}
}

// segment is s as a folder or file name: s itself when it is safe, else
// hashed by id.
func segment(s, id string) string {
	if safe(s) {
		return s
	}
	return hashed(s, id)
}

// safe reports whether s can be a file's or folder's name as it is, on
// every file system and in every tool: short, only lower-case letters,
// digits, '.', '-' and '_', and not starting with '.' (hidden, or "..")
// or '-' (an option to a command).
func safe(s string) bool {
	if s == "" || len(s) > maxSegment || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
}

// hashed is a safe name for s: s with upper-case letters lowered and
// every other character outside safe's set written as '_', cut to leave
// room, then '-' and the first hashLen hex digits of the SHA-256 of id,
// which names the object (or namespace) and nothing else.
func hashed(s, id string) string {
	sum := sha256.Sum256([]byte(id))
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxSegment-hashLen-1 {
			break
		}
		switch {
		case r < utf8.RuneSelf && safeByte(byte(r)):
			b.WriteRune(r)
		case 'A' <= r && r <= 'Z':
			b.WriteRune(r - 'A' + 'a')
		default:
			b.WriteByte('_')
		}
	}
	readable := b.String()
	if readable == "" || readable[0] == '.' || readable[0] == '-' {
		readable = "_" + strings.TrimLeft(readable, ".-")
	}
	if len(readable) > maxSegment-hashLen-1 {
		readable = readable[:maxSegment-hashLen-1]
	}
	return readable + "-" + hex.EncodeToString(sum[:])[:hashLen]
}
