package recauda

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

func TestReadEntry(t *testing.T) {
	tests := []struct {
		text string
		code string
		want map[string]string
	}{
		{"send #1", "send", map[string]string{"n": "1"}},
		{"send #2: overdue since 2026-11-01, sent without a limit date (OVERDUE_POLICY=open)", "send",
			map[string]string{"n": "2", "note": "overdue since 2026-11-01, sent without a limit date (OVERDUE_POLICY=open)"}},
		{"item changed since send #1: amount 100 → 200", "changed", map[string]string{"n": "1", "changes": "amount 100 → 200"}},
		{"answer not delivered", "not_delivered", map[string]string{}},
		{"webhook applied: transaction 5001 Aprobada COP 85000", "webhook",
			map[string]string{"outcome": "applied", "transaction": "5001", "status": "Aprobada", "currency": "COP", "amount": "85000"}},
		{"webhook flagged: transaction 5002 Aprobada COP 85000: currency USD differs from the charge's COP", "webhook",
			map[string]string{"outcome": "flagged", "transaction": "5002", "status": "Aprobada", "currency": "COP", "amount": "85000",
				"detail": "currency USD differs from the charge's COP"}},
		{"paid through R1-B1 (transaction 77)", "webhook_parent", map[string]string{"status": "paid", "ref": "R1-B1", "transaction": "77"}},
		{"write-back #1 queued for transaction 5001", "writeback_queued", map[string]string{"job": "1", "transaction": "5001"}},
		{"write-back #2 queued for the reversal of transaction 5001", "writeback_queued_reversal", map[string]string{"job": "2", "transaction": "5001"}},
		{"write-back #1: payment 5001 recorded in the ERP on attempt 2", "writeback_done",
			map[string]string{"job": "1", "transaction": "5001", "attempt": "2"}},
		{"write-back #1: payment 5001 recorded in the ERP on attempt 1 (it was cancelled while in flight)", "writeback_done",
			map[string]string{"job": "1", "transaction": "5001", "attempt": "1", "cancelled": "yes"}},
		{"write-back #3: attempt 1 failed: erp down; unavailable; next attempt at 2026-11-22T12:00:30Z", "writeback_failed",
			map[string]string{"job": "3", "attempt": "1", "cause": "erp down; unavailable", "next": "2026-11-22T12:00:30Z"}},
		{"write-back #4: retry asked by the operator (was needs_operator after 1 attempts)", "writeback_retry",
			map[string]string{"job": "4", "state": "needs_operator", "attempts": "1"}},
		{"something the bridge never wrote", "", nil},
		{"write-back #1: payment 5001 recorded in the ERP on attempt 1 (and more)", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			e := ReadEntry(tc.text)
			if e.Code != tc.code || (tc.want != nil && !maps.Equal(e.Params, tc.want)) {
				t.Errorf("got %q %v, want %q %v", e.Code, e.Params, tc.code, tc.want)
			}
		})
	}
}

// TestTimelineReadsAsCodes walks a charge through what the bridge writes on
// a timeline, on a real store, and reads every line back as a code: a line
// whose wording changed without its form would show in English on a page
// in Spanish.
func TestTimelineReadsAsCodes(t *testing.T) {
	fail := true
	src := &erptest.ReversingSource{}
	src.RecordPaymentFunc = func(context.Context, erp.Payment) error {
		if fail {
			fail = false
			return fmt.Errorf("erp down: %w", erp.ErrUnavailable)
		}
		return nil
	}
	src.RecordReversalFunc = func(context.Context, erp.Reversal) error {
		return fmt.Errorf("reconciled: %w", erp.ErrUnsupported)
	}
	st, svc, clk, _ := revSetup(t, src, "R1", "")
	ctx := context.Background()
	w := newTestWorker(st, src, WorkerConfig{}, clk, nil)
	run := func() {
		t.Helper()
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pay := settleOK(t, svc, revBody("501", "Aprobada", "R1"), models.OutcomeApplied)
	settleOK(t, svc, revBody("502", "Aprobada", "R1"), models.OutcomeFlagged)
	run() // fails
	if _, err := st.RetryWriteback(ctx, pay.WritebackID); err != nil {
		t.Fatal(err)
	}
	run() // done
	rev := settleOK(t, svc, revBody("501", "Reversada", "R1"), models.OutcomeApplied)
	run() // needs the operator
	if _, err := st.CancelWriteback(ctx, rev.WritebackID); err != nil {
		t.Fatal(err)
	}
	for _, op := range []func(context.Context, string) (models.TrackedCharge, error){st.DeactivateCharge, st.ActivateCharge, st.ReleaseCharge} {
		if _, err := op(ctx, "R1"); err != nil {
			t.Fatal(err)
		}
	}
	clk.set(clk.now().Add(time.Minute))
	// Sent again, and the answer never reached Efipay.
	claim, err := st.Claim(ctx, store.ClaimRequest{Offers: []store.Offer{{RefPayment: "R1", IDNumber: "1032456789", PayerName: "Ana Gómez",
		Description: "Cuota", Amount: decimal.RequireFromString("150000.50"), Currency: "COP", Payload: []byte(`{}`), Resend: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, claim); err != nil {
		t.Fatal(err)
	}

	codes := map[string]bool{}
	d, err := svc.Charge(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range d.Events {
		e := ReadEntry(ev.Detail)
		if e.Code == "" {
			t.Errorf("line %q (%s) is in no known form", ev.Detail, ev.Kind)
			continue
		}
		codes[e.Code] = true
		if detail, ok := e.Params["detail"]; ok && ReadDecision(detail).Code == "" {
			t.Errorf("webhook detail %q is in no known form", detail)
		}
	}
	for _, want := range []string{"send", "webhook", "writeback_queued", "writeback_failed", "writeback_retry", "writeback_done",
		"writeback_queued_reversal", "writeback_needs_operator", "writeback_cancelled", "deactivated_operator",
		"activated_operator", "released_operator", "not_delivered"} {
		if !codes[want] {
			t.Errorf("no %s line on the timelines; got %v", want, codes)
		}
	}
}

func TestReadNotes(t *testing.T) {
	tests := []struct {
		note string
		want []Entry
	}{
		{"overdue since 2026-12-04, sent without a limit date (OVERDUE_POLICY=offer); the offer of FAC-1 ended on 2026-12-04 unpaid; re-issued as FAC-1-V1",
			[]Entry{{"overdue_no_limit", map[string]string{"date": "2026-12-04", "policy": "offer"}},
				{"reissued", map[string]string{"ref": "FAC-1", "date": "2026-12-04", "next": "FAC-1-V1"}}}},
		{"overdue since 2026-11-01, sent with limit date 2026-12-08 (OVERDUE_POLICY=extend:7)",
			[]Entry{{"overdue_limit", map[string]string{"date": "2026-11-01", "limit": "2026-12-08", "policy": "extend:7"}}}},
		{"discount expired on 2026-12-01, sent without it", []Entry{{"discount_expired", map[string]string{"date": "2026-12-01"}}}},
		{"discount expired on 2026-12-01, sent without it; something else", nil},
	}
	for _, tc := range tests {
		t.Run(tc.note, func(t *testing.T) {
			got := ReadNotes(tc.note)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Code != tc.want[i].Code || !maps.Equal(got[i].Params, tc.want[i].Params) {
					t.Errorf("note %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
