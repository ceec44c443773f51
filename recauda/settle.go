package recauda

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/redact"
	"recauda-bridge/store"
)

// Settle stores a webhook whose signature was verified and applies it to its
// charge, all in one transaction, before the caller answers 2xx. A body that
// cannot be parsed or matched is stored all the same. An error means nothing
// was stored: the caller must not acknowledge the webhook, so Efipay retries.
func (s *Service) Settle(ctx context.Context, body []byte) (store.SettleResult, error) {
	d := store.WebhookDelivery{Body: body}
	ev, perr := efipay.Parse(body)
	if perr != nil {
		d.ParseError = perr.Error()
	} else {
		d.TransactionID, d.Status, d.Amount, d.Currency = ev.TransactionID, ev.Status, ev.Amount, ev.Currency
		d.Production, d.PaymentMethod, d.References = ev.Production, ev.PaymentMethod, ev.References
		if ev.Outcome == efipay.OutcomeApproved {
			d.ApprovedAt = ev.ApprovedAt
		}
	}
	now := s.now().UTC()
	res, err := s.store.Settle(ctx, d, func(c store.ChargeState) store.Decision {
		dec := s.decide(c, ev, now)
		dec.SettlesParent = settlesParent(c, dec)
		return dec
	})
	if err != nil {
		return store.SettleResult{}, fmt.Errorf("recauda: settle: %w", err)
	}
	level := s.log.InfoContext
	if res.Outcome != models.OutcomeApplied && res.Outcome != models.OutcomeDuplicate {
		level = s.log.WarnContext
	}
	level(ctx, "webhook stored", "event_id", res.EventID, "outcome", res.Outcome, "ref_payment", res.RefPayment,
		"transaction_id", d.TransactionID, "status", d.Status, "detail", res.Detail)
	if res.WritebackID != 0 && s.onWriteback != nil {
		s.onWriteback()
	}
	return res, nil
}

// OnWriteback sets a function called after a write-back job is enqueued (to
// wake the worker). Set it before serving.
func (s *Service) OnWriteback(f func()) { s.onWriteback = f }

// decide is the charge state machine. It is pure: the store runs it inside
// the settle transaction.
//
// Precedence for one transaction: in progress < failed / approved < reversed;
// an event that would move a transaction backwards is stale. Events of a
// different transaction than the one that paid a charge never unpay it, and
// a failure of another transaction than the one in progress is stale.
func (s *Service) decide(c store.ChargeState, ev *efipay.Event, now time.Time) store.Decision {
	if !ev.Production && !s.cfg.TestMode {
		return store.Decision{Outcome: models.OutcomeFlagged, Detail: "test payment (production=false) while the bridge is not in test mode"}
	}
	if ev.Currency != c.Currency {
		return store.Decision{Outcome: models.OutcomeFlagged, Detail: fmt.Sprintf("currency %s differs from the charge's %s", ev.Currency, c.Currency)}
	}
	paid := c.Status == models.StatusPaid || c.Status == models.StatusPartiallyPaid
	sameTx := c.TransactionID != "" && c.TransactionID == ev.TransactionID
	applied := func(status, detail string) store.Decision {
		return store.Decision{Outcome: models.OutcomeApplied, NewStatus: status, TransactionID: ev.TransactionID, Detail: detail}
	}
	stale := func(detail string) store.Decision {
		return store.Decision{Outcome: models.OutcomeStale, Detail: detail}
	}

	switch ev.Outcome {
	case efipay.OutcomeApproved:
		if paid {
			if sameTx {
				return stale("transaction already applied")
			}
			return store.Decision{Outcome: models.OutcomeFlagged, Detail: fmt.Sprintf(
				"a second approved payment (transaction %s) for a charge already paid by transaction %s: possible double payment", ev.TransactionID, c.TransactionID)}
		}
		if c.Status == models.StatusReversed && sameTx {
			return stale("transaction was reversed")
		}
		paidAt := ev.ApprovedAt
		if paidAt.IsZero() {
			paidAt = now
		}
		paidAt = paidAt.UTC()
		return s.approvedAmount(c, ev, paidAt)
	case efipay.OutcomeInProgress:
		switch {
		case paid:
			return stale("charge already paid")
		case sameTx && (c.Status == models.StatusFailed || c.Status == models.StatusReversed):
			return stale("transaction already ended as " + c.Status)
		case c.Status == models.StatusInactive:
			return stale("charge is inactive")
		}
		return applied(models.StatusInProgress, "")
	case efipay.OutcomeReversed:
		if paid && sameTx {
			zero := decimal.Zero
			d := applied(models.StatusReversed, "payment reversed; the debt is owed again")
			d.PaidAmount, d.OfferNow = &zero, true
			d.Writeback, d.WritebackKind = s.reversalWriteback(c, ev, now), models.WritebackReversal
			return d
		}
		if c.Status == models.StatusReversed && sameTx {
			return stale("already reversed")
		}
		return store.Decision{Outcome: models.OutcomeFlagged, Detail: "reversal of a transaction that did not pay this charge"}
	default: // failed
		switch {
		case paid && sameTx:
			return stale("transaction already approved")
		case paid:
			return stale("another attempt failed; the charge is already paid")
		case c.Status == models.StatusReversed && sameTx:
			return stale("transaction already reversed")
		case c.Status == models.StatusInactive:
			return stale("charge is inactive")
		case c.Status == models.StatusInProgress && !sameTx:
			// The payer started another attempt, still open: failing the
			// charge would offer it again and let them pay twice.
			return stale("an older attempt failed; transaction " + c.TransactionID + " is still in progress")
		}
		d := applied(models.StatusFailed, "attempt failed ("+ev.Status+"); the debt is still owed")
		d.OfferNow = true
		return d
	}
}

// settlesParent reports whether dec, applied to c, is mirrored on c's
// parent: c is a re-issue and dec pays it in full, or undoes the payment
// that did. The re-issue's payment settles the ERP's charge, so the parent
// must not read as owed; a partial payment is not mirrored, since a
// partially paid parent would be offered a balance of its own.
func settlesParent(c store.ChargeState, dec store.Decision) bool {
	if c.ParentRef == "" || !derivedOf(c.RefPayment, c.ParentRef, 'V') ||
		dec.Outcome != models.OutcomeApplied || dec.NewStatus == "" {
		return false
	}
	return dec.NewStatus == models.StatusPaid || c.Status == models.StatusPaid
}

// writeback is the job payload for a payment, or nil when the source cannot
// record payments. The ERP knows a derived balance charge by its original ref.
func (s *Service) writeback(c store.ChargeState, ev *efipay.Event, status string, paidAt time.Time) []byte {
	if !s.canRecord {
		return nil
	}
	ref := erpRef(c)
	b, err := json.Marshal(erp.Payment{
		RefPayment: ref, IDNumber: c.IDNumber, Amount: ev.Amount, Currency: ev.Currency,
		TransactionID: ev.TransactionID, PaidAt: paidAt, Status: status, PaymentMethod: ev.PaymentMethod,
	})
	if err != nil {
		s.log.Error("encoding write-back", "ref_payment", ref, "id_number", redact.ID(c.IDNumber), "error", err)
		return nil
	}
	return b
}

// reversalWriteback is the job payload that undoes the payment c recorded
// (the amount it was paid), or nil when the source records no payments: then
// there is nothing in the ERP to undo.
func (s *Service) reversalWriteback(c store.ChargeState, ev *efipay.Event, now time.Time) []byte {
	if !s.canRecord {
		return nil
	}
	ref := erpRef(c)
	b, err := json.Marshal(erp.Reversal{
		RefPayment: ref, IDNumber: c.IDNumber, Amount: c.PaidAmount, Currency: c.Currency,
		TransactionID: ev.TransactionID, ReversedAt: now, PaymentMethod: ev.PaymentMethod,
	})
	if err != nil {
		s.log.Error("encoding reversal write-back", "ref_payment", ref, "id_number", redact.ID(c.IDNumber), "error", err)
		return nil
	}
	return b
}

// erpRef is the ref the ERP knows c by: a derived charge's (-B, -V) parent.
func erpRef(c store.ChargeState) string {
	if c.ParentRef != "" {
		return c.ParentRef
	}
	return c.RefPayment
}
