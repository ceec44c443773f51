package recauda

import (
	"cmp"
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

// eventStatuses are an Efipay status of each outcome.
var eventStatuses = map[efipay.Outcome]string{
	efipay.OutcomeApproved:   "Aprobada",
	efipay.OutcomeInProgress: "Pendiente",
	efipay.OutcomeReversed:   "Reversada",
	efipay.OutcomeFailed:     "Rechazada",
}

// TestDecide is the whole state machine as a table: every charge state
// against every event outcome, from the transaction the charge knows and
// from another (a charge that was only sent knows no transaction), with
// everything the decision says: outcome, detail, next state, paid amount
// and time, transaction, whether the debt is offered again, and the
// write-back it queues, with a source that records payments and without.
func TestDecide(t *testing.T) {
	const (
		same  = true
		other = false
	)
	type want struct {
		outcome   string
		detail    string
		status    string // "" leaves the status
		offerNow  bool
		writeback string // the job's kind; "": none
	}
	var (
		paid       = want{outcome: models.OutcomeApplied, status: models.StatusPaid, writeback: models.WritebackPayment}
		inProgress = want{outcome: models.OutcomeApplied, status: models.StatusInProgress}
		failed     = want{outcome: models.OutcomeApplied, detail: "attempt failed (Rechazada); the debt is still owed",
			status: models.StatusFailed, offerNow: true}
		reversed = want{outcome: models.OutcomeApplied, detail: "payment reversed; the debt is owed again",
			status: models.StatusReversed, offerNow: true, writeback: models.WritebackReversal}
		stale   = func(detail string) want { return want{outcome: models.OutcomeStale, detail: detail} }
		flagged = func(detail string) want { return want{outcome: models.OutcomeFlagged, detail: detail} }

		doublePayment   = flagged("a second approved payment (transaction 1002) for a charge already paid by transaction 1001: possible double payment")
		foreignReversal = flagged("reversal of a transaction that did not pay this charge")
		inactive        = stale("charge is inactive")
	)
	tests := []struct {
		state   string
		sameTx  bool
		outcome efipay.Outcome
		want    want
	}{
		{models.StatusSent, other, efipay.OutcomeApproved, paid},
		{models.StatusSent, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusSent, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusSent, other, efipay.OutcomeFailed, failed},

		{models.StatusInProgress, same, efipay.OutcomeApproved, paid},
		{models.StatusInProgress, same, efipay.OutcomeInProgress, inProgress},
		{models.StatusInProgress, same, efipay.OutcomeReversed, foreignReversal},
		{models.StatusInProgress, same, efipay.OutcomeFailed, failed},
		{models.StatusInProgress, other, efipay.OutcomeApproved, paid},
		{models.StatusInProgress, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusInProgress, other, efipay.OutcomeReversed, foreignReversal},
		// An older attempt failing while a newer one is in progress.
		{models.StatusInProgress, other, efipay.OutcomeFailed, stale("an older attempt failed; transaction 1001 is still in progress")},

		{models.StatusPaid, same, efipay.OutcomeApproved, stale("transaction already applied")},
		{models.StatusPaid, same, efipay.OutcomeInProgress, stale("charge already paid")},
		{models.StatusPaid, same, efipay.OutcomeReversed, reversed},
		{models.StatusPaid, same, efipay.OutcomeFailed, stale("transaction already approved")},
		{models.StatusPaid, other, efipay.OutcomeApproved, doublePayment},
		{models.StatusPaid, other, efipay.OutcomeInProgress, stale("charge already paid")},
		{models.StatusPaid, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusPaid, other, efipay.OutcomeFailed, stale("another attempt failed; the charge is already paid")},

		{models.StatusPartiallyPaid, same, efipay.OutcomeApproved, stale("transaction already applied")},
		{models.StatusPartiallyPaid, same, efipay.OutcomeInProgress, stale("charge already paid")},
		{models.StatusPartiallyPaid, same, efipay.OutcomeReversed, reversed},
		{models.StatusPartiallyPaid, same, efipay.OutcomeFailed, stale("transaction already approved")},
		{models.StatusPartiallyPaid, other, efipay.OutcomeApproved, doublePayment},
		{models.StatusPartiallyPaid, other, efipay.OutcomeInProgress, stale("charge already paid")},
		{models.StatusPartiallyPaid, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusPartiallyPaid, other, efipay.OutcomeFailed, stale("another attempt failed; the charge is already paid")},

		{models.StatusFailed, same, efipay.OutcomeApproved, paid},
		{models.StatusFailed, same, efipay.OutcomeInProgress, stale("transaction already ended as failed")},
		{models.StatusFailed, same, efipay.OutcomeReversed, foreignReversal},
		{models.StatusFailed, same, efipay.OutcomeFailed, failed},
		{models.StatusFailed, other, efipay.OutcomeApproved, paid},
		{models.StatusFailed, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusFailed, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusFailed, other, efipay.OutcomeFailed, failed},

		{models.StatusReversed, same, efipay.OutcomeApproved, stale("transaction was reversed")},
		{models.StatusReversed, same, efipay.OutcomeInProgress, stale("transaction already ended as reversed")},
		{models.StatusReversed, same, efipay.OutcomeReversed, stale("already reversed")},
		{models.StatusReversed, same, efipay.OutcomeFailed, stale("transaction already reversed")},
		{models.StatusReversed, other, efipay.OutcomeApproved, paid},
		{models.StatusReversed, other, efipay.OutcomeInProgress, inProgress},
		{models.StatusReversed, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusReversed, other, efipay.OutcomeFailed, failed},

		{models.StatusInactive, same, efipay.OutcomeApproved, paid},
		{models.StatusInactive, same, efipay.OutcomeInProgress, inactive},
		{models.StatusInactive, same, efipay.OutcomeReversed, foreignReversal},
		{models.StatusInactive, same, efipay.OutcomeFailed, inactive},
		{models.StatusInactive, other, efipay.OutcomeApproved, paid},
		{models.StatusInactive, other, efipay.OutcomeInProgress, inactive},
		{models.StatusInactive, other, efipay.OutcomeReversed, foreignReversal},
		{models.StatusInactive, other, efipay.OutcomeFailed, inactive},
	}

	// Every pair is in the table, once.
	covered := map[string]int{}
	for _, tt := range tests {
		covered[fmt.Sprint(tt.state, tt.sameTx, tt.outcome)]++
	}
	for _, state := range models.Statuses {
		for outcome := range eventStatuses {
			for _, sameTx := range []bool{same, other} {
				if state == models.StatusSent && sameTx {
					continue
				}
				if n := covered[fmt.Sprint(state, sameTx, outcome)]; n != 1 {
					t.Errorf("a %s charge, %s event, same transaction %v: got %d cases, want 1", state, outcome, sameTx, n)
				}
			}
		}
	}

	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	approvedAt := time.Date(2026, 12, 6, 14, 58, 0, 0, time.UTC)
	for _, canRecord := range []bool{true, false} {
		s := &Service{canRecord: canRecord, validator: validation.New(func() time.Time { return now }), log: slog.New(slog.DiscardHandler)}
		for _, tt := range tests {
			tx := "other"
			if tt.sameTx {
				tx = "same"
			}
			t.Run(fmt.Sprintf("%s/%s/%s/records %v", tt.state, tt.outcome, tx, canRecord), func(t *testing.T) {
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
				if tt.outcome == efipay.OutcomeApproved {
					ev.ApprovedAt = approvedAt
				}
				if tt.sameTx {
					ev.TransactionID = "1001"
				}
				d := s.decide(c, ev, now)
				if d.Detail != "" && ReadDecision(d.Detail).Code == "" {
					t.Errorf("detail %q is in no form ReadDecision knows", d.Detail)
				}
				if d.Outcome != tt.want.outcome || d.Detail != tt.want.detail {
					t.Errorf("outcome: got %q (%q), want %q (%q)", d.Outcome, d.Detail, tt.want.outcome, tt.want.detail)
				}
				if d.NewStatus != tt.want.status {
					t.Errorf("new status: got %q, want %q", d.NewStatus, tt.want.status)
				}
				if d.OfferNow != tt.want.offerNow {
					t.Errorf("offer now: got %v, want %v", d.OfferNow, tt.want.offerNow)
				}
				wantWriteback := tt.want.writeback
				if !canRecord {
					wantWriteback = ""
				}
				gotWriteback := ""
				if d.Writeback != nil {
					gotWriteback = cmp.Or(d.WritebackKind, models.WritebackPayment)
				}
				if gotWriteback != wantWriteback {
					t.Errorf("write-back: got %q, want %q", gotWriteback, wantWriteback)
				}
				wantTx := ""
				if d.Outcome == models.OutcomeApplied {
					wantTx = ev.TransactionID
				}
				if d.TransactionID != wantTx {
					t.Errorf("transaction: got %q, want %q", d.TransactionID, wantTx)
				}
				// A payment records what was paid and when Efipay approved
				// it; its reversal zeroes the paid amount; nothing else
				// touches either.
				var wantPaid string
				var wantPaidAt *time.Time
				switch tt.want.status {
				case models.StatusPaid:
					wantPaid, wantPaidAt = "20000", &approvedAt
				case models.StatusReversed:
					wantPaid = "0"
				}
				gotPaid := ""
				if d.PaidAmount != nil {
					gotPaid = d.PaidAmount.String()
				}
				if gotPaid != wantPaid {
					t.Errorf("paid amount: got %q, want %q", gotPaid, wantPaid)
				}
				if (d.PaidAt == nil) != (wantPaidAt == nil) || (d.PaidAt != nil && !d.PaidAt.Equal(*wantPaidAt)) {
					t.Errorf("paid at: got %v, want %v", d.PaidAt, wantPaidAt)
				}
			})
		}
	}
}

// An approval without approved_at is paid at the time the webhook is
// settled.
func TestDecidePaidAtWithoutApprovalTime(t *testing.T) {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	s := &Service{canRecord: true, validator: validation.New(func() time.Time { return now }), log: slog.New(slog.DiscardHandler)}
	c := store.ChargeState{ID: 1, RefPayment: "FAC-1", Status: models.StatusSent, Amount: decimal.RequireFromString("20000"), Currency: "COP"}
	ev := &efipay.Event{TransactionID: "1", Status: "Aprobada", Outcome: efipay.OutcomeApproved, Amount: c.Amount, Currency: "COP", Production: true}
	if d := s.decide(c, ev, now); d.PaidAt == nil || !d.PaidAt.Equal(now) {
		t.Fatalf("paid at: got %v, want %v", d.PaidAt, now)
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
