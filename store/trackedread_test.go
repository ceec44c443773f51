package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The read of tracked refs pads each list to a prepared size: every length
// reads exactly the refs asked for, repeated and unknown ones included, and
// a few statements serve them all.
func TestTrackedReadPadsToPreparedSizes(t *testing.T) {
	s := openTest(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	var offers []Offer
	for i := range 40 {
		offers = append(offers, offer(fmt.Sprintf("TR-%02d", i), "66666666"))
	}
	if _, err := s.Claim(ctx, ClaimRequest{Offers: offers}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 40; n++ {
		var refs []string
		for i := range n {
			if i%3 == 2 {
				refs = append(refs, fmt.Sprintf("UNKNOWN-%d", i))
			} else {
				refs = append(refs, fmt.Sprintf("TR-%02d", i))
			}
		}
		refs = append(refs, refs[0]) // asked twice
		got := map[string]Tracked{}
		if err := s.scanTracked(ctx, got, refs); err != nil {
			t.Fatalf("%d refs: %v", n, err)
		}
		want := 0
		for i := range n {
			if i%3 != 2 {
				want++
				if tr, ok := got[fmt.Sprintf("TR-%02d", i)]; !ok || tr.IDNumber != "66666666" || tr.SendCount != 1 {
					t.Fatalf("%d refs: TR-%02d read as %+v, %v", n, i, tr, ok)
				}
			}
		}
		if len(got) != want {
			t.Fatalf("%d refs: read %d, want %d", n, len(got), want)
		}
	}
	if prepared := s.trackedRead.Prepared(); prepared > 10 {
		t.Errorf("%d statements prepared for lists of 2 to 41 refs, want at most 10 (sizes %v)", prepared, trackedReadSizes)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.scanTracked(cancelled, map[string]Tracked{}, []string{"TR-00"}); err == nil {
		t.Error("a cancelled request read tracked refs")
	}
}
