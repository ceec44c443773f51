package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// PaymentFilter selects the webhook events that moved money: applied
// approvals (the charge became paid or partially paid) and applied
// reversals. Zero fields select everything.
type PaymentFilter struct {
	// From and Before bound the payment's time, From ≤ t < Before, where t
	// is Efipay's approval time or, for an event without one (a reversal,
	// an event stored before the bridge kept it), when it was received.
	From, Before  time.Time
	Currency      string
	PaymentMethod string
	IDNumber      string
	// RefPayment matches the ref Efipay paid or the ERP's ref of a
	// derived charge, so the ERP's ref finds its -B/-V payments too.
	RefPayment string
	// Offset and Limit page the rows; Limit 0 reads them all.
	Offset, Limit int
}

// PaymentRecord is one webhook event that moved money, with its charge.
type PaymentRecord struct {
	EventID    int64
	ReceivedAt time.Time
	// ApprovedAt is nil when the event carried no approval time.
	ApprovedAt    *time.Time
	TransactionID string
	// Status is Efipay's status as sent.
	Status string
	// Amount is the webhook's amount, positive even for a reversal.
	Amount        decimal.Decimal
	Currency      string
	PaymentMethod string
	// RefPayment is the ref Efipay paid; ParentRef the ERP's ref when that
	// is a derived charge, "" otherwise.
	RefPayment string
	ParentRef  string
	IDNumber   string
	PayerName  string
	// StatusAfter is the charge's state after the event: paid,
	// partially_paid or reversed.
	StatusAfter string
	// WritebackState is the state of the event's write-back job, "" when
	// none was queued (a source that records no payments).
	WritebackState string
	// Body is the webhook's body as stored.
	Body string
}

// Reversal reports whether the record undoes a payment.
func (p PaymentRecord) Reversal() bool { return p.StatusAfter == models.StatusReversed }

// paymentTime is the instant a payment is dated by. The index on it
// (migration 9) repeats this expression and paymentStates.
const paymentTime = `COALESCE(w.approved_at, w.received_at)`

const paymentStates = `w.status_after IN ('` + models.StatusPaid + `', '` + models.StatusPartiallyPaid + `', '` + models.StatusReversed + `')`

// paymentWhere is the WHERE of f and its arguments.
func (s *Store) paymentWhere(f PaymentFilter) (string, []any) {
	conds := []string{paymentStates}
	var args []any
	if !f.From.IsZero() {
		conds, args = append(conds, paymentTime+` >= ?`), append(args, s.timeArg(f.From.UTC()))
	}
	if !f.Before.IsZero() {
		conds, args = append(conds, paymentTime+` < ?`), append(args, s.timeArg(f.Before.UTC()))
	}
	if f.Currency != "" {
		conds, args = append(conds, `w.currency_type = ?`), append(args, f.Currency)
	}
	if f.PaymentMethod != "" {
		conds, args = append(conds, `w.payment_method = ?`), append(args, f.PaymentMethod)
	}
	if f.IDNumber != "" {
		conds, args = append(conds, `c.id_number = ?`), append(args, f.IDNumber)
	}
	if f.RefPayment != "" {
		conds, args = append(conds, `(w.ref_payment = ? OR c.parent_ref = ?)`), append(args, f.RefPayment, f.RefPayment)
	}
	return strings.Join(conds, " AND "), args
}

// Payments calls fn with each payment f selects, oldest first, reading the
// rows as they come: a range of any size costs one row's memory. An error
// from fn stops the reading and is returned as it is.
func (s *Store) Payments(ctx context.Context, f PaymentFilter, fn func(PaymentRecord) error) error {
	const op = "store: payments"
	where, args := s.paymentWhere(f)
	query := `SELECT w.id, w.received_at, w.approved_at, w.transaction_id, w.status, w.amount, w.currency_type,
		w.payment_method, w.ref_payment, COALESCE(c.parent_ref, ''), COALESCE(c.id_number, ''), COALESCE(c.payer_name, ''),
		w.status_after, COALESCE((SELECT j.state FROM writebacks j WHERE j.ref_payment = w.ref_payment
			AND j.transaction_id = w.transaction_id AND j.kind = CASE WHEN w.status_after = '` + models.StatusReversed + `'
			THEN '` + models.WritebackReversal + `' ELSE '` + models.WritebackPayment + `' END), ''), w.body
		FROM webhook_events w LEFT JOIN charges c ON c.id = w.charge_id
		WHERE ` + where + ` ORDER BY ` + paymentTime + `, w.id`
	if f.Limit > 0 {
		query += ` LIMIT ? OFFSET ?`
		args = append(args, f.Limit, max(f.Offset, 0))
	}
	rows, err := s.read.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return translate(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p PaymentRecord
		var approved sql.NullTime
		if err := rows.Scan(&p.EventID, &p.ReceivedAt, &approved, &p.TransactionID, &p.Status, &p.Amount, &p.Currency,
			&p.PaymentMethod, &p.RefPayment, &p.ParentRef, &p.IDNumber, &p.PayerName, &p.StatusAfter, &p.WritebackState, &p.Body); err != nil {
			return translate(op, err)
		}
		p.ReceivedAt = p.ReceivedAt.UTC()
		if approved.Valid {
			t := approved.Time.UTC()
			p.ApprovedAt = &t
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return translate(op, err)
	}
	return nil
}

// CountPayments counts the payments f selects, ignoring its page.
func (s *Store) CountPayments(ctx context.Context, f PaymentFilter) (int64, error) {
	where, args := s.paymentWhere(f)
	var n int64
	err := s.read.WithContext(ctx).Raw(`SELECT COUNT(*) FROM webhook_events w LEFT JOIN charges c ON c.id = w.charge_id WHERE `+where, args...).
		Scan(&n).Error
	if err != nil {
		return 0, translate("store: count payments", err)
	}
	return n, nil
}
