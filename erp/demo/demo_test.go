package demo_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/demo"
	"recauda-bridge/models"
)

// fixedNow is 03:00 UTC on 1 March 2026, still 28 February in Bogotá.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC) }

func TestPendingChargesPerCustomer(t *testing.T) {
	tests := []struct {
		idNumber string
		refs     []string
	}{
		{"1032456789", []string{"DEMO-MAT-2026-0417", "DEMO-SEG-2026-0417"}},
		{"79845123", []string{"DEMO-ADM-502-2026-03", "DEMO-MORA-502-2026-02"}},
		{"52789456", []string{"DEMO-ING-B2-7781"}},
		{"1017234567", []string{"DEMO-PED-4581", "DEMO-SUS-2026-04", "DEMO-MOL-0093"}},
		{"999999999", nil},
	}
	src := demo.New(fixedNow)
	for _, tt := range tests {
		t.Run(tt.idNumber, func(t *testing.T) {
			got, err := src.PendingCharges(context.Background(), tt.idNumber)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got == nil {
				t.Fatal("got nil slice, want an empty or full one")
			}
			var refs []string
			for _, c := range got {
				refs = append(refs, c.RefPayment)
				if c.IDNumber != tt.idNumber {
					t.Errorf("%s: id_number got %q, want %q", c.RefPayment, c.IDNumber, tt.idNumber)
				}
				if len(c.Defects) != 0 {
					t.Errorf("%s: defects got %v, want none", c.RefPayment, c.Defects)
				}
			}
			if !slices.Equal(refs, tt.refs) {
				t.Errorf("refs got %v, want %v", refs, tt.refs)
			}
		})
	}
}

func TestDatesFollowTheClockInBogota(t *testing.T) {
	now := fixedNow()
	src := demo.New(func() time.Time { return now })
	get := func() erp.Charge {
		t.Helper()
		got, err := src.PendingCharges(context.Background(), "1032456789")
		if err != nil || len(got) == 0 {
			t.Fatalf("got %v, %v; want charges", got, err)
		}
		return got[0]
	}
	c := get()
	if got, want := c.LimitDate, "2026-03-15"; got != want {
		t.Errorf("limit_date: got %s, want %s (28 Feb in Bogotá + 15 days)", got, want)
	}
	if c.Discount == nil || c.Discount.BeforeOn != "2026-03-05" {
		t.Errorf("discount: got %+v, want before_on 2026-03-05", c.Discount)
	}
	now = now.AddDate(1, 0, 0)
	if got, want := get().LimitDate, "2027-03-15"; got != want {
		t.Errorf("a year later, limit_date: got %s, want %s", got, want)
	}
}

// TestExactlyOneRecordBreaksARule checks the documented Efipay field rules
// on every demo charge: only DEMO-MORA-502-2026-02 may break one.
func TestExactlyOneRecordBreaksARule(t *testing.T) {
	src := demo.New(fixedNow)
	today := "2026-02-28"
	var broken []string
	currencies := map[string]int{}
	total := 0
	for _, id := range []string{"1032456789", "79845123", "52789456", "1017234567"} {
		charges, err := src.PendingCharges(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(charges) < 1 || len(charges) > 3 {
			t.Errorf("%s: got %d charges, want 1..3", id, len(charges))
		}
		for _, c := range charges {
			total++
			currencies[c.Currency]++
			if problems := rules(c, today); len(problems) > 0 {
				broken = append(broken, c.RefPayment)
				t.Logf("%s breaks: %v", c.RefPayment, problems)
			}
		}
	}
	if want := []string{"DEMO-MORA-502-2026-02"}; !slices.Equal(broken, want) {
		t.Errorf("records breaking a rule: got %v, want %v", broken, want)
	}
	if currencies["USD"] != 1 || currencies["COP"] != total-1 {
		t.Errorf("currencies: got %v, want one USD and the rest COP", currencies)
	}
}

// rules is a test-only reading of CONTRACT.md section 2.
func rules(c erp.Charge, today string) []string {
	var p []string
	n := utf8.RuneCountInString
	if l := n(c.Description); l < 4 || l > 191 {
		p = append(p, "description length")
	}
	if l := n(c.PayerName); l < 5 || l > 191 {
		p = append(p, "payer_name length")
	}
	if c.Amount.Exponent() < -2 || !c.Amount.IsPositive() || c.Amount.GreaterThanOrEqual(decimal.New(1, 10)) {
		p = append(p, "amount")
	}
	if !slices.Contains(models.Currencies, c.Currency) {
		p = append(p, "currency_type")
	}
	if len(c.IDNumber) < 5 {
		p = append(p, "id_number")
	}
	// The bridge adds ref_payment to the references: 2 of the 3 are left.
	if len(c.References) > 2 {
		p = append(p, "references")
	}
	if c.LimitDate != "" && c.LimitDate < today {
		p = append(p, "limit_date")
	}
	if n(c.Picture) > 250 || n(c.CommentsLabel) > 100 {
		p = append(p, "picture or comments_label")
	}
	if c.Advance != nil && c.Advance.Type != models.AdvanceMinimumValue && c.Advance.Type != models.AdvanceMinimumPercent {
		p = append(p, "advance.type")
	}
	if c.Discount != nil && (c.Discount.BeforeOn < today || c.Discount.Value.Exponent() < -2) {
		p = append(p, "discount")
	}
	if c.Delivery != nil && c.Delivery.Type != models.DeliveryFree && c.Delivery.Type != models.DeliveryPaid {
		p = append(p, "delivery.type")
	}
	return p
}

func TestRecordReversal(t *testing.T) {
	ctx := context.Background()
	src := demo.New(fixedNow)
	pay := erp.Payment{
		RefPayment: "DEMO-SEG-2026-0417", IDNumber: "1032456789", Amount: decimal.NewFromInt(85000),
		Currency: "COP", TransactionID: "tx-1", PaidAt: fixedNow(), Status: "paid", PaymentMethod: "PSE",
	}
	if err := src.RecordPayment(ctx, pay); err != nil {
		t.Fatal(err)
	}
	rev := erp.Reversal{RefPayment: pay.RefPayment, IDNumber: pay.IDNumber, Amount: pay.Amount, Currency: "COP", TransactionID: "tx-1"}
	for range 2 {
		if err := src.RecordReversal(ctx, rev); err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
	}
	if charges, _ := src.PendingCharges(ctx, "1032456789"); len(charges) != 2 {
		t.Errorf("after the reversal: got %d charges, want both again", len(charges))
	}
	// Recorded again (a replayed job): still reversed, still offered.
	if err := src.RecordPayment(ctx, pay); err != nil {
		t.Fatal(err)
	}
	if charges, _ := src.PendingCharges(ctx, "1032456789"); len(charges) != 2 {
		t.Errorf("after a replayed payment: got %d charges, want 2", len(charges))
	}
	if err := src.RecordReversal(ctx, erp.Reversal{RefPayment: pay.RefPayment}); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("empty transaction id: got %v, want a non-retryable error", err)
	}
}

func TestRecordPayment(t *testing.T) {
	ctx := context.Background()
	src := demo.New(fixedNow)
	pay := erp.Payment{
		RefPayment: "DEMO-SEG-2026-0417", IDNumber: "1032456789", Amount: decimal.NewFromInt(85000),
		Currency: "COP", TransactionID: "tx-1", PaidAt: fixedNow(), Status: "paid", PaymentMethod: "PSE",
	}
	for range 2 {
		if err := src.RecordPayment(ctx, pay); err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
	}
	if got := src.Payments(); len(got) != 1 || got[0].TransactionID != "tx-1" {
		t.Errorf("payments: got %+v, want one with tx-1", got)
	}
	charges, _ := src.PendingCharges(ctx, "1032456789")
	if len(charges) != 1 || charges[0].RefPayment != "DEMO-MAT-2026-0417" {
		t.Errorf("after paying the insurance: got %v, want only the enrolment", charges)
	}

	partial := pay
	partial.RefPayment, partial.TransactionID, partial.Status = "DEMO-MAT-2026-0417", "tx-2", "partially_paid"
	if err := src.RecordPayment(ctx, partial); err != nil {
		t.Fatal(err)
	}
	if charges, _ := src.PendingCharges(ctx, "1032456789"); len(charges) != 1 {
		t.Errorf("after a partial payment: got %d charges, want 1", len(charges))
	}

	unknown := pay
	unknown.RefPayment, unknown.TransactionID = "NOPE", "tx-3"
	if err := src.RecordPayment(ctx, unknown); !errors.Is(err, erp.ErrNotFound) {
		t.Errorf("unknown ref: got %v, want ErrNotFound", err)
	}
	noTx := pay
	noTx.TransactionID = ""
	if err := src.RecordPayment(ctx, noTx); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("empty transaction id: got %v, want a non-retryable error", err)
	}
	if got := len(src.Payments()); got != 2 {
		t.Errorf("payments: got %d, want 2", got)
	}
}

func TestCancelledContext(t *testing.T) {
	src := demo.New(fixedNow)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.PendingCharges(ctx, "1032456789"); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("PendingCharges: got %v, want ErrUnavailable", err)
	}
	if err := src.Check(ctx); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("Check: got %v, want ErrUnavailable", err)
	}
	if err := src.Check(context.Background()); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	src := demo.New(fixedNow)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				charges, err := src.PendingCharges(context.Background(), "1017234567")
				if err != nil || len(charges) == 0 {
					t.Errorf("got %v, %v", charges, err)
					return
				}
				charges[0].References = append(charges[0].References, "mutated")
				_ = src.RecordPayment(context.Background(), erp.Payment{
					RefPayment: "DEMO-MOL-0093", TransactionID: string(rune('a'+i)) + string(rune('a'+j%3)), Status: "partially_paid",
				})
				_ = src.Payments()
			}
		})
	}
	wg.Wait()
	if got, want := len(src.Payments()), 24; got != want {
		t.Errorf("payments: got %d, want %d", got, want)
	}
}
