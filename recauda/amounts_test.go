package recauda

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// itemJSON is an item as sent: amount, and optionally a discount, a paid
// delivery and an advance.
func itemJSON(t *testing.T, amount string, discount *models.Discount, delivery string, advance *models.Advance) string {
	t.Helper()
	yes := true
	p := models.Payment{
		RecaudaInformation: models.RecaudaInformation{Amount: models.MustMoney(amount), CurrencyType: "COP", Advance: advance},
		AdvancedOptions:    &models.AdvancedOptions{HasComments: &yes, Discount: discount},
	}
	if delivery != "" {
		v := models.MustMoney(delivery)
		p.AdvancedOptions.DeliveryService = &models.DeliveryService{Type: models.DeliveryPaid, Value: &v}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecideApprovedAmounts(t *testing.T) {
	dec := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	fivePercent := &models.Discount{BeforeOn: "2026-12-01", Type: models.DiscountPercent, Value: models.MustMoney("5")}
	minValue := &models.Advance{Type: models.AdvanceMinimumValue, Value: models.MustMoney("30000")}
	minPercent := &models.Advance{Type: models.AdvanceMinimumPercent, Value: models.MustMoney("25")}
	// The discount's last day ends at 00:00 Bogota, 05:00 UTC.
	lastMinute := time.Date(2026, 12, 2, 4, 59, 59, 0, time.UTC)
	dayAfter := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		amount     string // the charge's current amount
		payload    string // the current item
		advance    bool   // the charge's advance_allowed
		earlier    []store.EarlierOffer
		paid       string
		approvedAt time.Time
		outcome    string
		status     string // "" leaves the charge as it is
		detail     string // a part of the detail
	}{
		{name: "the amount", amount: "100000", payload: itemJSON(t, "100000", nil, "", nil), paid: "100000",
			outcome: models.OutcomeApplied, status: models.StatusPaid},
		{name: "discounted, on its last day in Bogota", amount: "100000", payload: itemJSON(t, "100000", fivePercent, "", nil),
			paid: "95000", approvedAt: lastMinute, outcome: models.OutcomeApplied, status: models.StatusPaid},
		{name: "discounted, the day after in Bogota", amount: "100000", payload: itemJSON(t, "100000", fivePercent, "", nil),
			paid: "95000", approvedAt: dayAfter, outcome: models.OutcomeFlagged,
			detail: "discount expired: paid 95000, the discounted price, on 2026-12-02 (Bogota); the discount ended on 2026-12-01 and the full amount is 100000"},
		{name: "discounted with delivery, the day after", amount: "100000", payload: itemJSON(t, "100000", fivePercent, "8000", nil),
			paid: "103000", approvedAt: dayAfter, outcome: models.OutcomeFlagged, detail: "discount expired"},
		{name: "full amount with delivery, the day after", amount: "100000", payload: itemJSON(t, "100000", fivePercent, "8000", nil),
			paid: "108000", approvedAt: dayAfter, outcome: models.OutcomeApplied, status: models.StatusPaid},
		{name: "advance at the minimum value", amount: "100000", payload: itemJSON(t, "100000", nil, "", minValue), advance: true,
			paid: "30000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid, detail: "advance of 30000; balance 70000"},
		{name: "advance below the minimum value", amount: "100000", payload: itemJSON(t, "100000", nil, "", minValue), advance: true,
			paid: "29999.99", outcome: models.OutcomeFlagged,
			detail: "advance of 29999.99 is below the minimum 30000 (Valor Minimo, of 100000)"},
		{name: "advance at the minimum percentage", amount: "100000", payload: itemJSON(t, "100000", nil, "", minPercent), advance: true,
			paid: "25000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid},
		{name: "advance below the minimum percentage", amount: "100000", payload: itemJSON(t, "100000", nil, "", minPercent), advance: true,
			paid: "24999", outcome: models.OutcomeFlagged,
			detail: "advance of 24999 is below the minimum 25000 (Porcentaje Minimo 25 % of 100000)"},
		{name: "advance allowed, item unreadable: no minimum known", amount: "100000", payload: "", advance: true,
			paid: "1000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid},
		{name: "less, without advance", amount: "100000", payload: itemJSON(t, "100000", nil, "", nil),
			paid: "60000", outcome: models.OutcomeFlagged, detail: "amount 60000 does not match the charge's 100000"},
		{name: "an earlier, smaller amount: the remainder is owed", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", nil, "", nil)}},
			paid:    "100000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid,
			detail: "paid 100000 for an earlier offer of 100000 (send #1); the latest offer is 120000: its remainder 20000 is offered as a balance once the ERP reports it"},
		{name: "an earlier, larger amount: overpaid", amount: "90000", payload: itemJSON(t, "90000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 2, Amount: dec("100000"), Payload: itemJSON(t, "100000", nil, "", nil)}},
			paid:    "100000", outcome: models.OutcomeFlagged, status: models.StatusPaid,
			detail: "overpaid: paid 100000 for an earlier offer of 100000 (send #2); the latest offer is 90000, 10000 less"},
		{name: "the oldest of two earlier offers", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{
				{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", nil, "", nil)},
				{Send: 3, Amount: dec("110000"), Payload: itemJSON(t, "110000", nil, "", nil)},
			},
			paid: "100000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid, detail: "send #1"},
		{name: "an earlier offer's discount, in time", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", fivePercent, "", nil)}},
			paid:    "95000", approvedAt: lastMinute, outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid,
			detail: "remainder 25000"},
		{name: "an earlier offer's discount, lapsed", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", fivePercent, "", nil)}},
			paid:    "95000", approvedAt: dayAfter, outcome: models.OutcomeFlagged, detail: "discount expired"},
		{name: "an earlier offer's advance", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", nil, "", minValue)}},
			paid:    "40000", outcome: models.OutcomeApplied, status: models.StatusPartiallyPaid, detail: "advance of 40000; balance 80000"},
		{name: "no offer's amount", amount: "120000", payload: itemJSON(t, "120000", nil, "", nil),
			earlier: []store.EarlierOffer{{Send: 1, Amount: dec("100000"), Payload: itemJSON(t, "100000", nil, "", nil)}},
			paid:    "110000", outcome: models.OutcomeFlagged,
			detail: "amount 110000 does not match the charge's 120000 nor an earlier offer's (100000)"},
	}
	s := New(&erptest.Source{}, nil, validation.New(nil), Config{}, nil, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := store.ChargeState{ID: 1, RefPayment: "R-1", IDNumber: "12345678", Status: models.StatusSent, Amount: dec(tc.amount),
				Currency: "COP", AdvanceAllowed: tc.advance, Payload: tc.payload, Earlier: tc.earlier}
			ev := &efipay.Event{TransactionID: "T-1", Status: "Aprobada", Outcome: efipay.OutcomeApproved, Amount: dec(tc.paid),
				Currency: "COP", Production: true, ApprovedAt: tc.approvedAt}
			now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
			d := s.decide(c, ev, now)
			if d.Detail != "" && ReadDecision(d.Detail).Code == "" {
				t.Errorf("detail %q is in no form ReadDecision knows", d.Detail)
			}
			if d.Outcome != tc.outcome || d.NewStatus != tc.status {
				t.Fatalf("got %s → %q (%s), want %s → %q", d.Outcome, d.NewStatus, d.Detail, tc.outcome, tc.status)
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail: got %q, want it to contain %q", d.Detail, tc.detail)
			}
			if tc.status == "" {
				if d.PaidAmount != nil || d.Writeback != nil || d.TransactionID != "" {
					t.Errorf("got paid %v, write-back %s, transaction %q; want the charge left as it is", d.PaidAmount, d.Writeback, d.TransactionID)
				}
				return
			}
			if d.PaidAmount == nil || !d.PaidAmount.Equal(dec(tc.paid)) || d.TransactionID != "T-1" {
				t.Errorf("got paid %v by %q, want %s by T-1", d.PaidAmount, d.TransactionID, tc.paid)
			}
			var wb struct {
				RefPayment string
				Status     string
				Amount     decimal.Decimal
			}
			if err := json.Unmarshal(d.Writeback, &wb); err != nil || wb.RefPayment != "R-1" || wb.Status != tc.status || !wb.Amount.Equal(dec(tc.paid)) {
				t.Errorf("write-back: got %s (%v), want R-1 %s %s", d.Writeback, err, tc.status, tc.paid)
			}
		})
	}
}

func TestDescribeChange(t *testing.T) {
	item := func(amount, description, limit string, discount *models.Discount, advance *models.Advance) []byte {
		yes := true
		b, err := json.Marshal(models.Payment{
			RecaudaInformation: models.RecaudaInformation{Amount: models.MustMoney(amount), Description: description, Advance: advance},
			AdvancedOptions:    &models.AdvancedOptions{LimitDate: limit, HasComments: &yes, Discount: discount},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := item("100000", "Cuota noviembre", "2026-11-30", nil, nil)
	discount := &models.Discount{BeforeOn: "2026-11-20", Type: models.DiscountPercent, Value: models.MustMoney("5")}
	advance := &models.Advance{Type: models.AdvanceMinimumValue, Value: models.MustMoney("30000")}
	tests := []struct {
		name  string
		after []byte
		want  string
	}{
		{"amount", item("120000", "Cuota noviembre", "2026-11-30", nil, nil), "amount 100000 → 120000"},
		{"same amount written otherwise", item("100000.00", "Cuota noviembre", "2026-11-30", nil, nil), ""},
		{"due date", item("100000", "Cuota noviembre", "2026-12-31", nil, nil), "due date 2026-11-30 → 2026-12-31"},
		{"due date dropped", item("100000", "Cuota noviembre", "", nil, nil), "due date 2026-11-30 → none"},
		{"description", item("100000", "Cuota noviembre con intereses", "2026-11-30", nil, nil),
			`description "Cuota noviembre" → "Cuota noviembre con intereses"`},
		{"discount", item("100000", "Cuota noviembre", "2026-11-30", discount, nil), "discount none → Porcentaje 5 until 2026-11-20"},
		{"advance", item("100000", "Cuota noviembre", "2026-11-30", nil, advance), "advance none → Valor Minimo 30000"},
		{"amount and due date", item("120000", "Cuota noviembre", "2026-12-31", nil, nil),
			"amount 100000 → 120000; due date 2026-11-30 → 2026-12-31"},
		{"unreadable", []byte(`{`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeChange(base, tc.after); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
