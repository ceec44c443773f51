package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"recauda-bridge/models"
)

// TestTrackedCacheNeverOutlivesAWrite: repeated reads are served from the
// cache, and every write transaction makes the next read see the database.
func TestTrackedCacheNeverOutlivesAWrite(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()
	refs := []string{"TC-1", "TC-2"}

	if tr, err := s.Tracked(ctx, refs); err != nil || len(tr) != 0 {
		t.Fatalf("before any claim: %v, %v; want nothing tracked", tr, err)
	}
	hits := s.cache.hits.Load()
	if tr, _ := s.Tracked(ctx, refs); len(tr) != 0 || s.cache.hits.Load() != hits+1 {
		t.Fatalf("second read: %v, hits %d; want a cache hit saying nothing is tracked", tr, s.cache.hits.Load()-hits)
	}
	if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("TC-1", "12345678")}, ResendAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	tr, err := s.Tracked(ctx, refs)
	if err != nil || tr["TC-1"].Status != models.StatusSent || tr["TC-1"].SendCount != 1 {
		t.Fatalf("after a claim: %+v, %v; want TC-1 sent once", tr, err)
	}
	c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("TC-2", "12345678")}})
	if err != nil {
		t.Fatal(err)
	}
	if tr, _ := s.Tracked(ctx, refs); len(tr) != 2 {
		t.Fatalf("after a second claim: %+v; want both tracked", tr)
	}
	if err := s.Release(ctx, c); err != nil {
		t.Fatal(err)
	}
	if tr, _ := s.Tracked(ctx, refs); len(tr) != 1 {
		t.Fatalf("after a release: %+v; want TC-2 forgotten", tr)
	}
}

// The write-back worker polls an idle queue all day: a poll that finds
// nothing must not empty the cache, or every lookup reads the database.
func TestIdleWritebackPollKeepsTrackedCache(t *testing.T) {
	s := openTest(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	refs := []string{"TC-9"}
	if _, err := s.Tracked(ctx, refs); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.LeaseWriteback(ctx, time.Minute); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lease on an empty queue: %v, want ErrNotFound", err)
		}
	}
	hits := s.cache.hits.Load()
	if _, err := s.Tracked(ctx, refs); err != nil || s.cache.hits.Load() != hits+1 {
		t.Fatalf("after idle polls: %v, hits %d; want a cache hit", err, s.cache.hits.Load()-hits)
	}
}

// A hit hands out the answer read before, without a copy; lists that differ
// only in how their refs are cut never share an entry; the bound holds.
func TestTrackedCacheEntries(t *testing.T) {
	c := newTrackedCache()
	ab := map[string]Tracked{"a": {RefPayment: "a"}, "b": {RefPayment: "b"}}
	c.put([]string{"a", "b"}, ab, 0)
	if got, ok := c.get([]string{"a", "b"}, 0); !ok || len(got) != 2 || got["b"].RefPayment != "b" {
		t.Fatalf("get(a, b) = %v, %v; want the stored answer", got, ok)
	}
	for _, other := range [][]string{{"ab"}, {"a\x01b"}, {"b", "a"}, {"a"}, {"a", "b", ""}} {
		if got, ok := c.get(other, 0); ok {
			t.Errorf("get(%q) hit %v; want a miss", other, got)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { c.get([]string{"a", "b"}, 0) }); allocs != 0 {
		t.Errorf("a hit allocates %.0f times; want 0", allocs)
	}
	if _, ok := c.get([]string{"a", "b"}, 1); ok {
		t.Fatal("a newer generation still hits")
	}
	c.put([]string{"a", "b"}, ab, 0) // read before the write: not kept
	if _, ok := c.get([]string{"a", "b"}, 1); ok {
		t.Fatal("an answer read before the last write was kept")
	}
	for i := range trackedCacheMax + 10 {
		c.put([]string{strconv.Itoa(i)}, map[string]Tracked{}, 1)
	}
	if c.refs > trackedCacheMax || len(c.sets) > trackedCacheMax {
		t.Fatalf("%d refs in %d entries; bound %d", c.refs, len(c.sets), trackedCacheMax)
	}
}
