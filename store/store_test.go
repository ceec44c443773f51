package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// clock is a settable fixed clock.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.t.Store(&t) }
func (c *clock) now() time.Time      { return *c.t.Load() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func openTest(t *testing.T, clk *clock) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "test.db"), Options{Now: clk.now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

func offer(ref, id string) Offer {
	return Offer{RefPayment: ref, IDNumber: id, PayerName: "Ana Gómez", Description: "Cuota " + ref,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Payload: []byte(`{"ref":"` + ref + `"}`)}
}

func TestMigrateIsIdempotent(t *testing.T) {
	s := openTest(t, newClock(time.Now()))
	ctx := context.Background()
	applied, err := s.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema: %v", err)
	}
}

func TestCheckSchemaRefusesNewDatabase(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, SQLite, filepath.Join(t.TempDir(), "new.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); !errors.Is(err, ErrSchemaOutdated) {
		t.Fatalf("got %v, want ErrSchemaOutdated", err)
	}
}

func TestClaimOffersOnceUntilResendAfter(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
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
}

func TestClaimNeverResendsWhenResendAfterIsZero(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()
	req := ClaimRequest{Offers: []Offer{offer("B1", "12345678")}}
	if c, _ := s.Claim(ctx, req); len(c.Refs) != 1 {
		t.Fatalf("first claim got %v, want B1", c.Refs)
	}
	clk.add(365 * 24 * time.Hour)
	if c, _ := s.Claim(ctx, req); len(c.Refs) != 0 {
		t.Fatalf("claim a year later got %v, want none", c.Refs)
	}
}

func TestClaimRefusesRefOfAnotherCustomer(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()
	if c, _ := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("C1", "11111111")}, ResendAfter: time.Minute}); len(c.Refs) != 1 {
		t.Fatal("setup claim failed")
	}
	clk.add(time.Hour)
	c, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("C1", "22222222")}, ResendAfter: time.Minute})
	if err != nil || len(c.Refs) != 0 {
		t.Fatalf("claim by another id got %v (err %v), want none", c.Refs, err)
	}
}

func TestReleaseUndoesClaim(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
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
}

func TestHeldBackIsCountedAndClearedWhenFixed(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	ctx := context.Background()
	hb := HeldBack{RefPayment: "E1", IDNumber: "12345678", Violations: []Violation{{Field: "recauda_information.amount", Rule: "decimal_places", Message: "3 decimals"}}}
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
}

func TestConcurrentClaimsWinEachRefOnce(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
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
}

func TestClaimChunksLargeAnswers(t *testing.T) {
	clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := openTest(t, clk)
	var offers []Offer
	for i := 0; i < 1203; i++ {
		offers = append(offers, offer(fmt.Sprintf("G%04d", i), "12345678"))
	}
	c, err := s.Claim(context.Background(), ClaimRequest{Offers: offers})
	if err != nil || len(c.Refs) != 1203 {
		t.Fatalf("claimed %d (err %v), want 1203", len(c.Refs), err)
	}
}

func TestClosedDatabaseIsUnavailable(t *testing.T) {
	s := openTest(t, newClock(time.Now()))
	s.Close()
	_, err := s.Tracked(context.Background(), []string{"X"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}
