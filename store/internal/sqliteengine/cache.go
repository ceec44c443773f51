package sqliteengine

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// cacheMaxKeys bounds the keys a Cache holds; past it the cache starts
// afresh.
const cacheMaxKeys = 100_000

// Cache keeps answers read by a list of keys, for SQLite, where this
// process is the only writer and every write goes through the Engine.
// Each write transaction moves the engine's generation on, which empties
// the cache: an entry is never older than the last write. In a steady
// state without writes, readers cost no database read at all.
//
// An entry is the whole answer for one list of keys, in its order, handed
// out as it is to every reader: a hit allocates nothing. Readers must not
// modify it.
type Cache[V any] struct {
	mu   sync.Mutex
	gen  uint64
	sets map[string]V // by listKey
	keys int          // keys in sets
	hits atomic.Uint64
}

// NewCache returns an empty cache.
func NewCache[V any]() *Cache[V] {
	return &Cache[V]{sets: make(map[string]V)}
}

// listKey appends keys to buf, each after its length, so that no two lists
// share a key whatever bytes they hold (the store's refs come from the ERP
// before they are validated).
func listKey(buf []byte, keys []string) []byte {
	for _, k := range keys {
		buf = append(binary.AppendUvarint(buf, uint64(len(k))), k...)
	}
	return buf
}

// Get answers from the cache when keys were read, in this order, at
// generation gen.
func (c *Cache[V]) Get(keys []string, gen uint64) (V, bool) {
	var buf [256]byte
	key := listKey(buf[:0], keys)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		clear(c.sets)
		c.gen, c.keys = gen, 0
		var none V
		return none, false
	}
	out, ok := c.sets[string(key)] // no allocation for the key
	if ok {
		c.hits.Add(1)
	}
	return out, ok
}

// Put stores what a read of keys at generation gen found, unless a write
// has committed since. found is kept and handed out by Get from then on.
func (c *Cache[V]) Put(keys []string, found V, gen uint64) {
	key := string(listKey(nil, keys))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.sets[key]; ok {
		return
	}
	if c.keys+len(keys) > cacheMaxKeys {
		clear(c.sets)
		c.keys = 0
	}
	c.sets[key] = found
	c.keys += len(keys)
}

// Hits counts the answers served from the cache.
func (c *Cache[V]) Hits() uint64 { return c.hits.Load() }
