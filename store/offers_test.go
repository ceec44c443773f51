package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store/internal/sqliteengine"
)

// TestReofferKeepsReplacedItem: a re-offer whose item changed keeps the item
// it replaced and says on the timeline what changed; one with the same item,
// or one not won, keeps nothing; settling the charge then sees the earlier
// offers, on each dialect and on SQLite's merged settle too.
func TestReofferKeepsReplacedItem(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		item := func(amount string) Offer {
			o := offer("CH-1", "12345678")
			o.Amount = decimal.RequireFromString(amount)
			o.Payload = []byte(`{"amount":` + amount + `}`)
			return o
		}
		describe := func(before, after []byte) string { return string(before) + " → " + string(after) }
		claim := func(o Offer, resend bool) []string {
			t.Helper()
			o.Resend = resend
			c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{o}, ResendAfter: time.Hour, DescribeChange: describe})
			if err != nil {
				t.Fatal(err)
			}
			return c.Refs
		}
		if won := claim(item("100000"), false); len(won) != 1 {
			t.Fatalf("first offer won %v, want CH-1", won)
		}
		clk.add(time.Hour)
		if won := claim(item("100000"), true); len(won) != 1 {
			t.Fatalf("re-offer of the same item won %v, want CH-1", won)
		}
		// Not due yet: nothing is replaced, nothing kept.
		if won := claim(item("110000"), true); len(won) != 0 {
			t.Fatalf("re-offer before it is due won %v, want nothing", won)
		}
		clk.add(time.Hour)
		if won := claim(item("120000"), true); len(won) != 1 {
			t.Fatalf("re-offer of a new amount won %v, want CH-1", won)
		}
		var kept []string
		rows, err := s.read.Raw(`SELECT send_count, amount, payload FROM charge_offers ORDER BY id`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var send int
			var amount decimal.Decimal
			var payload string
			if err := rows.Scan(&send, &amount, &payload); err != nil {
				t.Fatal(err)
			}
			kept = append(kept, fmt.Sprintf("#%d %s %s", send, amount, payload))
		}
		rows.Close()
		if want := []string{`#2 100000 {"amount":100000}`}; !slices.Equal(kept, want) {
			t.Fatalf("kept offers %q, want %q", kept, want)
		}
		d, err := s.ChargeDetail(ctx, "CH-1")
		if err != nil {
			t.Fatal(err)
		}
		var timeline []string
		for _, e := range d.Events {
			timeline = append(timeline, fmt.Sprintf("%s %q", e.Kind, e.Detail))
		}
		want := []string{`sent "send #1"`, `resent "send #2"`, `resent "send #3"`,
			`changed "item changed since send #2: {\"amount\":100000} → {\"amount\":120000}"`}
		if !slices.Equal(timeline, want) {
			t.Fatalf("timeline:\ngot  %q\nwant %q", timeline, want)
		}

		// Settling sees the earlier offer beside the current one.
		var seen ChargeState
		_, err = s.Settle(ctx, WebhookDelivery{Body: []byte(`{}`), TransactionID: "T1", Status: "Aprobada",
			Amount: decimal.RequireFromString("100000"), Currency: "COP", References: []string{"CH-1"}},
			func(c ChargeState) Decision {
				seen = c
				return Decision{Outcome: models.OutcomeFlagged}
			})
		if err != nil {
			t.Fatal(err)
		}
		if !seen.Amount.Equal(decimal.RequireFromString("120000")) || len(seen.Earlier) != 1 || seen.Earlier[0].Send != 2 ||
			!seen.Earlier[0].Amount.Equal(decimal.RequireFromString("100000")) || seen.Earlier[0].Payload != `{"amount":100000}` {
			t.Fatalf("settle saw %s with earlier %+v, want 120000 with [send 2, 100000]", seen.Amount, seen.Earlier)
		}
	})
}

// TestMergedSettleLeavesEarlierOffersToSettleAlone: on SQLite's merged
// settle, a charge with earlier offers is settled alone, where they are
// read; one without is merged and sees none.
func TestMergedSettleLeavesEarlierOffersToSettleAlone(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()
	changed, plain := offer("M-1", "12345678"), offer("M-2", "12345678")
	if c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{changed, plain}, ResendAfter: time.Hour}); err != nil || len(c.Refs) != 2 {
		t.Fatalf("claim: %v %v", c.Refs, err)
	}
	clk.add(time.Hour)
	changed.Payload, changed.Resend = []byte(`{"changed":true}`), true
	if c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{changed}, ResendAfter: time.Hour}); err != nil || len(c.Refs) != 1 {
		t.Fatalf("re-offer: %v %v", c.Refs, err)
	}
	earlier := map[string]int{}
	var jobs []*sqliteengine.Job
	var works []*settleWork
	for i, ref := range []string{"M-1", "M-2"} {
		d := WebhookDelivery{Body: []byte(`{}`), TransactionID: fmt.Sprint(i), Status: "Aprobada",
			Amount: decimal.RequireFromString("150000.50"), Currency: "COP", References: []string{ref}}
		job, work, _ := s.settleJob(d, func(c ChargeState) Decision {
			earlier[c.RefPayment] = len(c.Earlier)
			return Decision{Outcome: models.OutcomeFlagged}
		})
		jobs, works = append(jobs, job), append(works, work)
	}
	for _, err := range s.engine.CommitBatch(jobs) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if works[0].merged || !works[1].merged {
		t.Fatalf("merged: M-1 %v, M-2 %v; want M-1 settled alone, M-2 merged", works[0].merged, works[1].merged)
	}
	if earlier["M-1"] != 1 || earlier["M-2"] != 0 {
		t.Fatalf("earlier offers seen: %v, want M-1 1, M-2 0", earlier)
	}
}
