package drift

import (
	"crypto/sha256"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Cache remembers comparisons by (object UID, resourceVersion, hash of the
// desired object). An object whose live version and declaration are both
// unchanged is not compared, nor dry-run, again. One entry is kept per UID:
// a newer resourceVersion replaces the old one. Safe for concurrent use.
type Cache struct {
	mu sync.Mutex
	// entries guarded by mu.
	entries map[uidKey]cacheEntry
	hits    int64
	misses  int64
}

// A watcher keeps one entry per tracked object for as long as it runs, so
// entries are small: the UID as 16 bytes rather than a 36-character string
// (which would also keep the decoded object's buffer alive), and the result
// by pointer, shared by every object found in sync.
type cacheEntry struct {
	resourceVersion version
	desiredHash     [sha256.Size]byte
	result          *comparison
}

// version is a resourceVersion: a number, as etcd's are, or else the
// string itself (the API says they are opaque).
type version struct {
	n uint64
	s string
}

func versionOf(rv string) version {
	if n, err := strconv.ParseUint(rv, 10, 64); err == nil && strconv.FormatUint(n, 10) == rv {
		return version{n: n}
	}
	return version{s: rv}
}

// uidKey is a UID's 16 bytes when it is a UUID, as the API server makes
// them, or else the first 16 bytes of its SHA-256.
type uidKey [16]byte

func keyOf(uid types.UID) uidKey {
	if u, err := uuid.Parse(string(uid)); err == nil {
		return uidKey(u)
	}
	sum := sha256.Sum256([]byte(uid))
	return uidKey(sum[:16])
}

// inSync are the results of comparisons that found nothing, without and
// with a dry-run; entries share them.
var inSync = [2]comparison{{}, {dryRun: true}}

// shared returns r itself, or the shared copy when r found nothing.
func shared(r comparison) *comparison {
	if r.changes == nil && r.desired == nil && r.deployer == "" && !r.unconfirmed {
		if r.dryRun {
			return &inSync[1]
		}
		return &inSync[0]
	}
	return &r
}

// comparison is what the cache keeps: the changes before ignore rules
// (rules may change between scans) and the desired view for diffs.
type comparison struct {
	changes  []rawChange
	desired  *unstructured.Unstructured // nil when no dry-run was needed
	dryRun   bool
	deployer string
	// unconfirmed: the dry-run was forbidden or refused and the changes
	// come from the local comparison.
	unconfirmed bool
	// replace is the server's reason for refusing the dry-run, when it
	// refused it for validation.
	replace string
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{entries: map[uidKey]cacheEntry{}} }

func (c *Cache) get(uid types.UID, rv string, h [sha256.Size]byte) (comparison, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[keyOf(uid)]
	if !ok || e.resourceVersion != versionOf(rv) || e.desiredHash != h {
		c.misses++
		return comparison{}, false
	}
	c.hits++
	return *e.result, true
}

func (c *Cache) put(uid types.UID, rv string, h [sha256.Size]byte, r comparison) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[keyOf(uid)] = cacheEntry{resourceVersion: versionOf(rv), desiredHash: h, result: shared(r)}
}

// Forget drops the entry of a deleted object.
func (c *Cache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, keyOf(uid))
}

// Stats returns how many lookups hit and missed.
func (c *Cache) Stats() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
