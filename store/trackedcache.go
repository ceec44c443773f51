package store

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// trackedCacheMax bounds the refs the cache holds; past it the cache starts
// afresh.
const trackedCacheMax = 100_000

// trackedCache keeps what Tracked read, for SQLite, where this process is
// the only writer and every write goes through the group committer. Each
// committed write transaction bumps the store's write generation, which
// empties the cache: an entry is never older than the last write. In the
// steady state (customers whose charges were all sent) there are no writes,
// so the lookup costs no database read at all. Time-based rules
// (offer_after) are still decided at lookup time from the cached row.
//
// An entry is the whole answer for one list of refs (a customer's charges,
// asked in the ERP's order), handed out as it is to every reader: a hit
// allocates nothing, which is most of what a steady-state lookup would
// otherwise allocate. Readers must not modify it.
type trackedCache struct {
	mu   sync.Mutex
	gen  uint64
	sets map[string]map[string]Tracked // by refsKey
	refs int                           // refs in sets
	hits atomic.Uint64
}

func newTrackedCache() *trackedCache {
	return &trackedCache{sets: make(map[string]map[string]Tracked)}
}

// refsKey appends refs to buf, each after its length, so that no two lists
// share a key whatever bytes the ERP put in a ref (refs are read before they
// are validated).
func refsKey(buf []byte, refs []string) []byte {
	for _, r := range refs {
		buf = append(binary.AppendUvarint(buf, uint64(len(r))), r...)
	}
	return buf
}

// get answers from the cache when refs were read, in this order, at
// generation gen.
func (c *trackedCache) get(refs []string, gen uint64) (map[string]Tracked, bool) {
	var buf [256]byte
	key := refsKey(buf[:0], refs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		clear(c.sets)
		c.gen, c.refs = gen, 0
		return nil, false
	}
	out, ok := c.sets[string(key)] // no allocation for the key
	if ok {
		c.hits.Add(1)
	}
	return out, ok
}

// put stores what a read of refs at generation gen found, unless a write
// has committed since. found is kept and handed out by get from then on.
func (c *trackedCache) put(refs []string, found map[string]Tracked, gen uint64) {
	key := string(refsKey(nil, refs))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.sets[key]; ok {
		return
	}
	if c.refs+len(refs) > trackedCacheMax {
		clear(c.sets)
		c.refs = 0
	}
	c.sets[key] = found
	c.refs += len(refs)
}
