package store

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"recauda-bridge/models"
)

// The claim's SQL, Tracked.Offerable and models.OfferableStatuses agree on
// every charge state: a charge due again is claimed, and read as
// offerable, exactly when its state is in the list.
func TestClaimOffersExactlyTheOfferableStatuses(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		for _, status := range models.Statuses {
			t.Run(status, func(t *testing.T) {
				clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
				s := db.open(t, clk)
				ctx := context.Background()
				req := ClaimRequest{Offers: []Offer{offer("ST-1", "12345678")}, ResendAfter: time.Hour}
				if c, err := s.Claim(ctx, req); err != nil || len(c.Refs) != 1 {
					t.Fatalf("first claim: got %v, %v; want ST-1", c.Refs, err)
				}
				if err := s.writeTx(ctx, func(tx *gorm.DB) error {
					return tx.Exec(`UPDATE charges SET status = ? WHERE ref_payment = ?`, status, "ST-1").Error
				}); err != nil {
					t.Fatal(err)
				}
				clk.add(2 * time.Hour)
				want := models.OfferableStatus(status)
				tr, err := s.Tracked(ctx, []string{"ST-1"})
				if err != nil {
					t.Fatal(err)
				}
				if got := tr["ST-1"].Offerable(clk.now()); got != want {
					t.Errorf("Tracked.Offerable: got %v, want %v", got, want)
				}
				c, err := s.Claim(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(c.Refs) == 1; got != want {
					t.Errorf("claim after the resend delay: got claimed %v, want %v", got, want)
				}
			})
		}
	})
}
