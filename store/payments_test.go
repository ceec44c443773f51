package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// settleAs settles a delivery of txn on ref whose decision is dec.
func settleAs(t *testing.T, s *Store, ref, txn, status, amount, currency string, approved time.Time, dec Decision) SettleResult {
	t.Helper()
	res, err := s.Settle(context.Background(), WebhookDelivery{
		Body:          []byte(`{"transaction":{"transaction_id":"` + txn + `","status":"` + status + `","value_cop":"1.00"}}`),
		TransactionID: txn, Status: status, Amount: decimal.RequireFromString(amount), Currency: currency,
		PaymentMethod: "pse", ApprovedAt: approved, References: []string{ref},
	}, func(ChargeState) Decision { return dec })
	if err != nil {
		t.Fatalf("settle %s %s: %v", ref, txn, err)
	}
	return res
}

func moneyDecision(status string) Decision {
	return Decision{Outcome: models.OutcomeApplied, NewStatus: status, Writeback: []byte(`{}`)}
}

func TestPaymentsAreAppliedMoneyEventsByBogotaDay(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		clk := newClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		usd := offer("USD1", "900100")
		usd.Currency = "USD"
		child := offer("P1-B1", "900100")
		child.ParentRef = "P1"
		for _, o := range []Offer{offer("P1", "900100"), usd, child, offer("F1", "900200")} {
			if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{o}}); err != nil {
				t.Fatal(err)
			}
		}
		// 23:30 in Bogota on the 1st is 04:30 UTC on the 2nd.
		lateEvening := time.Date(2026, 12, 2, 4, 30, 0, 0, time.UTC)
		settleAs(t, s, "P1", "101", "Aprobada", "100.00", "COP", lateEvening, moneyDecision(models.StatusPartiallyPaid))
		settleAs(t, s, "USD1", "102", "Aprobada", "25.50", "USD", time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), moneyDecision(models.StatusPaid))
		settleAs(t, s, "P1-B1", "103", "Aprobada", "50.25", "COP", time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC), moneyDecision(models.StatusPaid))
		// Not money: a failed attempt, a flagged approval, and the same approval again.
		settleAs(t, s, "F1", "104", "Rechazada", "10.00", "COP", time.Time{}, Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusFailed})
		settleAs(t, s, "F1", "105", "Aprobada", "10.00", "COP", time.Time{}, Decision{Outcome: models.OutcomeFlagged})
		settleAs(t, s, "USD1", "102", "Aprobada", "25.50", "USD", time.Time{}, moneyDecision(models.StatusPaid))
		// A reversal has no approval time: it is dated when received.
		clk.set(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC))
		zero := decimal.Zero
		settleAs(t, s, "USD1", "102", "Reversada", "25.50", "USD", time.Time{}, Decision{Outcome: models.OutcomeApplied,
			NewStatus: models.StatusReversed, PaidAmount: &zero, WritebackKind: models.WritebackReversal, Writeback: []byte(`{}`)})

		day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, models.Bogota) }
		for _, tc := range []struct {
			name string
			f    PaymentFilter
			want []string // transaction/status_after
		}{
			{"all", PaymentFilter{}, []string{"101/partially_paid", "102/paid", "103/paid", "102/reversed"}},
			{"the 1st in Bogota", PaymentFilter{From: day(1), Before: day(2)}, []string{"101/partially_paid"}},
			{"the 2nd in Bogota", PaymentFilter{From: day(2), Before: day(3)}, []string{"102/paid", "103/paid"}},
			{"the 3rd", PaymentFilter{From: day(3), Before: day(4)}, []string{"102/reversed"}},
			{"currency", PaymentFilter{Currency: "USD"}, []string{"102/paid", "102/reversed"}},
			{"the ERP's ref finds its derived ref", PaymentFilter{RefPayment: "P1"}, []string{"101/partially_paid", "103/paid"}},
			{"a derived ref alone", PaymentFilter{RefPayment: "P1-B1"}, []string{"103/paid"}},
			{"id number", PaymentFilter{IDNumber: "900200"}, nil},
			{"method", PaymentFilter{PaymentMethod: "card"}, nil},
			{"page", PaymentFilter{Offset: 1, Limit: 2}, []string{"102/paid", "103/paid"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []string
				err := s.Payments(ctx, tc.f, func(p PaymentRecord) error {
					got = append(got, p.TransactionID+"/"+p.StatusAfter)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
				tc.f.Offset, tc.f.Limit = 0, 0
				if n, err := s.CountPayments(ctx, tc.f); err != nil || (tc.name != "page" && n != int64(len(tc.want))) {
					t.Fatalf("count = %d, %v; want %d", n, err, len(tc.want))
				}
			})
		}

		var rows []PaymentRecord
		if err := s.Payments(ctx, PaymentFilter{}, func(p PaymentRecord) error { rows = append(rows, p); return nil }); err != nil {
			t.Fatal(err)
		}
		first := rows[0]
		if first.ApprovedAt == nil || !first.ApprovedAt.Equal(lateEvening) || first.IDNumber != "900100" || first.PayerName != "Ana Gómez" ||
			first.WritebackState != models.WritebackPending || !first.Amount.Equal(decimal.RequireFromString("100")) || first.PaymentMethod != "pse" {
			t.Fatalf("first row = %+v, want P1's approval at %v with its charge and pending write-back", first, lateEvening)
		}
		if rows[2].ParentRef != "P1" || rows[2].RefPayment != "P1-B1" {
			t.Fatalf("derived row ref = %q, parent %q; want P1-B1 of P1", rows[2].RefPayment, rows[2].ParentRef)
		}
		if rev := rows[3]; rev.ApprovedAt != nil || !rev.Reversal() || rev.WritebackState != models.WritebackPending ||
			!rev.ReceivedAt.Equal(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)) {
			t.Fatalf("reversal row = %+v, want one dated by receipt with its own pending job", rev)
		}
	})
}

// Webhook events stored before the migration take the charge's state
// after them from the timeline entry their settle wrote, and no approval
// time.
func TestMigrationFillsPaymentsStateAfter(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.openEmpty(t, Options{})
		all := migrations
		migrations = migrations[:slices.IndexFunc(migrations, func(m migration) bool { return m.name == paymentsMigration })]
		_, err := s.Migrate(ctx)
		migrations = all
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
		var id int64
		if err := s.write.Raw(`INSERT INTO charges (ref_payment, id_number, amount, currency_type, status, created_at, updated_at)
			VALUES ('OLD1', '900100', '100', 'COP', 'paid', ?, ?) RETURNING id`, s.timeArg(at), s.timeArg(at)).Scan(&id).Error; err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{
			`INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at) VALUES (?, 'webhook', 'sent', 'paid', '', ?)`,
			`INSERT INTO webhook_events (received_at, body, body_hash, transaction_id, status, amount, currency_type, ref_payment, charge_id, outcome)
				VALUES (?, '{}', 'h', '7', 'Aprobada', '100', 'COP', 'OLD1', ?, 'applied')`,
		} {
			args := []any{id, s.timeArg(at)}
			if stmt[12] == 'w' {
				args = []any{s.timeArg(at), id}
			}
			if err := s.write.Exec(stmt, args...).Error; err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var got []PaymentRecord
		if err := s.Payments(ctx, PaymentFilter{}, func(p PaymentRecord) error { got = append(got, p); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].StatusAfter != models.StatusPaid || got[0].ApprovedAt != nil || !got[0].ReceivedAt.Equal(at) {
			t.Fatalf("got %+v, want OLD1's payment, paid, dated by receipt at %v", got, at)
		}
	})
}
