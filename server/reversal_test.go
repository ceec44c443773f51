package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/guard"
	"recauda-bridge/erp/local"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// drain runs the write-back worker until no job is due.
func drain(t *testing.T, w *recauda.Worker) {
	t.Helper()
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

// TestReversalReopensTheLedger is the whole loop on ERP_SOURCE=local, as
// run wires it (the ledger behind a guard with a cache): a signed approval
// pays the ledger's charge, a signed reversal reopens it, and the next
// lookup offers the debt again.
func TestReversalReopensTheLedger(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return fixedNow }
	dbPath := filepath.Join(t.TempDir(), "bridge.db")
	st, err := store.Open(ctx, models.DialectSQLite, dbPath, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateLedgerCharge(ctx, charge("LED-1", "12345678")); err != nil {
		t.Fatal(err)
	}
	src := guard.New(local.New(st), guard.Options{Name: "local", CallTimeout: 500 * time.Millisecond, CacheTTL: time.Minute})
	log := slog.New(slog.DiscardHandler)
	cfg := recauda.Config{ResendAfter: 24 * time.Hour, WebhookURL: "https://bridge.example.co/webhooks/efipay"}
	svc := recauda.New(src, st, validation.New(now), cfg, now, log)
	s := &stack{dbPath: dbPath, e: server.New(server.Config{Logger: log, Recauda: svc, WebhookToken: webhookToken}), store: st, svc: svc}
	w := recauda.NewWorker(st, src, recauda.WorkerConfig{}, now, log)

	offered := func() int {
		return len(decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")).Payments)
	}
	if n := offered(); n != 1 {
		t.Fatalf("first lookup offered %d, want LED-1", n)
	}
	if o := s.signedWebhook(t, webhookBody("700", "Aprobada", "150000.50", "COP", true, "LED-1")).Outcome; o != models.OutcomeApplied {
		t.Fatalf("approval outcome = %s", o)
	}
	drain(t, w)
	if lc, err := st.LedgerCharge(ctx, "LED-1"); err != nil || lc.Status != models.LedgerPaid {
		t.Fatalf("ledger after the approval = %+v (%v), want paid", lc, err)
	}
	if n := offered(); n != 0 {
		t.Fatalf("lookup after the approval offered %d, want none", n)
	}

	for i, want := range []string{models.OutcomeApplied, models.OutcomeDuplicate} { // Efipay retries
		if o := s.signedWebhook(t, webhookBody("700", "Reversada", "150000.50", "COP", true, "LED-1")).Outcome; o != want {
			t.Fatalf("reversal %d outcome = %s, want %s", i+1, o, want)
		}
		drain(t, w)
	}
	lc, err := st.LedgerCharge(ctx, "LED-1")
	if err != nil || lc.Status != models.LedgerOpen || !lc.PaidAmount.IsZero() {
		t.Fatalf("ledger after the reversal = %+v (%v), want open, nothing paid", lc, err)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM writebacks WHERE kind = 'reversal' AND state = 'done'"); n != 1 {
		t.Fatalf("done reversal jobs = %d, want 1", n)
	}
	if n := s.count(t, "SELECT COUNT(*) FROM ledger_payments WHERE transaction_id = '700' AND status = 'reversed'"); n != 1 {
		t.Fatalf("reversed ledger payments = %d, want 1", n)
	}
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "LED-1" ||
		!resp.Payments[0].RecaudaInformation.Amount.Decimal.Equal(decimal.RequireFromString("150000.50")) {
		t.Fatalf("lookup after the reversal = %+v, want LED-1 for 150000.50 again", resp.Payments)
	}
}

// TestReversalWaitsForTheOperator: a source that records payments but not
// reversals leaves the reversal job in needs_operator, listed by the admin
// API, until the operator cancels it (done by hand) or retries it.
func TestReversalWaitsForTheOperator(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{"12345678": {charge("OP-1", "12345678")}})
	s.get(t, "/get-recaudas?id_number=12345678")
	s.signedWebhook(t, webhookBody("800", "Aprobada", "150000.50", "COP", true, "OP-1"))
	s.signedWebhook(t, webhookBody("800", "Reversada", "150000.50", "COP", true, "OP-1"))
	drain(t, recauda.NewWorker(s.store, s.source, recauda.WorkerConfig{}, func() time.Time { return fixedNow }, slog.New(slog.DiscardHandler)))

	var page struct {
		Total int64 `json:"total"`
		Items []struct {
			ID            int64  `json:"id"`
			Kind          string `json:"kind"`
			State         string `json:"state"`
			LastError     string `json:"last_error"`
			PaymentStatus string `json:"payment_status"`
		} `json:"items"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/writebacks?state=needs_operator", &page)
	if page.Total != 1 || len(page.Items) != 1 {
		t.Fatalf("needs_operator jobs = %+v, want the reversal", page)
	}
	job := page.Items[0]
	if job.Kind != models.WritebackReversal || job.PaymentStatus != models.StatusReversed || job.LastError == "" {
		t.Fatalf("job = %+v, want a reversal with the reason", job)
	}
	if n := len(s.source.Recorded()); n != 1 {
		t.Fatalf("payments recorded = %d, want the approval's only", n)
	}
	var cancelled struct {
		State string `json:"state"`
	}
	s.adminOK(t, http.MethodPost, "/admin/api/writebacks/"+strconv.FormatInt(job.ID, 10)+"/cancel", &cancelled)
	if cancelled.State != models.WritebackCancelled {
		t.Fatalf("after cancel: state %s, want cancelled", cancelled.State)
	}
}
