package drift

import (
	"crypto/sha256"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

// TestCacheKeysAndVersions checks the compact forms of the cache's keys:
// distinct UIDs and resourceVersions stay distinct whether or not they are
// a UUID or a number, and an entry is found only by its own triple.
func TestCacheKeysAndVersions(t *testing.T) {
	uids := []types.UID{"0e7b2a3c-5d1f-4b8e-9c6a-2f4d8e1b7a90", "0E7B2A3C-5D1F-4B8E-9C6A-2F4D8E1B7A91", "not-a-uuid", "not-a-uuid-2", ""}
	seen := map[uidKey]types.UID{}
	for _, u := range uids {
		k := keyOf(u)
		if other, dup := seen[k]; dup {
			t.Errorf("UIDs %q and %q share a key", u, other)
		}
		seen[k] = u
	}
	versions := []string{"123", "0123", "124", "", "abc", "18446744073709551616"}
	vs := map[version]string{}
	for _, rv := range versions {
		v := versionOf(rv)
		if other, dup := vs[v]; dup {
			t.Errorf("resourceVersions %q and %q compare equal", rv, other)
		}
		vs[v] = rv
	}

	c := NewCache()
	h := sha256.Sum256([]byte("desired"))
	drifted := comparison{changes: []rawChange{{}}, deployer: "plumb"}
	c.put(uids[0], "123", h, drifted)
	c.put(uids[2], "abc", h, comparison{dryRun: true})
	if got, ok := c.get(uids[0], "123", h); !ok || len(got.changes) != 1 || got.deployer != "plumb" {
		t.Errorf("get = %+v, %v; want the drifted comparison", got, ok)
	}
	if got, ok := c.get(uids[2], "abc", h); !ok || !got.dryRun || got.changes != nil {
		t.Errorf("get = %+v, %v; want the in-sync dry-run comparison", got, ok)
	}
	for _, miss := range []struct {
		uid types.UID
		rv  string
		h   [sha256.Size]byte
	}{{uids[0], "124", h}, {uids[0], "0123", h}, {uids[1], "123", h}, {uids[0], "123", sha256.Sum256([]byte("other"))}} {
		if _, ok := c.get(miss.uid, miss.rv, miss.h); ok {
			t.Errorf("get(%q, %q) hit", miss.uid, miss.rv)
		}
	}
	c.Forget(uids[0])
	if _, ok := c.get(uids[0], "123", h); ok {
		t.Error("forgotten entry still found")
	}
}
