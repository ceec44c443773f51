package server_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

// setLocal runs the test as on a machine whose time zone is loc: "today"
// must still be Bogota's.
func setLocal(t *testing.T, loc *time.Location) {
	t.Helper()
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

// A charge due on 4 Dec is due, not overdue, until 00:00 of 5 Dec in
// Bogota, whatever the machine's zone.
func TestOverdueAtMidnightInBogota(t *testing.T) {
	setLocal(t, time.FixedZone("UTC+14", 14*3600))
	tests := []struct {
		name      string
		now       time.Time
		policy    config.OverduePolicy
		wantSent  bool
		wantLimit string
	}{
		{"23:59:59 on the due date", time.Date(2026, 12, 5, 4, 59, 59, 0, time.UTC), config.OverduePolicy{}, true, "2026-12-04"},
		{"00:00 the day after, offer", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC), config.OverduePolicy{}, true, ""},
		{"00:00 the day after, extend", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC),
			config.OverduePolicy{Mode: config.OverdueExtend, ExtendDays: 3}, true, "2026-12-08"},
		{"23:59:59 on the due date, hold", time.Date(2026, 12, 5, 4, 59, 59, 0, time.UTC),
			config.OverduePolicy{Mode: config.OverdueHold}, true, "2026-12-04"},
		{"00:00 the day after, hold", time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC), config.OverduePolicy{Mode: config.OverdueHold}, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := charge("FAC-NOV", "12345678")
			c.LimitDate = "2026-12-04"
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
			s := newStackAt(t, src, func() time.Time { return tc.now.In(time.Local) }, func(cfg *recauda.Config, _ *server.Config) {
				cfg.OverduePolicy = tc.policy
			})
			resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
			if !tc.wantSent {
				if len(resp.Payments) != 0 {
					t.Fatalf("got %d payments, want the charge held back", len(resp.Payments))
				}
				if n := s.count(t, `SELECT COUNT(*) FROM held_back WHERE ref_payment = 'FAC-NOV' AND violations LIKE '%not_before_today%'`); n != 1 {
					t.Fatalf("held-back records = %d, want 1 with not_before_today", n)
				}
				return
			}
			if len(resp.Payments) != 1 {
				t.Fatalf("got %d payments, want 1", len(resp.Payments))
			}
			if got := resp.Payments[0].AdvancedOptions.LimitDate; got != tc.wantLimit {
				t.Fatalf("limit_date = %q, want %q", got, tc.wantLimit)
			}
		})
	}
}

// set moves c to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// bogota is 10:00 in Bogota on day d of December 2026.
func bogota(d int) time.Time { return time.Date(2026, 12, d, 15, 0, 0, 0, time.UTC) }

// An offer whose limit date passes unpaid is re-issued as <ref>-V1 at the
// first lookup after it, and a payment of that ref is written back under
// the ERP's ref.
func TestDeadOfferReissuedAndPaidUnderERPRef(t *testing.T) {
	c := charge("FAC-1", "12345678")
	c.LimitDate = "2026-12-04"
	c.References = []string{"CONTRATO-9"}
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
	clk := &clock{now: bogota(4)}
	s := newStackAt(t, src, clk.Now, func(cfg *recauda.Config, d *server.Config) {
		d.AdminToken, d.WebhookToken, d.Now = adminToken, webhookToken, clk.Now
	})

	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 1 ||
		resp.Payments[0].AdvancedOptions.LimitDate != "2026-12-04" {
		t.Fatalf("first offer = %+v, want FAC-1 with limit date 2026-12-04", resp.Payments)
	}
	// Still the 4th: the offer is alive, nothing new.
	clk.set(time.Date(2026, 12, 5, 4, 59, 59, 0, time.UTC))
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("got %+v on the due date, want nothing", resp.Payments)
	}
	// 00:00 on the 5th in Bogota: re-issued at once, well before RESEND_AFTER.
	clk.set(time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC))
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 {
		t.Fatalf("got %d payments after the limit date, want the re-issue", len(resp.Payments))
	}
	p := resp.Payments[0]
	if p.RecaudaInformation.RefPayment != "FAC-1-V1" || p.AdvancedOptions.LimitDate != "" {
		t.Fatalf("re-issue = %s with limit date %q, want FAC-1-V1 without one", p.RecaudaInformation.RefPayment, p.AdvancedOptions.LimitDate)
	}
	if got := p.AdvancedOptions.References; !slices.Equal(got, []string{"CONTRATO-9", "FAC-1-V1"}) {
		t.Fatalf("references = %v, want [CONTRATO-9 FAC-1-V1]", got)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM charges WHERE ref_payment = 'FAC-1-V1' AND parent_ref = 'FAC-1' AND due_date = '2026-12-04' AND limit_date = ''`); n != 1 {
		t.Fatalf("derived rows = %d, want 1 with parent FAC-1, due 2026-12-04, no limit date", n)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM charge_events e JOIN charges c ON c.id = e.charge_id WHERE c.ref_payment = 'FAC-1-V1'
		AND e.detail = 'send #1: overdue since 2026-12-04, sent without a limit date (OVERDUE_POLICY=offer); the offer of FAC-1 ended on 2026-12-04 unpaid; re-issued as FAC-1-V1'`); n != 1 {
		t.Fatalf("timeline entries saying what was done = %d, want 1", n)
	}
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("got %+v right after the re-issue, want nothing", resp.Payments)
	}

	if o := s.signedWebhook(t, webhookBody("900", "Aprobada", "150000.50", "COP", true, "CONTRATO-9", "FAC-1-V1")).Outcome; o != "applied" {
		t.Fatalf("payment of the re-issue: outcome %s, want applied", o)
	}
	if st, _ := s.charge(t, "FAC-1-V1"); st != "paid" {
		t.Fatalf("FAC-1-V1 = %s, want paid", st)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM writebacks WHERE transaction_id = '900' AND payment LIKE '%"RefPayment":"FAC-1"%'`); n != 1 {
		t.Fatalf("write-backs naming FAC-1 = %d, want 1", n)
	}
	// The payment settles the ERP's charge: FAC-1 reads paid, not overdue
	// and not to be offered again, and its timeline says how.
	if st, paid := s.charge(t, "FAC-1"); st != "paid" || paid.String() != "150000.5" {
		t.Fatalf("FAC-1 = %s, paid %s; want paid, 150000.5", st, paid)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM charge_events e JOIN charges c ON c.id = e.charge_id WHERE c.ref_payment = 'FAC-1'
		AND e.from_status = 'sent' AND e.to_status = 'paid' AND e.detail = 'paid through FAC-1-V1 (transaction 900)'`); n != 1 {
		t.Fatalf("FAC-1 timeline entries naming FAC-1-V1 = %d, want 1", n)
	}
	var view struct {
		Status         string  `json:"status"`
		PaidAmount     string  `json:"paid_amount"`
		TransactionID  *string `json:"transaction_id"`
		Overdue        bool    `json:"overdue"`
		OfferedAgainAt *string `json:"offered_again_at"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/charges/FAC-1", &view)
	if view.Status != "paid" || view.PaidAmount != "150000.50" || view.TransactionID == nil || *view.TransactionID != "900" ||
		view.Overdue || view.OfferedAgainAt != nil {
		t.Fatalf("admin view of FAC-1 = %+v, want paid 150000.50 by 900, not overdue, no offered_again_at", view)
	}
	// The ERP has not yet recorded it: the paid re-issue is not offered again.
	clk.set(bogota(9))
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("got %+v after the re-issue was paid, want nothing", resp.Payments)
	}
}

// A re-issue that fails, or whose payment is reversed, is offered again
// under its own ref, not the parent's, though the parent mirrored it.
func TestDeadOfferReissueOwedAgain(t *testing.T) {
	tests := []struct {
		name       string
		webhooks   [][2]string // transaction, status
		wantParent string
	}{
		{"failed", [][2]string{{"901", "Rechazada"}}, "sent"},
		{"paid, then reversed", [][2]string{{"902", "Aprobada"}, {"902", "Reversada"}}, "reversed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := charge("FAC-1", "12345678")
			c.LimitDate = "2026-12-04"
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
			clk := &clock{now: bogota(4)}
			s := newStackAt(t, src, clk.Now, func(cfg *recauda.Config, d *server.Config) {
				cfg.ResendAfter, d.WebhookToken = 0, webhookToken
			})
			decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
			clk.set(bogota(5))
			if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 1 ||
				resp.Payments[0].RecaudaInformation.RefPayment != "FAC-1-V1" {
				t.Fatalf("got %+v after the limit date, want FAC-1-V1", resp.Payments)
			}
			for _, w := range tc.webhooks {
				if o := s.signedWebhook(t, webhookBody(w[0], w[1], "150000.50", "COP", true, "FAC-1-V1")).Outcome; o != "applied" {
					t.Fatalf("%s %s: outcome %s, want applied", w[0], w[1], o)
				}
			}
			if st, paid := s.charge(t, "FAC-1"); st != tc.wantParent || !paid.IsZero() {
				t.Fatalf("FAC-1 = %s, paid %s; want %s, 0", st, paid, tc.wantParent)
			}
			clk.set(bogota(6))
			resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
			if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "FAC-1-V1" {
				t.Fatalf("got %+v once owed again, want FAC-1-V1 offered again", resp.Payments)
			}
		})
	}
}

func TestDeadOfferReissues(t *testing.T) {
	extend := config.OverduePolicy{Mode: config.OverdueExtend, ExtendDays: 3}
	type step struct {
		day  int
		want string // "ref limit_date" of the one item sent, "" for none
	}
	tests := []struct {
		name     string
		limit    string
		discount string
		policy   config.OverduePolicy
		resend   time.Duration
		steps    []step
	}{
		{"offer: once, payable until paid", "2026-12-04", "", config.OverduePolicy{}, 24 * time.Hour,
			[]step{{1, "FAC-1 2026-12-04"}, {5, "FAC-1-V1 "}, {6, "FAC-1-V1 "}, {30, "FAC-1-V1 "}}},
		{"offer, never resent", "2026-12-04", "", config.OverduePolicy{}, 0,
			[]step{{1, "FAC-1 2026-12-04"}, {5, "FAC-1-V1 "}, {30, ""}}},
		{"extend: a new ref each time the window closes", "2026-12-04", "", extend, 0,
			[]step{{1, "FAC-1 2026-12-04"}, {5, "FAC-1-V1 2026-12-08"}, {8, ""}, {9, "FAC-1-V2 2026-12-12"}, {12, ""}, {13, "FAC-1-V3 2026-12-16"}}},
		{"hold: held back, nothing re-issued", "2026-12-04", "", config.OverduePolicy{Mode: config.OverdueHold}, 24 * time.Hour,
			[]step{{1, "FAC-1 2026-12-04"}, {5, ""}, {6, ""}}},
		{"sent overdue without a limit date: never dies", "2026-11-30", "", config.OverduePolicy{}, 0,
			[]step{{1, "FAC-1 "}, {5, ""}, {30, ""}}},
		{"a lapsed discount alone re-issues nothing", "2026-12-15", "2026-12-03", config.OverduePolicy{}, 0,
			[]step{{1, "FAC-1 2026-12-15"}, {5, ""}, {15, ""}, {16, "FAC-1-V1 "}}},
		{"a lapsed discount, resent under the same ref without it", "2026-12-15", "2026-12-03", config.OverduePolicy{}, 24 * time.Hour,
			[]step{{1, "FAC-1 2026-12-15"}, {5, "FAC-1 2026-12-15"}, {16, "FAC-1-V1 "}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := charge("FAC-1", "12345678")
			c.LimitDate = tc.limit
			if tc.discount != "" {
				c.Discount = &erp.Discount{BeforeOn: tc.discount, Type: models.DiscountPercent, Value: decimal.NewFromInt(5)}
			}
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
			clk := &clock{now: bogota(1)}
			s := newStackAt(t, src, clk.Now, func(cfg *recauda.Config, _ *server.Config) {
				cfg.OverduePolicy, cfg.ResendAfter = tc.policy, tc.resend
			})
			for _, st := range tc.steps {
				clk.set(bogota(st.day))
				resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
				got := ""
				if len(resp.Payments) > 1 {
					t.Fatalf("day %d: got %d payments, want at most 1", st.day, len(resp.Payments))
				}
				if len(resp.Payments) == 1 {
					p := resp.Payments[0]
					got = p.RecaudaInformation.RefPayment + " " + p.AdvancedOptions.LimitDate
					if d := p.AdvancedOptions.Discount; d != nil && d.BeforeOn < bogota(st.day).Format(time.DateOnly) {
						t.Fatalf("day %d: sent with a discount that ended on %s", st.day, d.BeforeOn)
					}
				}
				if got != st.want {
					t.Fatalf("day %d: got %q, want %q", st.day, got, st.want)
				}
			}
		})
	}
}

// The ERP's due date stays visible: the admin API's due_date and overdue,
// and the dashboard's mark, in both languages.
func TestOverdueShownToTheOperator(t *testing.T) {
	old, current := charge("FAC-OLD", "12345678"), charge("FAC-NEW", "12345678")
	old.LimitDate, current.LimitDate = "2026-12-04", "2026-12-15"
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {old, current}})}
	clk := &clock{now: bogota(5)}
	s := newStackAt(t, src, clk.Now, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken, d.WebhookToken, d.Now = adminToken, webhookToken, clk.Now
	})
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 2 {
		t.Fatalf("got %d payments, want both charges", len(resp.Payments))
	}
	type dates struct {
		DueDate *string `json:"due_date"`
		Overdue bool    `json:"overdue"`
	}
	check := func(ref, wantDue string, wantOverdue bool) {
		t.Helper()
		var got dates
		s.adminOK(t, http.MethodGet, "/admin/api/charges/"+ref, &got)
		if got.DueDate == nil || *got.DueDate != wantDue || got.Overdue != wantOverdue {
			t.Fatalf("%s: got due_date %v, overdue %v; want %s, %v", ref, got.DueDate, got.Overdue, wantDue, wantOverdue)
		}
	}
	check("FAC-OLD", "2026-12-04", true)
	check("FAC-NEW", "2026-12-15", false)
	var list struct {
		Items []dates `json:"items"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/charges?id_number=12345678", &list)
	if n := len(list.Items); n != 2 || list.Items[0].Overdue == list.Items[1].Overdue {
		t.Fatalf("listing = %+v, want one overdue charge of two", list.Items)
	}

	c := newDashClient(t, s)
	c.signIn()
	for _, tc := range []struct{ lang, mark, label string }{{"es", "Vencido", "Vencimiento en el ERP"}, {"en", "Overdue", "Due date in the ERP"}} {
		page := c.get("/admin/charges?q=12345678&lang=" + tc.lang)
		if n := strings.Count(page, `<span class="badge overdue">`+tc.mark+`</span>`); n != 1 {
			t.Fatalf("%s: charges page marks %d charges %q, want 1", tc.lang, n, tc.mark)
		}
		page = c.get("/admin/charges/FAC-OLD")
		if !strings.Contains(page, `id="charge-overdue">`+tc.mark+`<`) || !strings.Contains(page, tc.label+"</dt><dd>2026-12-04</dd>") {
			t.Fatalf("%s: charge page lacks the overdue mark or the due date:\n%s", tc.lang, page)
		}
	}

	// Paid: no longer overdue, the due date kept.
	s.signedWebhook(t, webhookBody("77", "Aprobada", "150000.50", "COP", true, "FAC-OLD"))
	check("FAC-OLD", "2026-12-04", false)
}

func TestOverdueMetrics(t *testing.T) {
	tests := []struct {
		policy                 config.OverduePolicy
		wantSent, wantHeldBack float64
	}{
		{config.OverduePolicy{}, 1, 0},
		{config.OverduePolicy{Mode: config.OverdueHold}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.policy.String(), func(t *testing.T) {
			old, current := charge("FAC-OLD", "12345678"), charge("FAC-NEW", "12345678")
			old.LimitDate = "2026-12-04"
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {old, current}})}
			reg := prometheus.NewRegistry()
			s := newStackAt(t, src, func() time.Time { return bogota(5) }, func(cfg *recauda.Config, d *server.Config) {
				cfg.OverduePolicy, d.Metrics = tc.policy, reg
			})
			decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
			if got := value(t, reg, "recauda_lookup_overdue_items_total", "decision", "send"); got != tc.wantSent {
				t.Fatalf("overdue sent = %v, want %v", got, tc.wantSent)
			}
			if got := value(t, reg, "recauda_lookup_overdue_items_total", "decision", "held_back"); got != tc.wantHeldBack {
				t.Fatalf("overdue held back = %v, want %v", got, tc.wantHeldBack)
			}
			if got := value(t, reg, "recauda_lookup_items_total", "decision", "send"); got != 2-tc.wantHeldBack {
				t.Fatalf("sent in all = %v, want %v", got, 2-tc.wantHeldBack)
			}
		})
	}
}

// A re-issue whose answer never reached Efipay is forgotten, and the next
// lookup re-issues the same derived ref.
func TestUndeliveredReissueIsForgotten(t *testing.T) {
	c := charge("FAC-1", "12345678")
	c.LimitDate = "2026-12-04"
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {c}})}
	clk := &clock{now: bogota(4)}
	s := newStackAt(t, src, clk.Now, nil)
	ctx := context.Background()
	if l, err := s.svc.Offer(ctx, "12345678"); err != nil || l.Sent() != 1 {
		t.Fatalf("first offer sent %v (%v), want FAC-1", l, err)
	}
	clk.set(bogota(5))
	l, err := s.svc.Offer(ctx, "12345678")
	if err != nil || l.Sent() != 1 || l.Items[0].RefPayment != "FAC-1-V1" {
		t.Fatalf("re-issue = %+v (%v), want FAC-1-V1", l, err)
	}
	if err := s.svc.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM charges WHERE ref_payment = 'FAC-1-V1'`); n != 0 {
		t.Fatalf("FAC-1-V1 rows after the release = %d, want 0", n)
	}
	if l, err := s.svc.Offer(ctx, "12345678"); err != nil || l.Sent() != 1 || l.Items[0].RefPayment != "FAC-1-V1" {
		t.Fatalf("after the release = %+v (%v), want FAC-1-V1 again", l, err)
	}
}
