package recauda

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/models"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// chargeStates are every status a charge can have.
var chargeStates = []string{
	models.StatusSent, models.StatusInProgress, models.StatusPaid, models.StatusPartiallyPaid,
	models.StatusFailed, models.StatusReversed, models.StatusInactive,
}

// eventStatuses are an Efipay status of each outcome.
var eventStatuses = map[efipay.Outcome]string{
	efipay.OutcomeApproved:   "Aprobada",
	efipay.OutcomeInProgress: "Pendiente",
	efipay.OutcomeReversed:   "Reversada",
	efipay.OutcomeFailed:     "Rechazada",
}

// TestDecide is the whole state machine: every charge state against every
// event outcome, from the transaction the charge knows and from another.
// A charge that was only sent knows no transaction.
func TestDecide(t *testing.T) {
	const (
		same  = true
		other = false
	)
	type want struct {
		outcome   string
		status    string // "" leaves the status
		offerNow  bool
		writeback bool
	}
	var (
		paid       = want{models.OutcomeApplied, models.StatusPaid, false, true}
		inProgress = want{models.OutcomeApplied, models.StatusInProgress, false, false}
		failed     = want{models.OutcomeApplied, models.StatusFailed, true, false}
		reversed   = want{models.OutcomeApplied, models.StatusReversed, true, true}
		stale      = want{outcome: models.OutcomeStale}
		flagged    = want{outcome: models.OutcomeFlagged}
	)
	tests := []struct {
		state   string
		sameTx  bool
		outcome efipay.Outcome
		want    want
	}{
		{models.StatusSent, other, efipay.OutcomeApproved, paid},
		{models.StatusSent, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusSent, other, efipay.OutcomeReversed, flagged},
		{models.StatusSent, other, efipay.OutcomeFailed, failed},

		{models.StatusInProgress, same, efipay.OutcomeApproved, paid},
		{models.StatusInProgress, same, efipay.OutcomeInProgress, inProgress},
		{models.StatusInProgress, same, efipay.OutcomeReversed, flagged},
		{models.StatusInProgress, same, efipay.OutcomeFailed, failed},
		{models.StatusInProgress, other, efipay.OutcomeApproved, paid},
		{models.StatusInProgress, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusInProgress, other, efipay.OutcomeReversed, flagged},
		// An older attempt failing while a newer one is in progress.
		{models.StatusInProgress, other, efipay.OutcomeFailed, stale},

		{models.StatusPaid, same, efipay.OutcomeApproved, stale},
		{models.StatusPaid, same, efipay.OutcomeInProgress, stale},
		{models.StatusPaid, same, efipay.OutcomeReversed, reversed},
		{models.StatusPaid, same, efipay.OutcomeFailed, stale},
		{models.StatusPaid, other, efipay.OutcomeApproved, flagged},
		{models.StatusPaid, other, efipay.OutcomeInProgress, stale},
		{models.StatusPaid, other, efipay.OutcomeReversed, flagged},
		{models.StatusPaid, other, efipay.OutcomeFailed, stale},

		{models.StatusPartiallyPaid, same, efipay.OutcomeApproved, stale},
		{models.StatusPartiallyPaid, same, efipay.OutcomeInProgress, stale},
		{models.StatusPartiallyPaid, same, efipay.OutcomeReversed, reversed},
		{models.StatusPartiallyPaid, same, efipay.OutcomeFailed, stale},
		{models.StatusPartiallyPaid, other, efipay.OutcomeApproved, flagged},
		{models.StatusPartiallyPaid, other, efipay.OutcomeInProgress, stale},
		{models.StatusPartiallyPaid, other, efipay.OutcomeReversed, flagged},
		{models.StatusPartiallyPaid, other, efipay.OutcomeFailed, stale},

		{models.StatusFailed, same, efipay.OutcomeApproved, paid},
		{models.StatusFailed, same, efipay.OutcomeInProgress, stale},
		{models.StatusFailed, same, efipay.OutcomeReversed, flagged},
		{models.StatusFailed, same, efipay.OutcomeFailed, failed},
		{models.StatusFailed, other, efipay.OutcomeApproved, paid},
		{models.StatusFailed, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusFailed, other, efipay.OutcomeReversed, flagged},
		{models.StatusFailed, other, efipay.OutcomeFailed, failed},

		{models.StatusReversed, same, efipay.OutcomeApproved, stale},
		{models.StatusReversed, same, efipay.OutcomeInProgress, stale},
		{models.StatusReversed, same, efipay.OutcomeReversed, stale},
		{models.StatusReversed, same, efipay.OutcomeFailed, stale},
		{models.StatusReversed, other, efipay.OutcomeApproved, paid},
		{models.StatusReversed, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusReversed, other, efipay.OutcomeReversed, flagged},
		{models.StatusReversed, other, efipay.OutcomeFailed, failed},

		{models.StatusInactive, same, efipay.OutcomeApproved, paid},
		{models.StatusInactive, same, efipay.OutcomeInProgress, stale},
		{models.StatusInactive, same, efipay.OutcomeReversed, flagged},
		{models.StatusInactive, same, efipay.OutcomeFailed, stale},
		{models.StatusInactive, other, efipay.OutcomeApproved, paid},
		{models.StatusInactive, other, efipay.OutcomeInProgress, stale},
		{models.StatusInactive, other, efipay.OutcomeReversed, flagged},
		{models.StatusInactive, other, efipay.OutcomeFailed, stale},
	}

	// Every pair is in the table.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[fmt.Sprint(tt.state, tt.sameTx, tt.outcome)] = true
	}
	for _, state := range chargeStates {
		for outcome := range eventStatuses {
			for _, sameTx := range []bool{same, other} {
				if state == models.StatusSent && sameTx {
					continue
				}
				if !covered[fmt.Sprint(state, sameTx, outcome)] {
					t.Errorf("no case for a %s charge, %s event, same transaction %v", state, outcome, sameTx)
				}
			}
		}
	}

	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	s := &Service{canRecord: true, validator: validation.New(func() time.Time { return now }), log: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		tx := "other"
		if tt.sameTx {
			tx = "same"
		}
		t.Run(tt.state+"/"+string(tt.outcome)+"/"+tx, func(t *testing.T) {
			c := store.ChargeState{ID: 1, RefPayment: "FAC-1", IDNumber: "1032456789", Status: tt.state,
				Amount: decimal.RequireFromString("20000"), Currency: "COP"}
			if tt.state != models.StatusSent {
				c.TransactionID = "1001"
			}
			if tt.state == models.StatusPaid || tt.state == models.StatusPartiallyPaid {
				c.PaidAmount = c.Amount
			}
			ev := &efipay.Event{TransactionID: "1002", Status: eventStatuses[tt.outcome], Outcome: tt.outcome,
				Amount: decimal.RequireFromString("20000"), Currency: "COP", Production: true}
			if tt.sameTx {
				ev.TransactionID = "1001"
			}
			d := s.decide(c, ev, now)
			if d.Detail != "" && ReadDecision(d.Detail).Code == "" {
				t.Errorf("detail %q is in no form ReadDecision knows", d.Detail)
			}
			if d.Outcome != tt.want.outcome {
				t.Errorf("outcome: got %q (%s), want %q", d.Outcome, d.Detail, tt.want.outcome)
			}
			if d.NewStatus != tt.want.status {
				t.Errorf("new status: got %q, want %q", d.NewStatus, tt.want.status)
			}
			if d.OfferNow != tt.want.offerNow {
				t.Errorf("offer now: got %v, want %v", d.OfferNow, tt.want.offerNow)
			}
			if got := d.Writeback != nil; got != tt.want.writeback {
				t.Errorf("write-back: got %v, want %v", got, tt.want.writeback)
			}
			if d.Writeback != nil && (d.WritebackKind == models.WritebackReversal) != (tt.want.status == models.StatusReversed) {
				t.Errorf("write-back kind: got %q for a %s charge", d.WritebackKind, tt.want.status)
			}
			wantTx := ""
			if d.Outcome == models.OutcomeApplied {
				wantTx = ev.TransactionID
			}
			if d.TransactionID != wantTx {
				t.Errorf("transaction: got %q, want %q", d.TransactionID, wantTx)
			}
		})
	}
}

func TestDecideFlagsBeforeTheStateMachine(t *testing.T) {
	c := store.ChargeState{ID: 1, RefPayment: "FAC-1", Status: models.StatusSent, Amount: decimal.RequireFromString("20000"), Currency: "COP"}
	tests := []struct {
		name     string
		testMode bool
		ev       efipay.Event
		want     string
	}{
		{"test payment outside test mode", false, efipay.Event{Production: false, Currency: "COP"}, models.OutcomeFlagged},
		{"test payment in test mode", true, efipay.Event{Production: false, Currency: "COP"}, models.OutcomeApplied},
		{"another currency", false, efipay.Event{Production: true, Currency: "USD"}, models.OutcomeFlagged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{cfg: Config{TestMode: tt.testMode}, validator: validation.New(nil), log: slog.New(slog.DiscardHandler)}
			ev := tt.ev
			ev.TransactionID, ev.Status, ev.Outcome, ev.Amount = "1", "Aprobada", efipay.OutcomeApproved, c.Amount
			if got := s.decide(c, &ev, time.Now()).Outcome; got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Pendiente 1001, Pendiente 1002, Rechazada 1001: the charge stays in
// progress with 1002 and is not offered again while it is.
func TestLateFailureOfAnOlderAttemptIsStale(t *testing.T) {
	ctx := context.Background()
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "bridge.db"), clk)
	if _, err := st.Claim(ctx, store.ClaimRequest{Offers: []store.Offer{{
		RefPayment: "FAC-1", IDNumber: "1032456789", PayerName: "Ana Gómez", Description: "Cuota marzo",
		Amount: decimal.RequireFromString("20000"), Currency: "COP", Payload: []byte(`{}`),
	}}, ResendAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	s := New(nil, st, validation.New(clk.now), Config{}, clk.now, nil)
	body := func(tx, status string) []byte {
		return fmt.Appendf(nil, `{"transaction":{"transaction_id":%s,"status":%q,"amount":20000,"currency_type":"COP","production":true},`+
			`"checkout":{"payment_gateway":{"advanced_option":{"references":["FAC-1"]}}}}`, tx, status)
	}
	for _, step := range []struct {
		tx, status, want string
	}{
		{"1001", "Pendiente", models.OutcomeApplied},
		{"1002", "Pendiente", models.OutcomeApplied},
		{"1001", "Rechazada", models.OutcomeStale},
	} {
		res, err := s.Settle(ctx, body(step.tx, step.status))
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != step.want {
			t.Fatalf("%s %s: got %q (%s), want %q", step.status, step.tx, res.Outcome, res.Detail, step.want)
		}
	}
	clk.set(clk.now().Add(48 * time.Hour))
	tracked, err := st.Tracked(ctx, []string{"FAC-1"})
	if err != nil {
		t.Fatal(err)
	}
	got := tracked["FAC-1"]
	if got.Status != models.StatusInProgress {
		t.Fatalf("status: got %q, want %q", got.Status, models.StatusInProgress)
	}
	if got.Offerable(clk.now()) {
		t.Fatalf("offerable: got true, want false while 1002 is in progress")
	}
}

// TestSettlesParent: only a re-issue's full payment, and what undoes it,
// is mirrored on the ERP's charge; a balance's or a plain charge's never.
func TestSettlesParent(t *testing.T) {
	applied := func(status string) store.Decision {
		return store.Decision{Outcome: models.OutcomeApplied, NewStatus: status}
	}
	tests := []struct {
		name        string
		ref, parent string
		status      string
		dec         store.Decision
		want        bool
	}{
		{"re-issue paid", "FAC-1-V1", "FAC-1", models.StatusSent, applied(models.StatusPaid), true},
		{"re-issue's payment reversed", "FAC-1-V1", "FAC-1", models.StatusPaid, applied(models.StatusReversed), true},
		{"re-issue partially paid", "FAC-1-V1", "FAC-1", models.StatusSent, applied(models.StatusPartiallyPaid), false},
		{"re-issue in progress", "FAC-1-V1", "FAC-1", models.StatusSent, applied(models.StatusInProgress), false},
		{"re-issue failed", "FAC-1-V1", "FAC-1", models.StatusInProgress, applied(models.StatusFailed), false},
		{"re-issue paid twice: flagged", "FAC-1-V1", "FAC-1", models.StatusPaid, store.Decision{Outcome: models.OutcomeFlagged}, false},
		{"balance paid", "FAC-1-B1", "FAC-1", models.StatusSent, applied(models.StatusPaid), false},
		{"charge paid", "FAC-1-V1", "", models.StatusSent, applied(models.StatusPaid), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := store.ChargeState{RefPayment: tc.ref, ParentRef: tc.parent, Status: tc.status}
			if got := settlesParent(c, tc.dec); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
