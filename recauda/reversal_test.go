package recauda

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// revBody is an Efipay webhook of transaction txn with status for ref.
func revBody(txn, status, ref string) []byte {
	return []byte(`{"transaction":{"transaction_id":` + txn + `,"amount":150000.50,"currency_type":"COP","payment_method":"PSE",` +
		`"status":"` + status + `","approved_at":"2026-11-22T16:59:00Z","production":true},` +
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["` + ref + `"]}}}}`)
}

// revSetup is a store with charge ref claimed (derived from parent when
// parent is set) and a Service over src that settles its webhooks.
func revSetup(t *testing.T, src erp.Source, ref, parent string) (*store.Store, *Service, *wbClock, string) {
	t.Helper()
	clk := newWBClock()
	path := filepath.Join(t.TempDir(), "rev.db")
	st := wbOpen(t, path, clk)
	_, err := st.Claim(context.Background(), store.ClaimRequest{Offers: []store.Offer{{
		RefPayment: ref, ParentRef: parent, IDNumber: "1032456789", PayerName: "Ana Gómez", Description: "Cuota",
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Payload: []byte(`{}`),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(src, st, validation.New(clk.now), Config{}, clk.now, nil)
	return st, svc, clk, path
}

func settleOK(t *testing.T, svc *Service, body []byte, want string) store.SettleResult {
	t.Helper()
	res, err := svc.Settle(context.Background(), body)
	if err != nil || res.Outcome != want {
		t.Fatalf("settle: got %+v (%v), want %s", res, err, want)
	}
	return res
}

func TestReversalIsWrittenBackAfterItsPayment(t *testing.T) {
	tests := []struct {
		name, ref, parent, wantERPRef string
	}{
		{"own ref", "R1", "", "R1"},
		{"derived balance names the ERP's ref", "R1-B1", "R1", "R1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls []string
			failPayment := true
			src := &erptest.ReversingSource{}
			src.RecordPaymentFunc = func(_ context.Context, p erp.Payment) error {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, "payment "+p.TransactionID)
				if failPayment {
					failPayment = false
					return fmt.Errorf("erp down: %w", erp.ErrUnavailable)
				}
				return nil
			}
			src.RecordReversalFunc = func(_ context.Context, r erp.Reversal) error {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, "reversal "+r.TransactionID)
				return nil
			}
			st, svc, clk, path := revSetup(t, src, tt.ref, tt.parent)
			settleOK(t, svc, revBody("501", "Aprobada", tt.ref), models.OutcomeApplied)
			rev := settleOK(t, svc, revBody("501", "Reversada", tt.ref), models.OutcomeApplied)
			if rev.WritebackID == 0 {
				t.Fatal("reversal queued no write-back, want one")
			}
			// Efipay retries the reversal: nothing more is queued.
			if again := settleOK(t, svc, revBody("501", "Reversada", tt.ref), models.OutcomeDuplicate); again.WritebackID != 0 {
				t.Fatalf("replayed reversal queued job %d, want none", again.WritebackID)
			}

			w := newTestWorker(st, src, WorkerConfig{}, clk, nil)
			ctx := context.Background()
			if ok, err := w.RunOnce(ctx); !ok || err != nil {
				t.Fatalf("first RunOnce = %v, %v", ok, err)
			}
			// The payment failed: its reversal waits for it.
			if ok, err := w.RunOnce(ctx); ok || err != nil {
				t.Fatalf("RunOnce while the payment backs off = %v, %v; want false, nil", ok, err)
			}
			clk.set(clk.now().Add(time.Second))
			for range 2 {
				if ok, err := w.RunOnce(ctx); !ok || err != nil {
					t.Fatalf("RunOnce = %v, %v", ok, err)
				}
			}
			if ok, err := w.RunOnce(ctx); ok || err != nil {
				t.Fatalf("RunOnce with nothing left = %v, %v; want false, nil", ok, err)
			}
			if got := strings.Join(calls, ", "); got != "payment 501, payment 501, reversal 501" {
				t.Fatalf("ERP calls: got %s, want the payment (failed, then done) before the reversal", got)
			}
			got := src.Reversed()
			if len(got) != 1 || got[0].RefPayment != tt.wantERPRef || got[0].TransactionID != "501" ||
				!got[0].Amount.Equal(decimal.RequireFromString("150000.50")) || got[0].IDNumber != "1032456789" || got[0].Currency != "COP" {
				t.Fatalf("reversals recorded: got %+v, want one of 501 for %s, 150000.50 COP", got, tt.wantERPRef)
			}
			job, err := st.GetWriteback(ctx, rev.WritebackID)
			if err != nil || job.State != models.WritebackDone || job.Kind != models.WritebackReversal {
				t.Fatalf("reversal job = %+v (%v), want a done reversal", job, err)
			}
			if kinds := wbTimeline(t, path, rev.WritebackID); kinds["writeback_done"] != 2 || kinds["writeback_enqueued"] != 2 {
				t.Fatalf("timeline %v, want 2 writeback_enqueued and 2 writeback_done", kinds)
			}
			view := NewWriteback(job)
			if !view.Readable || view.Delivery.Status != models.StatusReversed || view.Delivery.RefPayment != tt.wantERPRef {
				t.Fatalf("admin view = %+v, want a readable reversal of %s", view, tt.wantERPRef)
			}
		})
	}
}

// cannotReverse records payments and has a reversal configured off.
type cannotReverse struct{ erptest.ReversingSource }

func (*cannotReverse) CanReverse() bool { return false }

func TestReversalNeedsTheOperator(t *testing.T) {
	unsupported := &erptest.ReversingSource{RecordReversalFunc: func(context.Context, erp.Reversal) error {
		return fmt.Errorf("odoo: payment is reconciled with a bank statement: %w", erp.ErrUnsupported)
	}}
	tests := []struct {
		name      string
		src       erp.Source
		wantCause string
	}{
		{"source without reversals", &erptest.Source{}, "cannot record reversals: reverse payment 502 of R1 in the ERP"},
		{"reversal not configured", &cannotReverse{}, "cannot record reversals"},
		{"source says it must be done by hand", unsupported, "reconciled with a bank statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, svc, clk, path := revSetup(t, tt.src, "R1", "")
			settleOK(t, svc, revBody("502", "Aprobada", "R1"), models.OutcomeApplied)
			rev := settleOK(t, svc, revBody("502", "Reversada", "R1"), models.OutcomeApplied)
			w := newTestWorker(st, tt.src.(erp.PaymentRecorder), WorkerConfig{}, clk, nil)
			ctx := context.Background()
			for range 2 {
				if ok, err := w.RunOnce(ctx); !ok || err != nil {
					t.Fatalf("RunOnce = %v, %v", ok, err)
				}
			}
			job, err := st.GetWriteback(ctx, rev.WritebackID)
			if err != nil {
				t.Fatal(err)
			}
			if job.State != models.WritebackNeedsOperator || !strings.Contains(job.LastError, tt.wantCause) {
				t.Fatalf("reversal job: state %s, last error %q; want needs_operator saying %q", job.State, job.LastError, tt.wantCause)
			}
			// Not retried on its own, however long the bridge runs.
			clk.set(clk.now().Add(48 * time.Hour))
			if ok, err := w.RunOnce(ctx); ok || err != nil {
				t.Fatalf("RunOnce later = %v, %v; want nothing due", ok, err)
			}
			if kinds := wbTimeline(t, path, rev.WritebackID); kinds["writeback_needs_operator"] != 1 {
				t.Fatalf("timeline %v, want one writeback_needs_operator", kinds)
			}
		})
	}
}

func TestNoReversalJobWithoutPaymentWriteBack(t *testing.T) {
	st, svc, _, _ := revSetup(t, cannotRecordSource{}, "R1", "")
	settleOK(t, svc, revBody("503", "Aprobada", "R1"), models.OutcomeApplied)
	if res := settleOK(t, svc, revBody("503", "Reversada", "R1"), models.OutcomeApplied); res.WritebackID != 0 {
		t.Fatalf("reversal queued job %d for a source that records no payments, want none", res.WritebackID)
	}
	if _, total, err := st.ListWritebacks(context.Background(), store.WritebackFilter{}); err != nil || total != 0 {
		t.Fatalf("jobs = %d (%v), want none", total, err)
	}
}

// cannotRecordSource is a source without write-back.
type cannotRecordSource struct{}

func (cannotRecordSource) PendingCharges(context.Context, string) ([]erp.Charge, error) {
	return nil, errors.New("not used")
}
