package server_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/handlers"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

var webhookToken = []byte("efipay-webhook-token-for-tests")

// webhookBody is an Efipay webhook in the documented shape.
func webhookBody(txID, status, amount, currency string, production bool, refs ...string) []byte {
	refList, _ := json.Marshal(refs)
	return []byte(`{"transaction":{"transaction_id":` + txID + `,"amount":` + amount + `,"currency_type":"` + currency +
		`","value_cop":` + amount + `,"payment_method":"credit","payment_method_source":"Visa","trazability_id":` + txID +
		`,"transaction_details":{"name":"PRUEBA TARJETA","franchise":"Visa"},"status":"` + status +
		`","url_response":"https://sag.efipay.co/x","approved_at":"2026-11-22T15:41:54.553992Z","production":` +
		map[bool]string{true: "true", false: "false"}[production] + `,"created_at":"2026-11-22T15:41:54.000000Z"},` +
		`"checkout":{"payment_gateway":{"advanced_option":{"references":` + string(refList) + `}}}}`)
}

func (s *stack) postWebhook(t *testing.T, body []byte, signature string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/efipay", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Signature", signature)
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

func (s *stack) signedWebhook(t *testing.T, body []byte) handlers.WebhookAnswer {
	t.Helper()
	rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken))
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	var ans handlers.WebhookAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || !ans.Received || ans.EventID == 0 {
		t.Fatalf("webhook answer %s: %v", rec.Body, err)
	}
	return ans
}

func (s *stack) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+s.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (s *stack) charge(t *testing.T, ref string) (status string, paid decimal.Decimal) {
	t.Helper()
	tr, err := s.store.Tracked(context.Background(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	c, ok := tr[ref]
	if !ok {
		t.Fatalf("%s is not tracked", ref)
	}
	return c.Status, c.PaidAmount
}

func webhookStack(t *testing.T, charges ...erp.Charge) *stack {
	t.Helper()
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": charges})}
	s := newStack(t, src, func(_ *recauda.Config, d *server.Config) { d.WebhookToken = webhookToken })
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != len(charges) {
		t.Fatalf("setup lookup sent %d payments, want %d", len(resp.Payments), len(charges))
	}
	return s
}

func TestWebhookSignature(t *testing.T) {
	s := webhookStack(t, charge("SIG-1", "12345678"))
	body := webhookBody("501", "Aprobada", "150000.50", "COP", true, "SIG-1")
	good := efipay.Sign(body, webhookToken)
	altered := append([]byte(nil), body...)
	altered[len(altered)-3] = '9'
	tests := []struct {
		name      string
		body      []byte
		signature string
		status    int
	}{
		{"missing", body, "", 401},
		{"wrong", body, strings.Repeat("ab", 32), 401},
		{"not hex", body, "zz" + good[2:], 401},
		{"other token", body, efipay.Sign(body, []byte("other")), 401},
		{"body altered by one byte", altered, good, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.postWebhook(t, tc.body, tc.signature)
			if rec.Code != tc.status || decodeError(t, rec).Error.Code != "invalid_signature" {
				t.Fatalf("got %d %s, want %d invalid_signature", rec.Code, rec.Body, tc.status)
			}
		})
	}
	if n := s.count(t, "SELECT COUNT(*) FROM webhook_events"); n != 0 {
		t.Fatalf("%d events stored from bad signatures, want 0", n)
	}
	if st, _ := s.charge(t, "SIG-1"); st != models.StatusSent {
		t.Fatalf("status = %s after refused webhooks, want sent", st)
	}
	rec := s.postWebhook(t, body, strings.ToUpper(good))
	if rec.Code != http.StatusOK {
		t.Fatalf("upper-case hex signature = %d %s, want 200", rec.Code, rec.Body)
	}
	if st, _ := s.charge(t, "SIG-1"); st != models.StatusPaid {
		t.Fatalf("status = %s, want paid", st)
	}
}

func TestWebhookDisabledWithoutToken(t *testing.T) {
	s := newStack(t, &erptest.Source{}, nil)
	body := webhookBody("1", "Aprobada", "1000", "COP", true, "X")
	rec := s.postWebhook(t, body, efipay.Sign(body, nil))
	if rec.Code != http.StatusServiceUnavailable || decodeError(t, rec).Error.Code != "webhook_disabled" {
		t.Fatalf("got %d %s, want 503 webhook_disabled", rec.Code, rec.Body)
	}
}

func TestWebhookBodyTooLarge(t *testing.T) {
	s := webhookStack(t, charge("BIG-1", "12345678"))
	body := append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	body = append(body, `"}`...)
	rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken))
	if rec.Code != http.StatusRequestEntityTooLarge || decodeError(t, rec).Error.Code != "body_too_large" {
		t.Fatalf("got %d, want 413 body_too_large", rec.Code)
	}
}

func TestWebhookFullFlowAppliesOnce(t *testing.T) {
	s := webhookStack(t, charge("FLOW-1", "12345678"), charge("FLOW-2", "12345678"))
	body := webhookBody("107", "Aprobada", "150000.50", "COP", true, "FLOW-1")
	outcomes := []string{}
	for i := 0; i < 3; i++ {
		outcomes = append(outcomes, s.signedWebhook(t, body).Outcome)
	}
	if strings.Join(outcomes, ",") != "applied,duplicate,duplicate" {
		t.Fatalf("outcomes = %v, want applied once then duplicates", outcomes)
	}
	status, paid := s.charge(t, "FLOW-1")
	if status != models.StatusPaid || !paid.Equal(decimal.RequireFromString("150000.50")) {
		t.Fatalf("FLOW-1 = %s paid %s, want paid 150000.50", status, paid)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM webhook_events"); n != 3 {
		t.Fatalf("events stored = %d, want all 3 deliveries kept", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM charge_events WHERE kind = 'webhook'"); n != 1 {
		t.Fatalf("timeline webhook entries = %d, want 1", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM writebacks WHERE ref_payment = 'FLOW-1' AND transaction_id = '107' AND state = 'pending'"); n != 1 {
		t.Fatalf("write-back jobs = %d, want 1 pending", n)
	}
	if st, _ := s.charge(t, "FLOW-2"); st != models.StatusSent {
		t.Fatalf("FLOW-2 = %s, want untouched", st)
	}
	// The worker delivers the write-back to the ERP, once.
	w := recauda.NewWorker(s.store, s.source, recauda.WorkerConfig{}, func() time.Time { return fixedNow }, slog.New(slog.DiscardHandler))
	for {
		did, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	rec := s.source.Recorded()
	if len(rec) != 1 || rec[0].RefPayment != "FLOW-1" || rec[0].TransactionID != "107" || rec[0].Status != models.StatusPaid ||
		!rec[0].Amount.Equal(decimal.RequireFromString("150000.50")) {
		t.Fatalf("recorded in the ERP = %+v, want FLOW-1 paid 150000.50 by 107", rec)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM writebacks WHERE state = 'done'"); n != 1 {
		t.Fatalf("done write-backs = %d, want 1", n)
	}
	// Paid: never offered again while the ERP still lists it.
	l, err := s.svc.Preview(context.Background(), "12345678")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range l.Items {
		if it.RefPayment == "FLOW-1" && (it.Decision != recauda.DecisionWithheld || !strings.Contains(it.Reason, "paid")) {
			t.Fatalf("FLOW-1 decision %s (%s), want withheld as paid", it.Decision, it.Reason)
		}
	}
}

func TestWebhookOutOfOrderNeverUnpays(t *testing.T) {
	s := webhookStack(t, charge("ORD-1", "12345678"))
	if o := s.signedWebhook(t, webhookBody("200", "Aprobada", "150000.50", "COP", true, "ORD-1")).Outcome; o != "applied" {
		t.Fatalf("approved outcome = %s", o)
	}
	for _, late := range []string{"Pendiente", "Iniciada", "Rechazada"} {
		if o := s.signedWebhook(t, webhookBody("200", late, "150000.50", "COP", true, "ORD-1")).Outcome; o != models.OutcomeStale {
			t.Fatalf("late %s outcome = %s, want stale", late, o)
		}
	}
	if st, _ := s.charge(t, "ORD-1"); st != models.StatusPaid {
		t.Fatalf("status = %s after late events, want paid", st)
	}
	// A reversal of the paying transaction does apply, and the debt is owed again.
	if o := s.signedWebhook(t, webhookBody("200", "Reversada", "150000.50", "COP", true, "ORD-1")).Outcome; o != "applied" {
		t.Fatalf("reversal outcome = %s, want applied", o)
	}
	if st, paid := s.charge(t, "ORD-1"); st != models.StatusReversed || !paid.IsZero() {
		t.Fatalf("after reversal = %s paid %s, want reversed 0", st, paid)
	}
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 1 {
		t.Fatalf("reversed charge offered %d times, want offered again", len(resp.Payments))
	}
}

func TestWebhookStates(t *testing.T) {
	withAdvance := charge("ADV-1", "12345678")
	withAdvance.Advance = &erp.Advance{Type: models.AdvanceMinimumValue, Value: decimal.NewFromInt(50000)}
	tests := []struct {
		name        string
		charge      erp.Charge
		body        []byte
		testMode    bool
		wantOutcome string
		wantStatus  string
		wantPaid    string
	}{
		{"in progress", charge("S-1", "12345678"), webhookBody("1", "Pendiente", "150000.50", "COP", true, "S-1"), false, "applied", models.StatusInProgress, "0"},
		{"por pagar", charge("S-1", "12345678"), webhookBody("1", "Por Pagar", "150000.50", "COP", true, "S-1"), false, "applied", models.StatusInProgress, "0"},
		{"failed", charge("S-1", "12345678"), webhookBody("1", "Rechazada", "150000.50", "COP", true, "S-1"), false, "applied", models.StatusFailed, "0"},
		{"partial payment with advance", withAdvance, webhookBody("1", "Aprobada", "60000", "COP", true, "ADV-1"), false, "applied", models.StatusPartiallyPaid, "60000"},
		{"less without advance", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "60000", "COP", true, "S-1"), false, "flagged", models.StatusSent, "0"},
		{"more than owed", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "999999", "COP", true, "S-1"), false, "flagged", models.StatusSent, "0"},
		{"other currency", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "150000.50", "USD", true, "S-1"), false, "flagged", models.StatusSent, "0"},
		{"test payment, not in test mode", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "150000.50", "COP", false, "S-1"), false, "flagged", models.StatusSent, "0"},
		{"test payment in test mode", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "150000.50", "COP", false, "S-1"), true, "applied", models.StatusPaid, "150000.5"},
		{"unmatched", charge("S-1", "12345678"), webhookBody("1", "Aprobada", "150000.50", "COP", true, "SOMETHING-ELSE"), false, "unmatched", models.StatusSent, "0"},
		{"unparseable", charge("S-1", "12345678"), []byte(`{"transaction":"nope"}`), false, "unparseable", models.StatusSent, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": {tc.charge}})}
			s := newStack(t, src, func(c *recauda.Config, d *server.Config) { d.WebhookToken, c.TestMode = webhookToken, tc.testMode })
			s.get(t, "/get-recaudas?id_number=12345678")
			if o := s.signedWebhook(t, tc.body).Outcome; o != tc.wantOutcome {
				t.Fatalf("outcome = %s, want %s", o, tc.wantOutcome)
			}
			st, paid := s.charge(t, tc.charge.RefPayment)
			if st != tc.wantStatus || !paid.Equal(decimal.RequireFromString(tc.wantPaid)) {
				t.Fatalf("charge = %s paid %s, want %s paid %s", st, paid, tc.wantStatus, tc.wantPaid)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM webhook_events WHERE outcome = ?", tc.wantOutcome); n != 1 {
				t.Fatalf("stored %s events = %d, want 1", tc.wantOutcome, n)
			}
		})
	}
}

func TestPartialPaymentBalanceOfferedUnderDerivedRef(t *testing.T) {
	c := charge("PART-1", "12345678")
	c.Amount = decimal.RequireFromString("100000")
	c.Advance = &erp.Advance{Type: models.AdvanceMinimumValue, Value: decimal.NewFromInt(30000)}
	erpCharges := []erp.Charge{c}
	src := &erptest.Source{PendingChargesFunc: func(context.Context, string) ([]erp.Charge, error) {
		return append([]erp.Charge(nil), erpCharges...), nil
	}}
	s := newStack(t, src, func(_ *recauda.Config, d *server.Config) { d.WebhookToken = webhookToken })
	s.get(t, "/get-recaudas?id_number=12345678")
	if o := s.signedWebhook(t, webhookBody("300", "Aprobada", "40000", "COP", true, "PART-1")).Outcome; o != "applied" {
		t.Fatalf("advance outcome = %s", o)
	}
	// The ERP has not yet reported the balance: nothing is offered.
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("offered %+v before the ERP reported the balance, want nothing", resp.Payments)
	}
	// The ERP now reports the balance: it goes out as PART-1-B1, in full.
	erpCharges[0].Amount = decimal.RequireFromString("60000")
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 {
		t.Fatalf("got %d payments, want the balance", len(resp.Payments))
	}
	info := resp.Payments[0].RecaudaInformation
	if info.RefPayment != "PART-1-B1" || !info.Amount.Equal(decimal.NewFromInt(60000)) || info.Advance != nil {
		t.Fatalf("balance item = %+v, want PART-1-B1 for 60000 without advance", info)
	}
	if refs := resp.Payments[0].AdvancedOptions.References; len(refs) != 1 || refs[0] != "PART-1-B1" {
		t.Fatalf("references = %v, want [PART-1-B1]", refs)
	}
	// Paying the balance writes back under the ERP's own ref.
	if o := s.signedWebhook(t, webhookBody("301", "Aprobada", "60000", "COP", true, "PART-1-B1")).Outcome; o != "applied" {
		t.Fatalf("balance outcome = %s", o)
	}
	if st, _ := s.charge(t, "PART-1-B1"); st != models.StatusPaid {
		t.Fatalf("balance charge = %s, want paid", st)
	}
	if n := s.count(t, `SELECT COUNT(*) FROM writebacks WHERE transaction_id = '301' AND payment LIKE '%"RefPayment":"PART-1"%'`); n != 1 {
		t.Fatalf("write-back naming PART-1 = %d, want 1", n)
	}
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")); len(resp.Payments) != 0 {
		t.Fatalf("offered %+v after the balance was paid, want nothing", resp.Payments)
	}
}
