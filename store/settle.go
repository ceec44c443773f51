package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"recauda-bridge/models"
)

// WebhookDelivery is a webhook whose signature was verified, parsed or not.
type WebhookDelivery struct {
	Body []byte
	// ParseError is set when the body could not be parsed; nothing else is.
	ParseError    string
	TransactionID string
	Status        string
	Amount        decimal.Decimal
	Currency      string
	Production    bool
	PaymentMethod string
	// References are every candidate ref_payment the body carries.
	References []string
}

// ChargeState is what a settle decision sees of the matched charge.
type ChargeState struct {
	ID             int64
	RefPayment     string
	ParentRef      string
	IDNumber       string
	PayerName      string
	Status         string
	Amount         decimal.Decimal
	PaidAmount     decimal.Decimal
	Currency       string
	AdvanceAllowed bool
	TransactionID  string
	Payload        string
}

// Decision is what applying one event does to its charge.
type Decision struct {
	Outcome string // models.OutcomeApplied, OutcomeFlagged or OutcomeStale
	Detail  string
	// NewStatus is the charge's next state; "" leaves it.
	NewStatus string
	// PaidAmount replaces the paid amount when set.
	PaidAmount *decimal.Decimal
	// PaidAt sets paid_at when set.
	PaidAt *time.Time
	// TransactionID replaces the charge's transaction when non-empty.
	TransactionID string
	// OfferNow makes the charge due for the next lookup (the debt is owed again).
	OfferNow bool
	// Writeback, when set, is the JSON payment to deliver to the ERP.
	Writeback []byte
}

// Decide turns an event and the current charge into a Decision. It runs
// inside the settle transaction, so it must not do I/O.
type Decide func(c ChargeState) Decision

// SettleResult says what became of a delivery.
type SettleResult struct {
	EventID    int64
	Outcome    string
	Detail     string
	RefPayment string
	// WritebackID is the job enqueued, or 0.
	WritebackID int64
}

// Settle stores a verified webhook delivery and applies it to its charge in
// one transaction: the raw body, the state change, the timeline entry and the
// write-back job commit together or not at all. A delivery that cannot be
// parsed or matched is still stored. The same (transaction, status) applied
// twice is stored as a duplicate and changes nothing.
func (s *Store) Settle(ctx context.Context, d WebhookDelivery, decide Decide) (SettleResult, error) {
	now := s.now()
	var res SettleResult
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		ev := models.WebhookEventRow{
			ReceivedAt: now, Body: string(d.Body), BodyHash: PayloadHash(d.Body),
			TransactionID: d.TransactionID, Status: d.Status, CurrencyType: d.Currency,
			Production: d.Production, PaymentMethod: d.PaymentMethod,
		}
		if d.ParseError == "" {
			ev.Amount = d.Amount.String()
		}
		var err error
		res.Outcome, res.Detail, err = s.settleEvent(tx, d, decide, now, &ev, &res)
		if err != nil {
			return err
		}
		ev.Outcome, ev.Detail = res.Outcome, res.Detail
		if err := tx.Create(&ev).Error; err != nil {
			return err
		}
		res.EventID, res.RefPayment = ev.ID, ev.RefPayment
		return nil
	})
	if err != nil {
		return SettleResult{}, translate("store: settle", err)
	}
	return res, nil
}

// settleEvent matches the delivery to its charge and applies it. Problems of
// the delivery become its outcome; a database error aborts the transaction.
func (s *Store) settleEvent(tx *gorm.DB, d WebhookDelivery, decide Decide, now time.Time, ev *models.WebhookEventRow, res *SettleResult) (outcome, detail string, err error) {
	if d.ParseError != "" {
		return models.OutcomeUnparseable, d.ParseError, nil
	}
	if len(d.References) == 0 {
		return models.OutcomeUnmatched, "the webhook carries no reference", nil
	}
	q := tx.Where("ref_payment IN ?", d.References)
	if s.dialect == Postgres {
		// Two replicas applying events of one charge take turns.
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var rows []models.ChargeRow
	if err := q.Find(&rows).Error; err != nil {
		return "", "", err
	}
	switch len(rows) {
	case 0:
		return models.OutcomeUnmatched, "no tracked ref_payment among references " + strings.Join(d.References, ", "), nil
	case 1:
	default:
		refs := make([]string, len(rows))
		for i, r := range rows {
			refs[i] = r.RefPayment
		}
		return models.OutcomeUnmatched, "ambiguous: references match several charges: " + strings.Join(refs, ", "), nil
	}
	c := rows[0]
	ev.ChargeID, ev.RefPayment = &c.ID, c.RefPayment

	var seen int64
	if err := tx.Model(&models.WebhookEventRow{}).
		Where("charge_id = ? AND transaction_id = ? AND status = ? AND outcome <> ?", c.ID, d.TransactionID, d.Status, models.OutcomeDuplicate).
		Count(&seen).Error; err != nil {
		return "", "", err
	}
	if seen > 0 {
		return models.OutcomeDuplicate, "transaction " + d.TransactionID + " with status " + d.Status + " was received before", nil
	}

	dec := decide(ChargeState{
		ID: c.ID, RefPayment: c.RefPayment, ParentRef: c.ParentRef, IDNumber: c.IDNumber, PayerName: c.PayerName,
		Status: c.Status, Amount: c.Amount, PaidAmount: c.PaidAmount, Currency: c.CurrencyType,
		AdvanceAllowed: c.AdvanceAllowed, TransactionID: c.TransactionID, Payload: c.Payload,
	})
	updates := map[string]any{"updated_at": now}
	if dec.NewStatus != "" {
		updates["status"] = dec.NewStatus
	}
	if dec.PaidAmount != nil {
		updates["paid_amount"] = dec.PaidAmount.String()
	}
	if dec.PaidAt != nil {
		updates["paid_at"] = *dec.PaidAt
	}
	if dec.TransactionID != "" {
		updates["transaction_id"] = dec.TransactionID
	}
	if dec.OfferNow {
		updates["offer_after"] = now
	}
	if err := tx.Model(&models.ChargeRow{}).Where("id = ?", c.ID).Updates(updates).Error; err != nil {
		return "", "", err
	}
	to := c.Status
	if dec.NewStatus != "" {
		to = dec.NewStatus
	}
	line := fmt.Sprintf("webhook %s: transaction %s %s %s %s", dec.Outcome, d.TransactionID, d.Status, d.Currency, d.Amount.String())
	if dec.Detail != "" {
		line += ": " + dec.Detail
	}
	if err := tx.Create(&models.ChargeEventRow{ChargeID: c.ID, Kind: "webhook", FromStatus: c.Status, ToStatus: to, Detail: line, CreatedAt: now}).Error; err != nil {
		return "", "", err
	}
	if dec.Writeback != nil {
		job := models.WritebackRow{
			ChargeID: c.ID, RefPayment: c.RefPayment, TransactionID: d.TransactionID, Payment: string(dec.Writeback),
			State: models.WritebackPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
		}
		r := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&job)
		if r.Error != nil {
			return "", "", r.Error
		}
		if r.RowsAffected > 0 {
			res.WritebackID = job.ID
			if err := tx.Create(&models.ChargeEventRow{ChargeID: c.ID, Kind: "writeback_enqueued", FromStatus: to, ToStatus: to,
				Detail: fmt.Sprintf("write-back #%d queued for transaction %s", job.ID, d.TransactionID), CreatedAt: now}).Error; err != nil {
				return "", "", err
			}
		}
	}
	return dec.Outcome, dec.Detail, nil
}
