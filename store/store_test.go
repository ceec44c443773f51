package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store/storetest"
	"recauda-bridge/validation"
)

// clock is a settable fixed clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// testDB is one dialect the store's tests run against.
type testDB struct {
	name string
	// dsn returns the DSN of a fresh, empty database of this dialect, removed
	// when t ends.
	dsn func(t *testing.T) string
}

// testDBs are the dialects every store test runs against: SQLite always,
// PostgreSQL in a schema of its own on the server named by
// RECAUDA_TEST_POSTGRES_DSN (skipped without it outside CI, failed in CI).
var testDBs = []testDB{
	{name: models.DialectSQLite, dsn: func(t *testing.T) string { return filepath.Join(t.TempDir(), "test.db") }},
	{name: models.DialectPostgres, dsn: func(t *testing.T) string { return storetest.PostgresDSN(t) }},
}

// eachDialect runs fn once per dialect, as a subtest named after it.
func eachDialect(t *testing.T, fn func(t *testing.T, db testDB)) {
	t.Helper()
	for _, db := range testDBs {
		t.Run(db.name, func(t *testing.T) { fn(t, db) })
	}
}

// openEmpty opens a fresh database of db's dialect, not migrated, closed
// when t ends.
func (db testDB) openEmpty(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), db.name, db.dsn(t), opts)
	if err != nil {
		t.Fatalf("open %s: %v", db.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// open opens a fresh database of db's dialect on clk, migrated by the real
// migrations.
func (db testDB) open(t *testing.T, clk *clock) *Store {
	t.Helper()
	s := db.openEmpty(t, Options{Now: clk.now})
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", db.name, err)
	}
	return s
}

// openTest opens a fresh migrated SQLite store. A test meant to hold on
// every dialect wraps its body in eachDialect and calls db.open instead.
func openTest(t *testing.T, clk *clock) *Store {
	t.Helper()
	return testDBs[0].open(t, clk)
}

func offer(ref, id string) Offer {
	return Offer{RefPayment: ref, IDNumber: id, PayerName: "Ana Gómez", Description: "Cuota " + ref,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Payload: []byte(`{"ref":"` + ref + `"}`)}
}

func TestMigrateIsIdempotent(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t, newClock(time.Now()))
		ctx := context.Background()
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
		}
		if err := s.CheckSchema(ctx); err != nil {
			t.Fatalf("CheckSchema: %v", err)
		}
	})
}

func TestCheckSchemaRefusesNewDatabase(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.openEmpty(t, Options{})
		if err := s.CheckSchema(ctx); !errors.Is(err, ErrSchemaOutdated) {
			t.Fatalf("got %v, want ErrSchemaOutdated", err)
		}
	})
}

func TestClaimOffersOnceUntilResendAfter(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		req := ClaimRequest{Offers: []Offer{offer("A1", "12345678"), offer("A2", "12345678")}, ResendAfter: time.Hour}

		c, err := s.Claim(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Refs) != 2 {
			t.Fatalf("first claim got %v, want both refs", c.Refs)
		}
		c, err = s.Claim(ctx, req)
		if err != nil || len(c.Refs) != 0 {
			t.Fatalf("second claim got %v (err %v), want none", c.Refs, err)
		}
		clk.add(time.Hour)
		c, err = s.Claim(ctx, req)
		if err != nil || len(c.Refs) != 2 {
			t.Fatalf("claim after ResendAfter got %v (err %v), want both", c.Refs, err)
		}
		tr, err := s.Tracked(ctx, []string{"A1", "A2", "nope"})
		if err != nil {
			t.Fatal(err)
		}
		if len(tr) != 2 || tr["A1"].SendCount != 2 || tr["A1"].Status != models.StatusSent {
			t.Fatalf("tracked = %+v, want A1 and A2 sent twice", tr)
		}
		if !tr["A1"].Amount.Equal(decimal.RequireFromString("150000.50")) {
			t.Fatalf("amount = %s, want 150000.50 exactly", tr["A1"].Amount)
		}
		var events int64
		s.read.Model(&models.ChargeEventRow{}).Count(&events)
		if events != 4 {
			t.Fatalf("events = %d, want 4 (two sends of two refs)", events)
		}
	})
}

// TestClaimTimeline: each send of a ref is on its timeline, at its claim's
// time, the same on both dialects (on PostgreSQL a small claim is one
// statement, its timeline written by a CTE).
func TestClaimTimeline(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		clk := newClock(start)
		s := db.open(t, clk)
		ctx := context.Background()
		req := ClaimRequest{Offers: []Offer{offer("T2", "12345678"), offer("T1", "12345678")}, ResendAfter: time.Hour}
		for range 2 {
			if c, err := s.Claim(ctx, req); err != nil || len(c.Refs) != 2 {
				t.Fatalf("claim: %v %v, want both refs", c.Refs, err)
			}
			clk.add(time.Hour)
		}
		for _, ref := range []string{"T1", "T2"} {
			d, err := s.ChargeDetail(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range d.Events {
				got = append(got, fmt.Sprintf("%s %q %s", e.Kind, e.Detail, e.CreatedAt.UTC().Format(time.TimeOnly)))
			}
			want := []string{`sent "send #1" 12:00:00`, `resent "send #2" 13:00:00`}
			if !slices.Equal(got, want) {
				t.Fatalf("%s timeline %q, want %q", ref, got, want)
			}
		}
	})
}

func TestClaimNeverResendsWhenResendAfterIsZero(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		req := ClaimRequest{Offers: []Offer{offer("B1", "12345678")}}
		if c, _ := s.Claim(ctx, req); len(c.Refs) != 1 {
			t.Fatalf("first claim got %v, want B1", c.Refs)
		}
		clk.add(365 * 24 * time.Hour)
		if c, _ := s.Claim(ctx, req); len(c.Refs) != 0 {
			t.Fatalf("claim a year later got %v, want none", c.Refs)
		}
	})
}

func TestClaimRefusesRefOfAnotherCustomer(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		if c, _ := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("C1", "11111111")}, ResendAfter: time.Minute}); len(c.Refs) != 1 {
			t.Fatal("setup claim failed")
		}
		clk.add(time.Hour)
		c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("C1", "22222222")}, ResendAfter: time.Minute})
		if err != nil || len(c.Refs) != 0 {
			t.Fatalf("claim by another id got %v (err %v), want none", c.Refs, err)
		}
	})
}

func TestReleaseUndoesClaim(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		// D1 was sent before and is due again; D2 is new.
		if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("D1", "12345678")}, ResendAfter: time.Minute}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Hour)
		c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("D1", "12345678"), offer("D2", "12345678")}, ResendAfter: time.Hour})
		if err != nil || len(c.Refs) != 2 {
			t.Fatalf("claim got %v (err %v)", c.Refs, err)
		}
		clk.add(time.Second)
		if err := s.Release(ctx, c); err != nil {
			t.Fatal(err)
		}
		tr, _ := s.Tracked(ctx, []string{"D1", "D2"})
		if _, ok := tr["D2"]; ok {
			t.Fatalf("D2 still tracked after release of its first send")
		}
		if tr["D1"].SendCount != 1 || !tr["D1"].Offerable(clk.now()) {
			t.Fatalf("D1 = %+v, want send_count 1 and offerable now", tr["D1"])
		}
		c, err = s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("D1", "12345678"), offer("D2", "12345678")}, ResendAfter: time.Hour})
		if err != nil || len(c.Refs) != 2 {
			t.Fatalf("claim after release got %v (err %v), want both", c.Refs, err)
		}
	})
}

// A webhook settled between a first offer and its release keeps the charge,
// its timeline and its write-back.
func TestReleaseKeepsAFirstOfferAWebhookReached(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		clk := newClock(at)
		s := db.open(t, clk)
		ctx := context.Background()
		c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("R1", "12345678"), offer("R2", "12345678"), offer("R3", "12345678")}})
		if err != nil || len(c.Refs) != 3 {
			t.Fatalf("claim got %v (err %v)", c.Refs, err)
		}
		for _, d := range []WebhookDelivery{
			delivery("T-1", "Aprobada", "150000.50", "R1"), // paid, write-back queued
			delivery("T-2", "Aprobada", "99", "R2"),        // flagged: still sent
		} {
			if _, err := s.Settle(ctx, d, decideForTest(d, at)); err != nil {
				t.Fatal(err)
			}
		}
		clk.add(time.Second)
		if err := s.Release(ctx, c); err != nil {
			t.Fatal(err)
		}
		tr, err := s.Tracked(ctx, []string{"R1", "R2", "R3"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tr["R3"]; ok {
			t.Errorf("R3 still tracked after release of its first send")
		}
		if got := tr["R1"].Status; got != models.StatusPaid {
			t.Errorf("R1: got status %q, want %q", got, models.StatusPaid)
		}
		if !tr["R2"].Offerable(clk.now()) {
			t.Errorf("R2 = %+v, want offerable now", tr["R2"])
		}
		var counts struct{ Events, Jobs, Webhooks int64 }
		if err := s.read.Raw(`SELECT (SELECT COUNT(*) FROM charge_events) AS events, (SELECT COUNT(*) FROM writebacks) AS jobs,
			(SELECT COUNT(*) FROM webhook_events WHERE charge_id IS NOT NULL) AS webhooks`).Scan(&counts).Error; err != nil {
			t.Fatal(err)
		}
		// R1: sent, webhook, write-back queued; R2: sent, webhook, released.
		if counts.Events != 6 || counts.Jobs != 1 || counts.Webhooks != 2 {
			t.Errorf("got %d timeline entries, %d jobs, %d webhooks tied to a charge; want 6, 1, 2", counts.Events, counts.Jobs, counts.Webhooks)
		}
	})
}

func TestHeldBackIsCountedAndClearedWhenFixed(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		hb := HeldBack{RefPayment: "E1", IDNumber: "12345678", Violations: []validation.Violation{{Field: "recauda_information.amount", Rule: "decimal_places", Message: "3 decimals"}}}
		for i := 0; i < 3; i++ {
			if _, err := s.Claim(ctx, ClaimRequest{HeldBack: []HeldBack{hb}}); err != nil {
				t.Fatal(err)
			}
		}
		var row models.HeldBackRow
		if err := s.read.First(&row, "ref_payment = ?", "E1").Error; err != nil {
			t.Fatal(err)
		}
		if row.SeenCount != 3 {
			t.Fatalf("seen_count = %d, want 3", row.SeenCount)
		}
		if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("E1", "12345678")}}); err != nil {
			t.Fatal(err)
		}
		var n int64
		s.read.Model(&models.HeldBackRow{}).Where("ref_payment = ?", "E1").Count(&n)
		if n != 0 {
			t.Fatalf("held_back rows for E1 = %d after it was sent, want 0", n)
		}
	})
}

func TestConcurrentClaimsWinEachRefOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		var offers []Offer
		for i := 0; i < 5; i++ {
			offers = append(offers, offer(fmt.Sprintf("F%d", i), "12345678"))
		}
		var mu sync.Mutex
		won := map[string]int{}
		var wg sync.WaitGroup
		for g := 0; g < 50; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.Claim(ctx, ClaimRequest{Offers: offers, ResendAfter: time.Hour})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range c.Refs {
					won[r]++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		for _, o := range offers {
			if won[o.RefPayment] != 1 {
				t.Errorf("ref %s won %d times, want 1", o.RefPayment, won[o.RefPayment])
			}
		}
	})
}

func TestClaimChunksLargeAnswers(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		var offers []Offer
		for i := 0; i < 1203; i++ {
			offers = append(offers, offer(fmt.Sprintf("G%04d", i), "12345678"))
		}
		c, err := s.Claim(context.Background(), ClaimRequest{Offers: offers})
		if err != nil || len(c.Refs) != 1203 {
			t.Fatalf("claimed %d (err %v), want 1203", len(c.Refs), err)
		}
	})
}

func TestClosedDatabaseIsUnavailable(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t, newClock(time.Now()))
		s.Close()
		_, err := s.Tracked(context.Background(), []string{"X"})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
}

func TestTimesReadBackInUTC(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 123456000, time.UTC))
		s := db.open(t, clk)
		claimAt(t, s, offer("U1", "12345678"))
		rows, _, err := s.ListCharges(context.Background(), ChargeFilter{})
		if err != nil || len(rows) != 1 {
			t.Fatalf("list: %v, %v", rows, err)
		}
		c := rows[0]
		for name, got := range map[string]time.Time{"created_at": c.CreatedAt, "updated_at": c.UpdatedAt, "last_sent_at": *c.LastSentAt, "offer_after": *c.OfferAfter} {
			if got.Location() != time.UTC {
				t.Errorf("%s location = %s, want UTC", name, got.Location())
			}
		}
		if !c.CreatedAt.Equal(clk.now()) {
			t.Errorf("created_at = %s, want %s (microseconds kept)", c.CreatedAt, clk.now())
		}
	})
}

func TestPostgresPoolNeedsTwoConnections(t *testing.T) {
	_, err := Open(context.Background(), models.DialectPostgres, "postgres://127.0.0.1:1/none", Options{MaxOpenConns: 1})
	if err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Fatalf("got %v, want an error asking for at least 2 connections", err)
	}
}

// Two lookups may offer the same refs in different orders (an ERP without a
// stable order, two replicas): their claims must queue, never deadlock.
func TestClaimsInOppositeOrdersNeverDeadlock(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		for round := 0; round < 20; round++ {
			var forward, backward []Offer
			for i := 0; i < 10; i++ {
				forward = append(forward, offer(fmt.Sprintf("O%02d-%d", round, i), "12345678"))
			}
			for i := len(forward) - 1; i >= 0; i-- {
				backward = append(backward, forward[i])
			}
			won := map[string]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, offers := range [][]Offer{forward, backward, forward, backward} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := s.Claim(ctx, ClaimRequest{Offers: offers, ResendAfter: time.Hour})
					if err != nil {
						t.Errorf("round %d: claim: %v", round, err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					for _, r := range c.Refs {
						won[r]++
					}
				}()
			}
			wg.Wait()
			for _, o := range forward {
				if won[o.RefPayment] != 1 {
					t.Fatalf("round %d: %s won %d times, want 1", round, o.RefPayment, won[o.RefPayment])
				}
			}
		}
	})
}

func TestDerivedBalanceCharges(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		b1, b2 := offer("P1-B1", "12345678"), offer("P1-B2", "12345678")
		b1.ParentRef, b2.ParentRef = "P1", "P1"
		b1.Amount, b2.Amount = decimal.RequireFromString("50000.25"), decimal.RequireFromString("0.75")
		claimAt(t, s, offer("P1", "12345678"))
		claimAt(t, s, b1)
		clk.add(time.Second)
		claimAt(t, s, b2)
		got, err := s.Derived(ctx, []string{"P1", "NONE"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || len(got["P1"]) != 2 || got["P1"][0].RefPayment != "P1-B1" || got["P1"][1].RefPayment != "P1-B2" {
			t.Fatalf("derived = %+v, want P1 → [P1-B1 P1-B2]", got)
		}
		if d := got["P1"][1]; !d.Amount.Equal(b2.Amount) || d.ParentRef != "P1" || !d.PaidAmount.IsZero() {
			t.Fatalf("P1-B2 = %+v, want amount 0.75 exactly, parent P1, nothing paid", d)
		}

		// A webhook whose references match both the parent and a balance
		// charge is ambiguous: stored, applied to neither.
		res := settle(t, s, "P1", "T-AMB", "Aprobada", "pse", paidDecision("T-AMB", clk.now()))
		if res.Outcome != models.OutcomeApplied {
			t.Fatalf("settle of P1 alone: %s, want applied", res.Outcome)
		}
		res, err = s.Settle(ctx, WebhookDelivery{Body: []byte(`{}`), TransactionID: "T-2", Status: "Aprobada",
			Amount: b1.Amount, Currency: "COP", References: []string{"P1-B1", "P1-B2"}},
			func(ChargeState) Decision { t.Fatal("decide called for an ambiguous delivery"); return Decision{} })
		if err != nil || res.Outcome != models.OutcomeUnmatched || !strings.Contains(res.Detail, "ambiguous") {
			t.Fatalf("ambiguous delivery: %+v, %v; want unmatched (ambiguous)", res, err)
		}
	})
}
