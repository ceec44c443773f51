package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// claimAt claims offers at the clock's current time.
func claimAt(t *testing.T, s *Store, offers ...Offer) {
	t.Helper()
	if _, err := s.Claim(context.Background(), ClaimRequest{Offers: offers, ResendAfter: time.Hour}); err != nil {
		t.Fatalf("claim: %v", err)
	}
}

// settle applies a webhook for ref with the given decision.
func settle(t *testing.T, s *Store, ref, txID, status, method string, dec Decision) SettleResult {
	t.Helper()
	res, err := s.Settle(context.Background(), WebhookDelivery{
		Body: []byte(fmt.Sprintf(`{"transaction":{"transaction_id":%q,"status":%q}}`, txID, status)), TransactionID: txID,
		Status: status, Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Production: true,
		PaymentMethod: method, References: []string{ref},
	}, func(ChargeState) Decision { return dec })
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	return res
}

func paidDecision(txID string, at time.Time) Decision {
	amount := decimal.RequireFromString("150000.50")
	return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid, PaidAmount: &amount, PaidAt: &at,
		TransactionID: txID, Writeback: []byte(`{"RefPayment":"x"}`)}
}

func refsOf(rows []models.TrackedCharge) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.RefPayment
	}
	return out
}

func TestListChargesFiltersAndPages(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
		clk := newClock(start)
		s := db.open(t, clk)
		ctx := context.Background()
		claimAt(t, s, offer("A1", "11111111"), offer("A2", "11111111"))
		clk.add(24 * time.Hour)
		claimAt(t, s, offer("B1", "22222222"))
		clk.add(24 * time.Hour)
		claimAt(t, s, offer("C1", "22222222"))
		settle(t, s, "C1", "T-1", "Aprobada", "credit", paidDecision("T-1", clk.now()))

		day := func(d int) time.Time { return time.Date(2026, 11, d, 5, 0, 0, 0, time.UTC) } // midnight in Bogotá
		tests := []struct {
			name      string
			f         ChargeFilter
			want      []string
			wantTotal int64
		}{
			{"all, newest activity first", ChargeFilter{}, []string{"C1", "B1", "A2", "A1"}, 4},
			{"status", ChargeFilter{Status: models.StatusPaid}, []string{"C1"}, 1},
			{"id_number", ChargeFilter{IDNumber: "22222222"}, []string{"C1", "B1"}, 2},
			{"ref_payment", ChargeFilter{RefPayment: "A2"}, []string{"A2"}, 1},
			{"ref_payment is exact", ChargeFilter{RefPayment: "A"}, []string{}, 0},
			{"from", ChargeFilter{UpdatedFrom: day(21)}, []string{"C1", "B1"}, 2},
			{"before", ChargeFilter{UpdatedBefore: day(21)}, []string{"A2", "A1"}, 2},
			{"one day", ChargeFilter{UpdatedFrom: day(21), UpdatedBefore: day(22)}, []string{"B1"}, 1},
			{"page 1 of 2", ChargeFilter{PerPage: 3}, []string{"C1", "B1", "A2"}, 4},
			{"page 2 of 2", ChargeFilter{Page: 2, PerPage: 3}, []string{"A1"}, 4},
			{"past the end", ChargeFilter{Page: 3, PerPage: 3}, []string{}, 4},
			{"huge page", ChargeFilter{Page: 1 << 62, PerPage: 200}, []string{}, 4},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rows, total, err := s.ListCharges(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := refsOf(rows); fmt.Sprint(got) != fmt.Sprint(tc.want) || total != tc.wantTotal {
					t.Fatalf("got %v total %d, want %v total %d", got, total, tc.want, tc.wantTotal)
				}
			})
		}
	})
}

func TestChargeDetail(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		claimAt(t, s, offer("D1", "11111111"), offer("D2", "11111111"))
		settle(t, s, "D1", "T-9", "Aprobada", "pse", paidDecision("T-9", clk.now()))
		settle(t, s, "D2", "T-10", "Pendiente", "pse", Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusInProgress})

		d, err := s.ChargeDetail(ctx, "D1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Charge.Status != models.StatusPaid {
			t.Fatalf("charge = %+v, want paid", d.Charge)
		}
		var kinds []string
		for _, e := range d.Events {
			kinds = append(kinds, e.Kind)
		}
		if fmt.Sprint(kinds) != "[sent webhook writeback_enqueued]" {
			t.Fatalf("timeline = %v, want [sent webhook writeback_enqueued]", kinds)
		}
		if len(d.Webhooks) != 1 || d.Webhooks[0].TransactionID != "T-9" || d.Webhooks[0].Body != "" {
			t.Fatalf("webhooks = %+v, want T-9 only, without body", d.Webhooks)
		}
		if len(d.Writebacks) != 1 || d.Writebacks[0].TransactionID != "T-9" || d.Writebacks[0].State != models.WritebackPending {
			t.Fatalf("writebacks = %+v, want one pending for T-9", d.Writebacks)
		}
		if _, err := s.ChargeDetail(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown ref: got %v, want ErrNotFound", err)
		}
	})
}

func TestOperatorTransitions(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		claimAt(t, s, offer("S1", "11111111"), offer("F1", "11111111"), offer("P1", "11111111"), offer("IP1", "11111111"))
		settle(t, s, "F1", "T-F", "Rechazada", "credit", Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusFailed})
		settle(t, s, "P1", "T-P", "Aprobada", "credit", paidDecision("T-P", clk.now()))
		settle(t, s, "IP1", "T-I", "Pendiente", "credit", Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusInProgress})
		clk.add(time.Minute)
		now := clk.now()

		// Release: an offerable charge becomes due now.
		c, err := s.ReleaseCharge(ctx, "S1")
		if err != nil || c.OfferAfter == nil || !c.OfferAfter.Equal(now) || !c.UpdatedAt.Equal(now) {
			t.Fatalf("release S1 = %+v, %v; want offer_after and updated_at = %s", c, err, now)
		}
		if tr, _ := s.Tracked(ctx, []string{"S1"}); !tr["S1"].Offerable(now) {
			t.Fatal("released S1 is not offerable now")
		}

		// Deactivate a failed charge, then activate: failed again, due now.
		c, err = s.DeactivateCharge(ctx, "F1")
		if err != nil || c.Status != models.StatusInactive || c.OfferAfter != nil {
			t.Fatalf("deactivate F1 = %s offer_after %v, %v; want inactive, no offer time", c.Status, c.OfferAfter, err)
		}
		if c, err = s.DeactivateCharge(ctx, "F1"); err != nil || c.Status != models.StatusInactive {
			t.Fatalf("deactivate again = %s, %v; want inactive, no error", c.Status, err)
		}
		if tr, _ := s.Tracked(ctx, []string{"F1"}); tr["F1"].Offerable(now) {
			t.Fatal("inactive F1 is offerable")
		}
		c, err = s.ActivateCharge(ctx, "F1")
		if err != nil || c.Status != models.StatusFailed || c.OfferAfter == nil || !c.OfferAfter.Equal(now) {
			t.Fatalf("activate F1 = %s offer_after %v, %v; want failed, due now", c.Status, c.OfferAfter, err)
		}
		if c, err = s.ActivateCharge(ctx, "F1"); err != nil || c.Status != models.StatusFailed {
			t.Fatalf("activate again = %s, %v; want failed unchanged", c.Status, err)
		}
		d, _ := s.ChargeDetail(ctx, "F1")
		var lines []string
		for _, e := range d.Events[len(d.Events)-2:] {
			lines = append(lines, e.Kind+":"+e.FromStatus+">"+e.ToStatus)
		}
		if fmt.Sprint(lines) != "[deactivated:failed>inactive activated:inactive>failed]" {
			t.Fatalf("timeline ends %v, want one deactivation and one activation", lines)
		}

		// Refusals.
		refused := []struct {
			name string
			do   func(context.Context, string) (models.TrackedCharge, error)
			ref  string
		}{
			{"release paid", s.ReleaseCharge, "P1"},
			{"release in progress", s.ReleaseCharge, "IP1"},
			{"deactivate paid", s.DeactivateCharge, "P1"},
			{"deactivate in progress", s.DeactivateCharge, "IP1"},
			{"activate paid", s.ActivateCharge, "P1"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.do(ctx, tc.ref)
				var se *StateError
				if !errors.As(err, &se) || !errors.Is(err, ErrConflict) || se.RefPayment != tc.ref {
					t.Fatalf("got %v, want a StateError for %s matching ErrConflict", err, tc.ref)
				}
			})
		}
		if _, err := s.DeactivateCharge(ctx, "S1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReleaseCharge(ctx, "S1"); !errors.Is(err, ErrConflict) {
			t.Fatalf("release inactive: got %v, want ErrConflict", err)
		}
		if c, err := s.ActivateCharge(ctx, "S1"); err != nil || c.Status != models.StatusSent {
			t.Fatalf("activate S1 = %s, %v; want sent", c.Status, err)
		}
		if _, err := s.ReleaseCharge(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown ref: got %v, want ErrNotFound", err)
		}
	})
}

func TestListHeldBack(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		held := []HeldBack{
			{RefPayment: "R1", IDNumber: "11111111", Violations: []validation.Violation{{Field: "recauda_information.amount", Rule: "decimal_places", Message: "m"}}},
			{RefPayment: "R2", IDNumber: "22222222", Violations: []validation.Violation{{Field: "a", Rule: "decimalxplaces", Message: "m"}, {Field: "b", Rule: "required", Message: "m"}}},
		}
		if _, err := s.Claim(ctx, ClaimRequest{HeldBack: held}); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute)
		if _, err := s.Claim(ctx, ClaimRequest{HeldBack: held[:1]}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			f    HeldBackFilter
			want string
		}{
			{"all, last seen first", HeldBackFilter{}, "[R1 R2]"},
			{"rule", HeldBackFilter{Rule: "decimal_places"}, "[R1]"},
			{"rule, _ is not a wildcard", HeldBackFilter{Rule: "decimalxplaces"}, "[R2]"},
			{"rule in second place", HeldBackFilter{Rule: "required"}, "[R2]"},
			{"rule prefix does not match", HeldBackFilter{Rule: "decimal"}, "[]"},
			{"id_number", HeldBackFilter{IDNumber: "22222222"}, "[R2]"},
			{"ref_payment", HeldBackFilter{RefPayment: "R1"}, "[R1]"},
			{"past the end", HeldBackFilter{Page: 2, PerPage: 2}, "[]"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rows, total, err := s.ListHeldBack(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var refs []string
				for _, r := range rows {
					refs = append(refs, r.RefPayment)
				}
				if got := fmt.Sprint(refs); got != tc.want {
					t.Fatalf("got %s (total %d), want %s", got, total, tc.want)
				}
			})
		}
		rows, _, _ := s.ListHeldBack(ctx, HeldBackFilter{RefPayment: "R1"})
		if r := rows[0]; r.SeenCount != 2 || len(r.Violations) != 1 || r.Violations[0].Rule != "decimal_places" || !r.LastSeenAt.After(r.FirstSeenAt) {
			t.Fatalf("R1 = %+v, want seen twice with its violation", r)
		}
	})
}

func TestWebhookEventsAndReceipt(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		claimAt(t, s, offer("W1", "11111111"))
		settle(t, s, "W1", "T-1", "Aprobada", "pse", paidDecision("T-1", clk.now()))
		settle(t, s, "W1", "T-1", "Aprobada", "pse", Decision{}) // the same again: duplicate
		settle(t, s, "ZZ", "T-2", "Aprobada", "credit", Decision{})

		rows, total, err := s.ListWebhookEvents(ctx, WebhookEventFilter{})
		if err != nil || total != 3 || len(rows) != 3 || rows[0].Outcome != models.OutcomeUnmatched || rows[0].Body != "" {
			t.Fatalf("list = %+v total %d, %v; want 3 newest first without bodies", rows, total, err)
		}
		rows, total, _ = s.ListWebhookEvents(ctx, WebhookEventFilter{Outcome: models.OutcomeDuplicate})
		if total != 1 || rows[0].Outcome != models.OutcomeDuplicate {
			t.Fatalf("duplicates = %+v total %d, want 1", rows, total)
		}
		ev, err := s.GetWebhookEvent(ctx, rows[0].ID)
		if err != nil || ev.Body == "" {
			t.Fatalf("get = %+v, %v; want the body", ev, err)
		}
		if _, err := s.GetWebhookEvent(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown event: got %v, want ErrNotFound", err)
		}

		r, err := s.ChargeReceipt(ctx, "W1")
		if err != nil || r.PaymentMethod != "pse" || r.Charge.Status != models.StatusPaid || r.Payload == "" {
			t.Fatalf("receipt = %+v, %v; want paid with method pse", r, err)
		}
		if _, err := s.ChargeReceipt(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown ref: got %v, want ErrNotFound", err)
		}
	})
}

// TestRejectionViolationParams checks that a held-back record keeps the
// values its violations name, and that one stored before violations had
// them still reads, with its message.
func TestRejectionViolationParams(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		params := map[string]string{"field": "recauda_information.amount", "max": "2", "got": "3"}
		held := HeldBack{RefPayment: "NEW", IDNumber: "11111111", Violations: []validation.Violation{{Field: "recauda_information.amount",
			Rule: "decimal_places", Message: "recauda_information.amount must have at most 2 decimal places; it has 3", Params: params}}}
		if _, err := s.Claim(ctx, ClaimRequest{HeldBack: []HeldBack{held}}); err != nil {
			t.Fatal(err)
		}
		old := `[{"field":"recauda_information.amount","rule":"decimal_places","message":"recauda_information.amount must have at most 2 decimal places; it has 3"}]`
		now := clk.now()
		if err := s.writeTx(ctx, func(tx *gorm.DB) error {
			return tx.Create(&models.HeldBackRow{RefPayment: "OLD", IDNumber: "22222222", Violations: old, FirstSeenAt: now, LastSeenAt: now, SeenCount: 1}).Error
		}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			ref  string
			want map[string]string
		}{
			{"NEW", params},
			{"OLD", nil},
		}
		for _, tc := range tests {
			t.Run(tc.ref, func(t *testing.T) {
				rows, _, err := s.ListHeldBack(ctx, HeldBackFilter{RefPayment: tc.ref})
				if err != nil || len(rows) != 1 || len(rows[0].Violations) != 1 {
					t.Fatalf("got %+v, %v; want one record with one violation", rows, err)
				}
				v := rows[0].Violations[0]
				if !reflect.DeepEqual(v.Params, tc.want) || v.Message != held.Violations[0].Message {
					t.Errorf("got params %v, message %q; want %v, %q", v.Params, v.Message, tc.want, held.Violations[0].Message)
				}
			})
		}
	})
}
