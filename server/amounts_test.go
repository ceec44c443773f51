package server_test

import (
	"context"
	"html"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

// changingERP is an ERP whose one charge the test changes between lookups.
type changingERP struct {
	mu sync.Mutex
	c  erp.Charge
}

func (e *changingERP) set(f func(*erp.Charge)) { e.mu.Lock(); f(&e.c); e.mu.Unlock() }

func (e *changingERP) source() *erptest.Source {
	return &erptest.Source{PendingChargesFunc: func(context.Context, string) ([]erp.Charge, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		return []erp.Charge{e.c}, nil
	}}
}

// movingClock is a clock the test moves forward.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movingClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// timeline is a charge's timeline as "kind: detail" lines.
func (s *stack) timeline(t *testing.T, ref string) []string {
	t.Helper()
	d, err := s.store.ChargeDetail(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range d.Events {
		lines = append(lines, e.Kind+": "+e.Detail)
	}
	return lines
}

func hasLine(lines []string, kind, part string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, kind+": ") && strings.Contains(l, part) {
			return true
		}
	}
	return false
}

// drainWritebacks runs the write-back worker until the queue is empty.
func (s *stack) drainWritebacks(t *testing.T, now func() time.Time) {
	t.Helper()
	w := recauda.NewWorker(s.store, s.source, recauda.WorkerConfig{}, now, slog.New(slog.DiscardHandler))
	for {
		did, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

// TestChangedAmountPaidAtTheOldOne: the ERP raises a charge already offered;
// the re-offer says what changed; Efipay, which keeps the first item of a
// ref, collects the old amount; that pays the old offer, the ERP learns it,
// and once it reports the remainder that goes out as the -B1 balance, whose
// payment is written back under the ERP's ref.
func TestChangedAmountPaidAtTheOldOne(t *testing.T) {
	clk := &movingClock{t: fixedNow}
	erpc := &changingERP{c: charge("CHG-1", "12345678")}
	erpc.set(func(c *erp.Charge) { c.Amount = decimal.RequireFromString("100000") })
	s := newStackAt(t, erpc.source(), clk.now, func(_ *recauda.Config, d *server.Config) { d.WebhookToken = webhookToken })

	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 1 {
		t.Fatalf("first lookup sent %d payments, want 1", len(resp.Payments))
	}
	// Interest accrues and the due date moves; RESEND_AFTER passes.
	erpc.set(func(c *erp.Charge) { c.Amount, c.LimitDate = decimal.RequireFromString("120000"), "2026-12-31" })
	clk.add(25 * time.Hour)
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || !resp.Payments[0].RecaudaInformation.Amount.Equal(decimal.NewFromInt(120000)) {
		t.Fatalf("re-offer = %+v, want CHG-1 for 120000", resp.Payments)
	}
	if tl := s.timeline(t, "CHG-1"); !hasLine(tl, "changed", "item changed since send #1: amount 100000 → 120000; due date 2026-12-15 → 2026-12-31") {
		t.Fatalf("timeline %q, want the change of amount and due date", tl)
	}

	// The payer pays what Efipay holds: the first offer.
	if o := s.signedWebhook(t, webhookBody("700", "Aprobada", "100000", "COP", true, "CHG-1")).Outcome; o != models.OutcomeApplied {
		t.Fatalf("payment of the old amount = %s, want applied", o)
	}
	if st, paid := s.charge(t, "CHG-1"); st != models.StatusPartiallyPaid || !paid.Equal(decimal.NewFromInt(100000)) {
		t.Fatalf("CHG-1 = %s paid %s, want partially_paid 100000", st, paid)
	}
	if tl := s.timeline(t, "CHG-1"); !hasLine(tl, "webhook", "paid 100000 for an earlier offer of 100000 (send #1); the latest offer is 120000: its remainder 20000") {
		t.Fatalf("timeline %q, want the payment of the earlier offer with its remainder", tl)
	}
	s.drainWritebacks(t, clk.now)
	if rec := s.source.Recorded(); len(rec) != 1 || rec[0].RefPayment != "CHG-1" || !rec[0].Amount.Equal(decimal.NewFromInt(100000)) {
		t.Fatalf("recorded in the ERP = %+v, want CHG-1 100000", rec)
	}

	// Until the ERP reports the remainder, nothing is offered.
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("offered %+v while the ERP still reports 120000, want nothing", resp.Payments)
	}
	erpc.set(func(c *erp.Charge) { c.Amount = decimal.RequireFromString("20000") })
	resp = decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "CHG-1-B1" ||
		!resp.Payments[0].RecaudaInformation.Amount.Equal(decimal.NewFromInt(20000)) {
		t.Fatalf("got %+v, want the remainder 20000 as CHG-1-B1", resp.Payments)
	}
	if o := s.signedWebhook(t, webhookBody("701", "Aprobada", "20000", "COP", true, "CHG-1-B1")).Outcome; o != models.OutcomeApplied {
		t.Fatalf("payment of the remainder = %s, want applied", o)
	}
	s.drainWritebacks(t, clk.now)
	rec := s.source.Recorded()
	if len(rec) != 2 || rec[1].RefPayment != "CHG-1" || rec[1].TransactionID != "701" || !rec[1].Amount.Equal(decimal.NewFromInt(20000)) {
		t.Fatalf("recorded in the ERP = %+v, want then CHG-1 20000 by 701", rec)
	}
}

// TestChangedAmountOverpaid: the ERP lowers a charge already offered and
// Efipay collects the old, larger amount: the charge is paid, the webhook
// flagged for the operator with the figures, and nothing more is offered.
func TestChangedAmountOverpaid(t *testing.T) {
	clk := &movingClock{t: fixedNow}
	erpc := &changingERP{c: charge("LOW-1", "12345678")}
	erpc.set(func(c *erp.Charge) { c.Amount = decimal.RequireFromString("100000") })
	s := newStackAt(t, erpc.source(), clk.now, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken, d.WebhookToken, d.Now = adminToken, webhookToken, clk.now
	})
	s.get(t, "/get-recaudas?id_number=12345678")
	erpc.set(func(c *erp.Charge) {
		c.Amount, c.Description = decimal.RequireFromString("90000"), "Cuota corregida"
	})
	clk.add(25 * time.Hour)
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 1 {
		t.Fatalf("re-offer sent %d payments, want 1", len(resp.Payments))
	}
	if tl := s.timeline(t, "LOW-1"); !hasLine(tl, "changed", `amount 100000 → 90000; description "Cuota de administración LOW-1" → "Cuota corregida"`) {
		t.Fatalf("timeline %q, want the change of amount and description", tl)
	}
	if o := s.signedWebhook(t, webhookBody("800", "Aprobada", "100000", "COP", true, "LOW-1")).Outcome; o != models.OutcomeFlagged {
		t.Fatalf("payment of the old amount = %s, want flagged", o)
	}
	if st, paid := s.charge(t, "LOW-1"); st != models.StatusPaid || !paid.Equal(decimal.NewFromInt(100000)) {
		t.Fatalf("LOW-1 = %s paid %s, want paid 100000", st, paid)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM webhook_events WHERE outcome = 'flagged' AND detail LIKE 'overpaid:%the latest offer is 90000, 10000 less%'`); n != 1 {
		t.Fatalf("flagged overpaid events = %d, want 1", n)
	}
	if tl := s.timeline(t, "LOW-1"); !hasLine(tl, "webhook", "overpaid") {
		t.Fatalf("timeline %q, want the overpayment", tl)
	}
	// The operator sees it on the dashboard: the flagged webhook in the
	// log, the overpayment and the change on the charge's page.
	dash := newDashClient(t, s)
	dash.signIn()
	if page := dash.get("/admin/webhooks?outcome=flagged"); !strings.Contains(page, "800") || !strings.Contains(page, `href="/admin/charges/LOW-1"`) {
		t.Errorf("flagged webhook log lacks the payment 800 of LOW-1")
	}
	page := dash.get("/admin/charges/LOW-1")
	for _, want := range []string{"pago de más: pagó 100000 por una oferta anterior de 100000 (envío n.º 1)",
		"El cobro cambió desde el envío n.º 1: amount 100000 → 90000"} {
		if !strings.Contains(html.UnescapeString(page), want) {
			t.Errorf("charge page lacks %q", want)
		}
	}
	clk.add(25 * time.Hour)
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("offered %+v after the overpayment, want nothing", resp.Payments)
	}
}

// TestSettlementRulesOfAnOffer: through the real server, a discounted
// price approved after the discount's last day in Bogota and an advance
// below the item's minimum are flagged, not applied, and the charge's
// timeline says why with the figures.
func TestSettlementRulesOfAnOffer(t *testing.T) {
	discounted := charge("DSC-1", "12345678")
	discounted.Amount = decimal.RequireFromString("100000")
	discounted.Discount = &erp.Discount{BeforeOn: "2026-11-22", Type: models.DiscountPercent, Value: decimal.NewFromInt(5)}
	minValue := charge("ADV-1", "12345678")
	minValue.Amount = decimal.RequireFromString("100000")
	minValue.Advance = &erp.Advance{Type: models.AdvanceMinimumValue, Value: decimal.NewFromInt(30000)}
	minPercent := minValue
	minPercent.RefPayment = "ADV-2"
	minPercent.Advance = &erp.Advance{Type: models.AdvanceMinimumPercent, Value: decimal.NewFromInt(40)}
	tests := []struct {
		name       string
		charge     erp.Charge
		amount     string
		approvedAt string
		outcome    string
		status     string
		line       string
	}{
		{"discount, on its last day in Bogota", discounted, "95000", "2026-11-23T04:59:59Z", models.OutcomeApplied, models.StatusPaid, ""},
		{"discount, the day after in Bogota", discounted, "95000", "2026-11-23T05:00:00Z", models.OutcomeFlagged, models.StatusSent,
			"discount expired: paid 95000, the discounted price, on 2026-11-23 (Bogota); the discount ended on 2026-11-22 and the full amount is 100000"},
		{"full price after the discount", discounted, "100000", "2026-11-24T12:00:00Z", models.OutcomeApplied, models.StatusPaid, ""},
		{"advance at the minimum value", minValue, "30000", "2026-11-22T15:41:54Z", models.OutcomeApplied, models.StatusPartiallyPaid, "advance of 30000"},
		{"advance below the minimum value", minValue, "29000", "2026-11-22T15:41:54Z", models.OutcomeFlagged, models.StatusSent,
			"advance of 29000 is below the minimum 30000 (Valor Minimo, of 100000)"},
		{"advance below the minimum percentage", minPercent, "39999.99", "2026-11-22T15:41:54Z", models.OutcomeFlagged, models.StatusSent,
			"advance of 39999.99 is below the minimum 40000 (Porcentaje Minimo 40 % of 100000)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := webhookStack(t, tc.charge)
			body := webhookBody("900", "Aprobada", tc.amount, "COP", true, tc.charge.RefPayment)
			body = []byte(strings.Replace(string(body), "2026-11-22T15:41:54.553992Z", tc.approvedAt, 1))
			if o := s.signedWebhook(t, body).Outcome; o != tc.outcome {
				t.Fatalf("outcome = %s, want %s", o, tc.outcome)
			}
			if st, _ := s.charge(t, tc.charge.RefPayment); st != tc.status {
				t.Fatalf("charge = %s, want %s", st, tc.status)
			}
			if tl := s.timeline(t, tc.charge.RefPayment); !hasLine(tl, "webhook", "webhook "+tc.outcome+": transaction 900 Aprobada COP "+tc.amount) ||
				!hasLine(tl, "webhook", tc.line) {
				t.Fatalf("timeline %q, want the webhook with %q", tl, tc.line)
			}
		})
	}
}

// TestChangedAmountOfAReissue: a re-issued charge (-V1) re-offered with
// another amount keeps the item it replaces and says what changed, like
// any ref, and a payment of the old amount is applied to it.
func TestChangedAmountOfAReissue(t *testing.T) {
	clk := &movingClock{t: fixedNow}
	erpc := &changingERP{c: charge("REI-1", "12345678")}
	erpc.set(func(c *erp.Charge) { c.Amount, c.LimitDate = decimal.RequireFromString("100000"), "2026-11-23" })
	s := newStackAt(t, erpc.source(), clk.now, func(_ *recauda.Config, d *server.Config) { d.WebhookToken = webhookToken })
	s.get(t, "/get-recaudas?id_number=12345678")
	clk.add(48 * time.Hour) // the offer's limit date passes unpaid
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "REI-1-V1" {
		t.Fatalf("got %+v, want the re-issue REI-1-V1", resp.Payments)
	}
	erpc.set(func(c *erp.Charge) { c.Amount = decimal.RequireFromString("103000") })
	clk.add(25 * time.Hour)
	resp = decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "REI-1-V1" ||
		!resp.Payments[0].RecaudaInformation.Amount.Equal(decimal.NewFromInt(103000)) {
		t.Fatalf("got %+v, want REI-1-V1 again for 103000", resp.Payments)
	}
	if tl := s.timeline(t, "REI-1-V1"); !hasLine(tl, "changed", "item changed since send #1: amount 100000 → 103000") {
		t.Fatalf("timeline %q, want the change of amount", tl)
	}
	if o := s.signedWebhook(t, webhookBody("950", "Aprobada", "100000", "COP", true, "REI-1-V1")).Outcome; o != models.OutcomeApplied {
		t.Fatalf("payment of the old amount = %s, want applied", o)
	}
	if st, paid := s.charge(t, "REI-1-V1"); st != models.StatusPartiallyPaid || !paid.Equal(decimal.NewFromInt(100000)) {
		t.Fatalf("REI-1-V1 = %s paid %s, want partially_paid 100000", st, paid)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM writebacks WHERE transaction_id = '950' AND payment LIKE '%"RefPayment":"REI-1"%'`); n != 1 {
		t.Fatalf("write-backs naming REI-1 = %d, want 1", n)
	}
}
