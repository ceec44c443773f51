package guard

import (
	"container/list"
	"sync"
	"time"

	"recauda-bridge/erp"
)

// cache keeps each customer's last successful answer for ttl, at most maxEntries
// customers, evicting the least recently used. The slices it holds are never
// modified after put: get hands out copies.
type cache struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time

	mu    sync.Mutex
	ll    *list.List // of *cacheEntry, most recently used at the front
	items map[string]*list.Element
	// gen changes on every invalidation, so that a lookup that started before
	// a payment was recorded cannot store its now stale answer afterwards.
	gen uint64
}

type cacheEntry struct {
	key     string
	charges []erp.Charge
	expires time.Time
}

func newCache(ttl time.Duration, maxEntries int, now func() time.Time) *cache {
	return &cache{
		ttl:        ttl,
		maxEntries: maxEntries,
		now:        now,
		ll:         list.New(),
		items:      make(map[string]*list.Element),
	}
}

// get returns a copy of key's answer if it is there and fresh.
func (c *cache) get(key string) ([]erp.Charge, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.ll.Remove(el)
		delete(c.items, key)
		c.mu.Unlock()
		return nil, false
	}
	c.ll.MoveToFront(el)
	charges := e.charges
	c.mu.Unlock()
	// Copied outside the lock: the cached slice is never written again.
	return cloneCharges(charges), true
}

// generation returns the value to pass to put for a lookup starting now.
func (c *cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put stores charges, which the cache then owns, unless an invalidation
// happened since gen was read.
func (c *cache) put(key string, charges []erp.Charge, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	expires := c.now().Add(c.ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.charges, e.expires = charges, expires
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, charges: charges, expires: expires})
	for c.ll.Len() > c.maxEntries {
		oldest := c.ll.Back()
		c.ll.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
}

// invalidate drops key and stops lookups already in flight from storing.
func (c *cache) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if el, ok := c.items[key]; ok {
		c.ll.Remove(el)
		delete(c.items, key)
	}
}

// len returns how many customers are cached, fresh or not.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
