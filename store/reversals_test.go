package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// settleReversal settles a reversal of txn on ref whose decision queues a
// reversal job, and returns the job queued (0: none).
func settleReversal(t *testing.T, s *Store, ref, txn, status string) int64 {
	t.Helper()
	res, err := s.Settle(context.Background(), WebhookDelivery{
		Body: []byte(`{"transaction":"` + txn + `","status":"` + status + `"}`), TransactionID: txn, Status: status,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", References: []string{ref},
	}, func(c ChargeState) Decision {
		zero := decimal.Zero
		return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusReversed, PaidAmount: &zero, OfferNow: true,
			WritebackKind: models.WritebackReversal,
			Writeback:     []byte(`{"RefPayment":"` + ref + `","TransactionID":"` + txn + `"}`)}
	})
	if err != nil || res.Outcome != models.OutcomeApplied {
		t.Fatalf("settle reversal %s: got %+v, err %v; want applied", ref, res, err)
	}
	return res.WritebackID
}

func TestReversalJobFollowsItsPayment(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		pay := enqueueWriteback(t, s, "R1", "tx-1")
		revID := settleReversal(t, s, "R1", "tx-1", "Reversada")
		if revID == 0 || revID == pay.ID {
			t.Fatalf("reversal job = %d, want a job of its own beside payment job %d", revID, pay.ID)
		}
		rev, err := s.GetWriteback(ctx, revID)
		if err != nil {
			t.Fatal(err)
		}
		if rev.Kind != models.WritebackReversal || rev.RefPayment != "R1" || rev.TransactionID != "tx-1" || rev.State != models.WritebackPending {
			t.Fatalf("reversal job = %+v, want a pending reversal of R1 / tx-1", rev)
		}
		if pay.Kind != models.WritebackPayment {
			t.Fatalf("payment job kind = %q, want %q", pay.Kind, models.WritebackPayment)
		}
		// The same reversal told again (another spelling of its status)
		// queues nothing more.
		if again := settleReversal(t, s, "R1", "tx-1", "Reversed"); again != 0 {
			t.Fatalf("second reversal queued job %d, want none", again)
		}

		// The payment goes first; the reversal is not due while it waits.
		if got := mustLease(t, s, time.Minute); got.ID != pay.ID {
			t.Fatalf("first lease got job %d (%s), want the payment %d", got.ID, got.Kind, pay.ID)
		}
		wantNoLease(t, s)
		next := clk.now().Add(30 * time.Second)
		if err := s.FailWriteback(ctx, pay.ID, "erp down", next); err != nil {
			t.Fatal(err)
		}
		if due, ok, err := s.DueWritebackAt(ctx); err != nil || !ok || !due.Equal(next) {
			t.Fatalf("due = %v %v %v, want the payment's next attempt %v, not the waiting reversal", due, ok, err, next)
		}
		wantNoLease(t, s)
		clk.set(next)
		if got := mustLease(t, s, time.Minute); got.ID != pay.ID {
			t.Fatalf("lease after back-off got job %d, want the payment %d", got.ID, pay.ID)
		}
		if err := s.CompleteWriteback(ctx, pay.ID); err != nil {
			t.Fatal(err)
		}
		got := mustLease(t, s, time.Minute)
		if got.ID != revID || got.Kind != models.WritebackReversal {
			t.Fatalf("lease after the payment got %+v, want the reversal %d", got, revID)
		}
		if err := s.CompleteWriteback(ctx, revID); err != nil {
			t.Fatal(err)
		}
		kinds := timelineKinds(t, s, pay.ChargeID)
		if n := countKind(kinds, "writeback_enqueued"); n != 2 {
			t.Errorf("timeline %v: got %d writeback_enqueued, want 2 (payment, reversal)", kinds, n)
		}
		if n := countKind(kinds, "writeback_done"); n != 2 {
			t.Errorf("timeline %v: got %d writeback_done, want 2", kinds, n)
		}
	})
}

func TestReversalOfACancelledPaymentIsDue(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
		pay := enqueueWriteback(t, s, "R1", "tx-1")
		revID := settleReversal(t, s, "R1", "tx-1", "Reversada")
		if _, err := s.CancelWriteback(context.Background(), pay.ID); err != nil {
			t.Fatal(err)
		}
		if got := mustLease(t, s, time.Minute); got.ID != revID {
			t.Fatalf("lease got %d, want the reversal %d once its payment is cancelled", got.ID, revID)
		}
	})
}

func TestHoldWritebackWaitsForTheOperator(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		pay := enqueueWriteback(t, s, "R1", "tx-1")
		revID := settleReversal(t, s, "R1", "tx-1", "Reversada")
		mustLease(t, s, time.Minute)
		if err := s.CompleteWriteback(ctx, pay.ID); err != nil {
			t.Fatal(err)
		}
		mustLease(t, s, time.Minute)
		if err := s.HoldWriteback(ctx, revID, "the ERP source cannot record reversals"); err != nil {
			t.Fatal(err)
		}
		job, err := s.GetWriteback(ctx, revID)
		if err != nil {
			t.Fatal(err)
		}
		if job.State != models.WritebackNeedsOperator || job.Attempts != 1 || job.LastError != "the ERP source cannot record reversals" {
			t.Fatalf("held job = %+v, want needs_operator, 1 attempt, the cause", job)
		}
		clk.add(24 * time.Hour)
		wantNoLease(t, s)
		if _, ok, err := s.DueWritebackAt(ctx); err != nil || ok {
			t.Fatalf("due: ok %v err %v, want nothing due", ok, err)
		}
		if n, err := s.WritebacksNeedingOperator(ctx); err != nil || n != 1 {
			t.Fatalf("needing the operator: got %d (%v), want 1", n, err)
		}
		if err := s.HoldWriteback(ctx, revID, "again"); !errors.Is(err, ErrConflict) {
			t.Fatalf("hold of a held job: got %v, want ErrConflict", err)
		}
		list, total, err := s.ListWritebacks(ctx, WritebackFilter{State: models.WritebackNeedsOperator})
		if err != nil || total != 1 || len(list) != 1 || list[0].ID != revID {
			t.Fatalf("list needs_operator = %+v (%d, %v), want the held job", list, total, err)
		}
		if n := countKind(timelineKinds(t, s, job.ChargeID), "writeback_needs_operator"); n != 1 {
			t.Errorf("timeline: got %d writeback_needs_operator, want 1", n)
		}

		// Retried (the source was configured since): pending and due again.
		if w, err := s.RetryWriteback(ctx, revID); err != nil || w.State != models.WritebackPending {
			t.Fatalf("retry = %+v, %v; want pending", w, err)
		}
		if got := mustLease(t, s, time.Minute); got.ID != revID {
			t.Fatalf("lease after retry got %d, want %d", got.ID, revID)
		}
		if err := s.HoldWriteback(ctx, revID, "still cannot"); err != nil {
			t.Fatal(err)
		}
		// Done by hand: cancelled.
		if w, err := s.CancelWriteback(ctx, revID); err != nil || w.State != models.WritebackCancelled {
			t.Fatalf("cancel = %+v, %v; want cancelled", w, err)
		}
	})
}

func TestMigrationKeepsWritebacksAsPayments(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.openEmpty(t, Options{Now: clk.now})
		all := migrations
		i := slices.IndexFunc(all, func(m migration) bool { return m.name == "write-back jobs of reversals" })
		migrations = slices.Clone(all[:i]) // the schema before reversal jobs
		_, err := s.Migrate(ctx)
		migrations = all
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer("M1", "1032456789")}}); err != nil {
			t.Fatal(err)
		}
		if err := s.write.Exec(`INSERT INTO writebacks (charge_id, ref_payment, transaction_id, payment, state, next_attempt_at, created_at, updated_at)
			SELECT id, ref_payment, 'tx-1', '{}', 'done', ?, ?, ? FROM charges WHERE ref_payment = 'M1'`,
			clk.now(), clk.now(), clk.now()).Error; err != nil {
			t.Fatal(err)
		}
		if applied, err := s.Migrate(ctx); err != nil || len(applied) == 0 || applied[0] != all[i].version {
			t.Fatalf("migrate: applied %v, %v; want from %d on", applied, err, all[i].version)
		}
		list, _, err := s.ListWritebacks(ctx, WritebackFilter{})
		if err != nil || len(list) != 1 || list[0].Kind != models.WritebackPayment || list[0].State != models.WritebackDone {
			t.Fatalf("jobs after the migration = %+v (%v), want the done job as a payment", list, err)
		}
		// Its reversal now fits beside it, and ids go on after it.
		revID := settleReversal(t, s, "M1", "tx-1", "Reversada")
		if revID <= list[0].ID {
			t.Fatalf("reversal job %d, want a new id after %d", revID, list[0].ID)
		}
	})
}

func TestLedgerReversal(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s := db.open(t, newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)))
		c := erp.Charge{RefPayment: "LG-1", IDNumber: "1032456789", PayerName: "Ana Gómez", Description: "Cuota",
			Amount: decimal.RequireFromString("100000"), Currency: "COP"}
		if _, err := s.CreateLedgerCharge(ctx, c); err != nil {
			t.Fatal(err)
		}
		pay := erp.Payment{RefPayment: "LG-1", IDNumber: "1032456789", Amount: decimal.RequireFromString("100000"),
			Currency: "COP", TransactionID: "T1", Status: models.StatusPaid}
		if found, err := s.LedgerRecordPayment(ctx, pay); err != nil || !found {
			t.Fatalf("record payment: %v %v", found, err)
		}
		rev := erp.Reversal{RefPayment: "LG-1", IDNumber: "1032456789", Amount: pay.Amount, Currency: "COP", TransactionID: "T1"}
		for i := range 2 { // idempotent
			if found, err := s.LedgerRecordReversal(ctx, rev); err != nil || !found {
				t.Fatalf("reversal %d: %v %v", i+1, found, err)
			}
			got, err := s.LedgerPending(ctx, "1032456789")
			if err != nil || len(got) != 1 || !got[0].Amount.Equal(c.Amount) {
				t.Fatalf("pending after reversal %d = %+v (%v), want LG-1 for 100000", i+1, got, err)
			}
		}
		lc, err := s.LedgerCharge(ctx, "LG-1")
		if err != nil {
			t.Fatal(err)
		}
		if lc.Status != models.LedgerOpen || !lc.PaidAmount.IsZero() {
			t.Fatalf("ledger charge = %s paid %s, want open, 0", lc.Status, lc.PaidAmount)
		}
		var status string
		if err := s.read.Raw(`SELECT status FROM ledger_payments WHERE transaction_id = 'T1'`).Scan(&status).Error; err != nil || status != models.StatusReversed {
			t.Fatalf("ledger payment status = %q (%v), want reversed", status, err)
		}
		if found, err := s.LedgerRecordReversal(ctx, erp.Reversal{RefPayment: "NOPE", TransactionID: "T1"}); err != nil || found {
			t.Fatalf("reversal of an unknown ref: found %v, err %v; want not found", found, err)
		}
	})
}
