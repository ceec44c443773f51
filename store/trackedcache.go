package store

import (
	"sync"
	"sync/atomic"
)

// trackedCacheMax bounds the cache; past it the cache starts afresh.
const trackedCacheMax = 100_000

// trackedCache keeps what Tracked read, for SQLite, where this process is
// the only writer and every write goes through the group committer. Each
// committed write transaction bumps the store's write generation, which
// empties the cache: an entry is never older than the last write. In the
// steady state (customers whose charges were all sent) there are no writes,
// so the lookup costs no database read at all. Time-based rules
// (offer_after) are still decided at lookup time from the cached row.
type trackedCache struct {
	mu   sync.Mutex
	gen  uint64
	rows map[string]trackedEntry
	hits atomic.Uint64
}

type trackedEntry struct {
	t     Tracked
	known bool // false: the ref is not tracked
}

func newTrackedCache() *trackedCache {
	return &trackedCache{rows: make(map[string]trackedEntry)}
}

// get answers from the cache when every ref is in it at generation gen.
func (c *trackedCache) get(refs []string, gen uint64) (map[string]Tracked, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		clear(c.rows)
		c.gen = gen
		return nil, false
	}
	out := make(map[string]Tracked, len(refs))
	for _, r := range refs {
		e, ok := c.rows[r]
		if !ok {
			return nil, false
		}
		if e.known {
			out[r] = e.t
		}
	}
	c.hits.Add(1)
	return out, true
}

// put stores what a read at generation gen found, unless a write has
// committed since.
func (c *trackedCache) put(refs []string, found map[string]Tracked, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.rows)+len(refs) > trackedCacheMax {
		clear(c.rows)
	}
	for _, r := range refs {
		t, ok := found[r]
		c.rows[r] = trackedEntry{t: t, known: ok}
	}
}
