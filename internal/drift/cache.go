package drift

import (
	"crypto/sha256"
	"sync"

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
	entries map[types.UID]cacheEntry
	hits    int64
	misses  int64
}

type cacheEntry struct {
	resourceVersion string
	desiredHash     [sha256.Size]byte
	result          comparison
}

// comparison is what the cache keeps: the changes before ignore rules
// (rules may change between scans) and the desired view for diffs.
type comparison struct {
	changes  []rawChange
	desired  *unstructured.Unstructured // nil when no dry-run was needed
	dryRun   bool
	deployer string
	// unconfirmed: the dry-run was forbidden and the changes come from
	// the local comparison.
	unconfirmed bool
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{entries: map[types.UID]cacheEntry{}} }

func (c *Cache) get(uid types.UID, rv string, h [sha256.Size]byte) (comparison, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[uid]
	if !ok || e.resourceVersion != rv || e.desiredHash != h {
		c.misses++
		return comparison{}, false
	}
	c.hits++
	return e.result, true
}

func (c *Cache) put(uid types.UID, rv string, h [sha256.Size]byte, r comparison) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[uid] = cacheEntry{resourceVersion: rv, desiredHash: h, result: r}
}

// Forget drops the entry of a deleted object.
func (c *Cache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, uid)
}

// Stats returns how many lookups hit and missed.
func (c *Cache) Stats() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}
