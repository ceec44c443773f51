package recauda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

// The operator's use cases behind the admin API: read charges, held-back
// records, webhook events and write-back jobs; release, deactivate and
// activate charges; retry and cancel write-backs; receipts.

// Codes of ConflictError.
const (
	// CodeConflict: the action does not apply to the current state.
	CodeConflict = "conflict"
	// CodeNotPaid: a receipt was asked for a charge that is not paid.
	CodeNotPaid = "not_paid"
)

// ConflictError is an operator action that the current state does not
// allow. Code is stable (CodeConflict, CodeNotPaid); Message tells the
// operator why, in a sentence. Err is the store's refusal, when there is
// one (then errors.Is(err, store.ErrConflict) holds).
type ConflictError struct {
	Code    string
	Message string
	Err     error
}

func (e *ConflictError) Error() string { return "recauda: " + e.Message }

// Unwrap returns the cause.
func (e *ConflictError) Unwrap() error { return e.Err }

// The admin reads' types are the store's: the use cases add nothing to
// them, and handlers name them through this package.
type (
	// ChargeDetail is a charge with its timeline, webhook events and jobs.
	ChargeDetail = store.ChargeDetail
	// HeldBackRecord is a held-back record.
	HeldBackRecord = store.HeldBackRecord
	// HeldBackFilter selects held-back records.
	HeldBackFilter = store.HeldBackFilter
	// WebhookEventFilter selects webhook events.
	WebhookEventFilter = store.WebhookEventFilter
	// WritebackFilter selects write-back jobs.
	WritebackFilter = store.WritebackFilter
)

// ChargeQuery selects charges for the operator. Zero fields select all.
type ChargeQuery struct {
	Status     string
	IDNumber   string
	RefPayment string
	// From and To are calendar days in America/Bogota (only year, month and
	// day are read), both inclusive, on the charge's last activity; zero is
	// no bound.
	From, To time.Time
	Page     int
	PerPage  int
}

// Charges lists charges, most recent activity first, and the total count.
func (s *Service) Charges(ctx context.Context, q ChargeQuery) ([]models.TrackedCharge, int64, error) {
	f := store.ChargeFilter{Status: q.Status, IDNumber: q.IDNumber, RefPayment: q.RefPayment, Page: q.Page, PerPage: q.PerPage}
	if !q.From.IsZero() {
		f.UpdatedFrom = dayStart(q.From, 0)
	}
	if !q.To.IsZero() {
		f.UpdatedBefore = dayStart(q.To, 1)
	}
	rows, total, err := s.store.ListCharges(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("recauda: charges: %w", err)
	}
	return rows, total, nil
}

// dayStart is the instant the day after d by plus days starts in Bogotá.
func dayStart(d time.Time, plus int) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day+plus, 0, 0, 0, 0, models.Bogota).UTC()
}

// Charge returns a charge with its timeline, webhook events and write-back
// jobs. Unknown ref: store.ErrNotFound.
func (s *Service) Charge(ctx context.Context, ref string) (ChargeDetail, error) {
	d, err := s.store.ChargeDetail(ctx, ref)
	if err != nil {
		return ChargeDetail{}, fmt.Errorf("recauda: charge: %w", err)
	}
	return d, nil
}

// ReleaseCharge makes an unpaid charge due at the next lookup.
func (s *Service) ReleaseCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	c, err := s.store.ReleaseCharge(ctx, ref)
	return c, s.operatorError(ctx, store.ActionRelease, ref, err)
}

// DeactivateCharge stops an unpaid charge from being offered until it is
// activated; a charge already inactive is returned as it is.
func (s *Service) DeactivateCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	c, err := s.store.DeactivateCharge(ctx, ref)
	return c, s.operatorError(ctx, store.ActionDeactivate, ref, err)
}

// ActivateCharge returns an inactive charge to its former state, due at the
// next lookup; a charge already offerable is returned as it is.
func (s *Service) ActivateCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	c, err := s.store.ActivateCharge(ctx, ref)
	return c, s.operatorError(ctx, store.ActionActivate, ref, err)
}

// operatorError turns a refused state change into a ConflictError with a
// sentence for the operator, and logs the actions that succeeded.
func (s *Service) operatorError(ctx context.Context, action, ref string, err error) error {
	var se *store.StateError
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "charge changed by the operator", "action", action, "ref_payment", ref)
		return nil
	case errors.As(err, &se):
		return &ConflictError{Code: CodeConflict, Message: stateMessage(se), Err: err}
	default:
		return fmt.Errorf("recauda: %w", err)
	}
}

func stateMessage(se *store.StateError) string {
	switch se.Action {
	case store.ActionRelease:
		if se.Status == models.StatusInactive {
			return fmt.Sprintf("charge %s is inactive; activate it instead of releasing it", se.RefPayment)
		}
		return fmt.Sprintf("charge %s is %s; only a sent, failed or reversed charge can be released", se.RefPayment, se.Status)
	case store.ActionDeactivate:
		return fmt.Sprintf("charge %s is %s; only a sent, failed or reversed charge can be deactivated", se.RefPayment, se.Status)
	case store.ActionActivate:
		return fmt.Sprintf("charge %s is %s; only an inactive charge can be activated", se.RefPayment, se.Status)
	}
	return fmt.Sprintf("charge %s is %s; cannot %s it", se.RefPayment, se.Status, se.Action)
}

// HeldBack lists held-back records, most recently seen first.
func (s *Service) HeldBack(ctx context.Context, f HeldBackFilter) ([]HeldBackRecord, int64, error) {
	rows, total, err := s.store.ListHeldBack(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("recauda: held back: %w", err)
	}
	return rows, total, nil
}

// WebhookEvents lists webhook events, newest first, without bodies.
func (s *Service) WebhookEvents(ctx context.Context, f WebhookEventFilter) ([]models.WebhookEvent, int64, error) {
	rows, total, err := s.store.ListWebhookEvents(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("recauda: webhook events: %w", err)
	}
	return rows, total, nil
}

// WebhookEvent returns one webhook event with its raw body. Unknown id:
// store.ErrNotFound.
func (s *Service) WebhookEvent(ctx context.Context, id int64) (models.WebhookEvent, error) {
	ev, err := s.store.GetWebhookEvent(ctx, id)
	if err != nil {
		return models.WebhookEvent{}, fmt.Errorf("recauda: webhook event: %w", err)
	}
	return ev, nil
}

// Writeback is a write-back job with its payment decoded.
type Writeback struct {
	store.Writeback
	// Delivery is the payment the job records in the ERP; zero when the
	// stored JSON cannot be read (Readable false).
	Delivery erp.Payment
	Readable bool
}

// NewWriteback decodes the payment of job w. A reversal's Delivery is the
// payment it undoes, with status reversed.
func NewWriteback(w store.Writeback) Writeback {
	out := Writeback{Writeback: w}
	if w.Kind == models.WritebackReversal {
		var r erp.Reversal
		out.Readable = json.Unmarshal(w.Payment, &r) == nil
		out.Delivery = erp.Payment{RefPayment: r.RefPayment, IDNumber: r.IDNumber, Amount: r.Amount, Currency: r.Currency,
			TransactionID: r.TransactionID, PaidAt: r.ReversedAt, Status: models.StatusReversed, PaymentMethod: r.PaymentMethod}
		return out
	}
	out.Readable = json.Unmarshal(w.Payment, &out.Delivery) == nil
	return out
}

// Writebacks lists write-back jobs, newest first.
func (s *Service) Writebacks(ctx context.Context, f WritebackFilter) ([]Writeback, int64, error) {
	jobs, total, err := s.store.ListWritebacks(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("recauda: write-backs: %w", err)
	}
	out := make([]Writeback, len(jobs))
	for i, j := range jobs {
		out[i] = NewWriteback(j)
	}
	return out, total, nil
}

// RetryWriteback makes job id due now. A job already done is a
// ConflictError; unknown id: store.ErrNotFound.
func (s *Service) RetryWriteback(ctx context.Context, id int64) (Writeback, error) {
	w, err := s.store.RetryWriteback(ctx, id)
	if err != nil {
		return Writeback{}, writebackError(err, fmt.Sprintf("write-back %d is already done; there is nothing to retry", id))
	}
	s.log.InfoContext(ctx, "write-back retry asked by the operator", "writeback_id", id, "ref_payment", w.RefPayment)
	if s.onWriteback != nil {
		s.onWriteback()
	}
	return NewWriteback(w), nil
}

// CancelWriteback stops job id from being tried again. A job already done
// is a ConflictError; unknown id: store.ErrNotFound.
func (s *Service) CancelWriteback(ctx context.Context, id int64) (Writeback, error) {
	w, err := s.store.CancelWriteback(ctx, id)
	if err != nil {
		return Writeback{}, writebackError(err, fmt.Sprintf("write-back %d is already done; it cannot be cancelled", id))
	}
	s.log.InfoContext(ctx, "write-back cancelled by the operator", "writeback_id", id, "ref_payment", w.RefPayment)
	return NewWriteback(w), nil
}

func writebackError(err error, conflict string) error {
	if errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrUnavailable) {
		return &ConflictError{Code: CodeConflict, Message: conflict, Err: err}
	}
	return fmt.Errorf("recauda: %w", err)
}

// Receipt is what a payment receipt shows.
type Receipt struct {
	Charge models.TrackedCharge
	// PaymentMethod is Efipay's method of the payment ("credit", "pse", …);
	// "" when unknown.
	PaymentMethod string
	// References are the merchant's references sent with the charge
	// (advanced_options.references), ref_payment included when there was room.
	References []string
}

// Receipt returns the receipt of a paid or partially paid charge; any other
// state is a ConflictError with CodeNotPaid. Unknown ref: store.ErrNotFound.
func (s *Service) Receipt(ctx context.Context, ref string) (Receipt, error) {
	r, err := s.store.ChargeReceipt(ctx, ref)
	if err != nil {
		return Receipt{}, fmt.Errorf("recauda: receipt: %w", err)
	}
	c := r.Charge
	if c.Status != models.StatusPaid && c.Status != models.StatusPartiallyPaid {
		return Receipt{}, &ConflictError{Code: CodeNotPaid,
			Message: fmt.Sprintf("charge %s is %s; a receipt exists only for a paid or partially paid charge", ref, c.Status)}
	}
	out := Receipt{Charge: c, PaymentMethod: r.PaymentMethod, References: []string{}}
	var p models.Payment
	if json.Unmarshal([]byte(r.Payload), &p) == nil && p.AdvancedOptions != nil {
		out.References = append(out.References, p.AdvancedOptions.References...)
	}
	return out, nil
}
