package store

import (
	"context"
	"errors"
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
	hits := s.cache.Hits()
	if tr, _ := s.Tracked(ctx, refs); len(tr) != 0 || s.cache.Hits() != hits+1 {
		t.Fatalf("second read: %v, hits %d; want a cache hit saying nothing is tracked", tr, s.cache.Hits()-hits)
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
	hits := s.cache.Hits()
	if _, err := s.Tracked(ctx, refs); err != nil || s.cache.Hits() != hits+1 {
		t.Fatalf("after idle polls: %v, hits %d; want a cache hit", err, s.cache.Hits()-hits)
	}
}
