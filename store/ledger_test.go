package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

func ledgerCharge(ref, id string) erp.Charge {
	yes := true
	return erp.Charge{
		RefPayment: ref, IDNumber: id, PayerName: "Ana María Gómez", Description: "Cuota de administración " + ref,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", LimitDate: "2030-02-15",
		Advance:    &erp.Advance{Type: models.AdvanceMinimumPercent, Value: decimal.RequireFromString("30")},
		References: []string{"APTO-301"}, HasComments: true, CommentsLabel: "Observaciones",
		Discount:               &erp.Discount{BeforeOn: "2030-02-01", Type: models.DiscountValue, Value: decimal.RequireFromString("5000")},
		Delivery:               &erp.Delivery{Type: models.DeliveryPaid, Value: decimal.RequireFromString("12000.5")},
		RequestAddressDelivery: &yes, SelectedTaxes: []int64{3, 7},
		Metadata: []byte(`{"torre":"B"}`),
	}
}

// ledgerStores runs f on every dialect (eachDialect), with a fresh migrated
// database and a settable clock.
func ledgerStores(t *testing.T, f func(t *testing.T, s *Store, clk *clock)) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC))
		f(t, db.open(t, clk), clk)
	})
}

func TestLedgerCreateReadListCancel(t *testing.T) {
	ledgerStores(t, func(t *testing.T, s *Store, clk *clock) {
		ctx := context.Background()
		want := ledgerCharge("L-1", "1032456789")
		if _, err := s.CreateLedgerCharge(ctx, want); err != nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := s.CreateLedgerCharge(ctx, want); !errors.Is(err, ErrConflict) {
			t.Fatalf("create again: got %v, want ErrConflict", err)
		}
		got, err := s.LedgerCharge(ctx, "L-1")
		if err != nil {
			t.Fatal(err)
		}
		if g, w := LedgerHash(got.Charge), LedgerHash(want); g != w {
			t.Errorf("read back content differs:\ngot  %+v\nwant %+v", got.Charge, want)
		}
		if got.Status != models.LedgerOpen || !got.PaidAmount.IsZero() {
			t.Errorf("got status %s paid %s, want open 0", got.Status, got.PaidAmount)
		}
		if _, err := s.LedgerCharge(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown ref: got %v, want ErrNotFound", err)
		}

		clk.add(time.Minute)
		if _, err := s.CreateLedgerCharge(ctx, ledgerCharge("L-2", "1032456789")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateLedgerCharge(ctx, ledgerCharge("L-3", "79845123")); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Minute)
		c, err := s.CancelLedgerCharge(ctx, "L-2")
		if err != nil || c.Status != models.LedgerCancelled {
			t.Fatalf("cancel: got %v %v, want cancelled", c.Status, err)
		}
		if c, err := s.CancelLedgerCharge(ctx, "L-2"); err != nil || c.Status != models.LedgerCancelled {
			t.Fatalf("cancel again: got %v %v, want cancelled, no error", c.Status, err)
		}
		if _, err := s.CancelLedgerCharge(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
			t.Errorf("cancel unknown: got %v, want ErrNotFound", err)
		}

		tests := []struct {
			name  string
			f     LedgerFilter
			refs  []string
			total int64
		}{
			{"all, newest change first", LedgerFilter{}, []string{"L-2", "L-3", "L-1"}, 3},
			{"by id_number", LedgerFilter{IDNumber: "1032456789"}, []string{"L-2", "L-1"}, 2},
			{"by status", LedgerFilter{Status: models.LedgerOpen}, []string{"L-3", "L-1"}, 2},
			{"second page", LedgerFilter{Page: 2, PerPage: 2}, []string{"L-1"}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, total, err := s.ListLedger(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var refs []string
				for _, r := range rows {
					refs = append(refs, r.Charge.RefPayment)
				}
				if fmt.Sprint(refs) != fmt.Sprint(tt.refs) || total != tt.total {
					t.Errorf("got %v total %d, want %v total %d", refs, total, tt.refs, tt.total)
				}
			})
		}
	})
}

func TestLedgerUpdate(t *testing.T) {
	ledgerStores(t, func(t *testing.T, s *Store, clk *clock) {
		ctx := context.Background()
		if _, err := s.CreateLedgerCharge(ctx, ledgerCharge("L-1", "1032456789")); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Hour)
		got, err := s.UpdateLedgerCharge(ctx, "L-1", func(c erp.Charge) (erp.Charge, error) {
			c.Amount = decimal.RequireFromString("200000")
			c.Discount = nil
			c.RefPayment, c.IDNumber = "HIJACK", "99999999" // ignored
			return c, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		read, _ := s.LedgerCharge(ctx, "L-1")
		if !read.Charge.Amount.Equal(decimal.RequireFromString("200000")) || read.Charge.Discount != nil ||
			read.Charge.IDNumber != "1032456789" || !read.UpdatedAt.Equal(clk.now()) {
			t.Errorf("after update: got %+v updated %v", read.Charge, read.UpdatedAt)
		}
		if LedgerHash(got.Charge) != LedgerHash(read.Charge) {
			t.Errorf("answer and stored content differ")
		}

		boom := errors.New("invalid")
		if _, err := s.UpdateLedgerCharge(ctx, "L-1", func(c erp.Charge) (erp.Charge, error) { return c, boom }); err != boom {
			t.Errorf("change error: got %v, want it returned as is", err)
		}
		if _, err := s.UpdateLedgerCharge(ctx, "NOPE", func(c erp.Charge) (erp.Charge, error) { return c, nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown: got %v, want ErrNotFound", err)
		}
		if _, err := s.CancelLedgerCharge(ctx, "L-1"); err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateLedgerCharge(ctx, "L-1", func(c erp.Charge) (erp.Charge, error) { return c, nil })
		var se *StateError
		if !errors.As(err, &se) || se.Status != models.LedgerCancelled || !errors.Is(err, ErrConflict) {
			t.Errorf("change cancelled: got %v, want a StateError matching ErrConflict", err)
		}
	})
}

func TestLedgerPaymentsAndPending(t *testing.T) {
	ledgerStores(t, func(t *testing.T, s *Store, clk *clock) {
		ctx := context.Background()
		for _, ref := range []string{"L-1", "L-2", "L-3"} {
			if _, err := s.CreateLedgerCharge(ctx, ledgerCharge(ref, "1032456789")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CancelLedgerCharge(ctx, "L-3"); err != nil {
			t.Fatal(err)
		}
		pay := func(ref, txn, amount, status string) bool {
			t.Helper()
			found, err := s.LedgerRecordPayment(ctx, erp.Payment{RefPayment: ref, IDNumber: "1032456789",
				Amount: decimal.RequireFromString(amount), Currency: "COP", TransactionID: txn, Status: status,
				PaidAt: clk.now(), PaymentMethod: "PSE"})
			if err != nil {
				t.Fatalf("record %s %s: %v", ref, txn, err)
			}
			return found
		}
		// L-1: an advance, recorded twice, then the balance.
		pay("L-1", "T1", "50000.50", models.StatusPartiallyPaid)
		pay("L-1", "T1", "50000.50", models.StatusPartiallyPaid)
		pending, err := s.LedgerPending(ctx, "1032456789")
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 2 || pending[0].RefPayment != "L-1" || pending[1].RefPayment != "L-2" {
			t.Fatalf("pending: got %+v, want L-1 and L-2", pending)
		}
		if got := pending[0]; !got.Amount.Equal(decimal.RequireFromString("100000")) || got.Advance != nil || got.Discount != nil {
			t.Errorf("partly paid L-1 offered as %s advance %v discount %v, want the balance 100000, neither", got.Amount, got.Advance, got.Discount)
		}
		if got := pending[1]; !got.Amount.Equal(decimal.RequireFromString("150000.50")) || got.Advance == nil {
			t.Errorf("unpaid L-2 offered as %s advance %v, want 150000.50 with its advance", got.Amount, got.Advance)
		}
		pay("L-1", "T2", "100000", models.StatusPaid)
		// L-2: paid with the early discount: less than the amount, still paid.
		pay("L-2", "T3", "145000.50", models.StatusPaid)
		if found := pay("NOPE", "T4", "1000", models.StatusPaid); found {
			t.Error("payment of an unknown ref: found = true, want false")
		}

		for ref, want := range map[string]struct{ status, paid, txn string }{
			"L-1": {models.LedgerPaid, "150000.50", "T2"},
			"L-2": {models.LedgerPaid, "145000.50", "T3"},
		} {
			c, err := s.LedgerCharge(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != want.status || !c.PaidAmount.Equal(decimal.RequireFromString(want.paid)) || c.TransactionID != want.txn || c.PaidAt == nil {
				t.Errorf("%s: got %s paid %s txn %s at %v, want %s paid %s txn %s", ref, c.Status, c.PaidAmount, c.TransactionID, c.PaidAt,
					want.status, want.paid, want.txn)
			}
		}
		if pending, _ := s.LedgerPending(ctx, "1032456789"); len(pending) != 0 {
			t.Errorf("pending after payment: got %d charges, want none", len(pending))
		}
		var n int64
		s.read.Model(&models.LedgerPaymentRow{}).Count(&n)
		if n != 3 {
			t.Errorf("ledger payments: got %d rows, want 3 (a transaction once)", n)
		}
		if _, err := s.CancelLedgerCharge(ctx, "L-1"); !errors.Is(err, ErrConflict) {
			t.Errorf("cancel paid: got %v, want ErrConflict", err)
		}
	})
}

func TestUpsertLedger(t *testing.T) {
	ledgerStores(t, func(t *testing.T, s *Store, clk *clock) {
		ctx := context.Background()
		var charges []erp.Charge
		for i := range 1203 { // three batches
			charges = append(charges, ledgerCharge(fmt.Sprintf("IMP-%04d", i), "1032456789"))
		}
		var progress []int
		res, err := s.UpsertLedger(ctx, charges, LedgerImportOptions{Progress: func(n int) { progress = append(progress, n) }})
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 1203 || res.Updated+res.Unchanged+len(res.Refused) != 0 {
			t.Fatalf("first import: got %+v, want 1203 created", res)
		}
		if fmt.Sprint(progress) != "[500 1000 1203]" {
			t.Errorf("progress: got %v, want [500 1000 1203]", progress)
		}
		res, err = s.UpsertLedger(ctx, charges, LedgerImportOptions{Atomic: true})
		if err != nil || res.Unchanged != 1203 || res.Created+res.Updated+len(res.Refused) != 0 {
			t.Fatalf("same import again: got %+v %v, want 1203 unchanged", res, err)
		}

		// Pay one, cancel one, then import changes to them and to others.
		if _, err := s.LedgerRecordPayment(ctx, erp.Payment{RefPayment: "IMP-0001", Amount: decimal.RequireFromString("150000.50"),
			Currency: "COP", TransactionID: "T1", Status: models.StatusPaid}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CancelLedgerCharge(ctx, "IMP-0002"); err != nil {
			t.Fatal(err)
		}
		changed := func(ref, id string) erp.Charge {
			c := ledgerCharge(ref, id)
			c.Description = "Cuota extraordinaria " + ref
			return c
		}
		next := []erp.Charge{
			charges[0],                           // unchanged
			changed("IMP-0001", "1032456789"),    // paid: refused
			changed("IMP-0002", "1032456789"),    // cancelled: refused
			ledgerCharge("IMP-0003", "79845123"), // another customer's ref: refused
			changed("IMP-0004", "1032456789"),    // updated
			ledgerCharge("NEW-1", "1032456789"),  // created
			ledgerCharge("NEW-1", "1032456789"),  // repeated: refused
		}
		before, _ := s.LedgerCharge(ctx, "IMP-0004")
		res, err = s.UpsertLedger(ctx, next, LedgerImportOptions{Atomic: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res.RolledBack || len(res.Refused) != 4 {
			t.Fatalf("atomic import with refusals: got %+v, want rolled back with 4 refused", res)
		}
		if _, err := s.LedgerCharge(ctx, "NEW-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("after rollback NEW-1: got %v, want ErrNotFound", err)
		}
		if c, _ := s.LedgerCharge(ctx, "IMP-0004"); c.Charge.Description != before.Charge.Description {
			t.Errorf("after rollback IMP-0004 changed to %q", c.Charge.Description)
		}

		clk.add(time.Hour)
		res, err = s.UpsertLedger(ctx, next, LedgerImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.RolledBack || res.Created != 1 || res.Updated != 1 || res.Unchanged != 1 || len(res.Refused) != 4 {
			t.Fatalf("import skipping refusals: got %+v, want 1 created, 1 updated, 1 unchanged, 4 refused", res)
		}
		var idx []int
		for _, r := range res.Refused {
			idx = append(idx, r.Index)
		}
		if fmt.Sprint(idx) != "[1 2 3 6]" {
			t.Errorf("refused indexes: got %v, want [1 2 3 6]", idx)
		}
		c, _ := s.LedgerCharge(ctx, "IMP-0004")
		if c.Charge.Description != "Cuota extraordinaria IMP-0004" || !c.UpdatedAt.Equal(clk.now()) {
			t.Errorf("IMP-0004: got %q updated %v, want the new description now", c.Charge.Description, c.UpdatedAt)
		}
		if c, _ := s.LedgerCharge(ctx, "IMP-0001"); c.Status != models.LedgerPaid || c.Charge.Description != "Cuota de administración IMP-0001" {
			t.Errorf("paid IMP-0001 changed: %s %q", c.Status, c.Charge.Description)
		}
		hashes, err := s.LedgerHashes(ctx, []string{"IMP-0004", "NOPE"})
		if err != nil || len(hashes) != 1 || hashes["IMP-0004"] != LedgerHash(changed("IMP-0004", "1032456789")) {
			t.Errorf("hashes: got %v %v", hashes, err)
		}
	})
}

func TestLedgerHashIgnoresFormatting(t *testing.T) {
	a, b := ledgerCharge("L-1", "1032456789"), ledgerCharge("L-1", "1032456789")
	b.Amount = decimal.RequireFromString("150000.5000")
	if LedgerHash(a) != LedgerHash(b) {
		t.Error("150000.50 and 150000.5000 hash differently")
	}
	b.LimitDate = "2030-02-16"
	if LedgerHash(a) == LedgerHash(b) {
		t.Error("a changed limit date hashes the same")
	}
}
