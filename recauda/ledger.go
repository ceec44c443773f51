package recauda

import (
	"context"
	"errors"
	"fmt"

	"recauda-bridge/erp"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// The operator's use cases on the bridge's own ledger (ERP_SOURCE=local):
// create, change, cancel and read its charges. Every charge that enters the
// ledger passes the same rules a lookup applies, dates against today in
// Bogotá. (A limit date may pass while the charge waits in the ledger; the
// lookup then holds it back with the reason, as for any source.)

// Ledger types are the store's; handlers name them through this package.
type (
	// LedgerCharge is a ledger charge and what became of it.
	LedgerCharge = store.LedgerCharge
	// LedgerFilter selects ledger charges.
	LedgerFilter = store.LedgerFilter
)

// Codes of ConflictError for the ledger.
const (
	// CodeRefExists: a charge with that ref_payment is already in the ledger.
	CodeRefExists = "ref_payment_exists"
)

// Rules of the ledger that are not Efipay's.
const (
	// RuleImmutable: ref_payment and id_number cannot change once a charge
	// is in the ledger.
	RuleImmutable = "immutable"
)

// InvalidChargeError is a ledger charge that breaks a rule; nothing was
// written. Handlers answer 422 with each violation.
type InvalidChargeError struct {
	RefPayment string
	Violations []validation.Violation
}

func (e *InvalidChargeError) Error() string {
	return fmt.Sprintf("recauda: charge %s breaks %d rule(s), the first %s: %s", e.RefPayment, len(e.Violations),
		e.Violations[0].Field, e.Violations[0].Message)
}

// checkLedgerCharge returns every reason c cannot be offered to Efipay,
// its dates as written (see Rules.AsWritten); nil means valid.
func (s *Service) checkLedgerCharge(c erp.Charge) []validation.Violation {
	rules := s.rules()
	rules.AsWritten = true
	return Assess([]Candidate{{Charge: c}}, Ask{}, rules)[0].Violations
}

// LedgerCharges lists ledger charges, most recent change first, and the
// total count.
func (s *Service) LedgerCharges(ctx context.Context, f LedgerFilter) ([]LedgerCharge, int64, error) {
	rows, total, err := s.store.ListLedger(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("recauda: ledger: %w", err)
	}
	return rows, total, nil
}

// LedgerCharge returns the ledger charge ref. Unknown ref: store.ErrNotFound.
func (s *Service) LedgerCharge(ctx context.Context, ref string) (LedgerCharge, error) {
	c, err := s.store.LedgerCharge(ctx, ref)
	if err != nil {
		return LedgerCharge{}, fmt.Errorf("recauda: ledger charge: %w", err)
	}
	return c, nil
}

// CreateLedgerCharge adds c to the ledger, open. A charge that breaks a rule
// is an *InvalidChargeError; a ref_payment already in the ledger (whatever
// its state) is a ConflictError with CodeRefExists.
func (s *Service) CreateLedgerCharge(ctx context.Context, c erp.Charge) (LedgerCharge, error) {
	if vs := s.checkLedgerCharge(c); len(vs) > 0 {
		return LedgerCharge{}, &InvalidChargeError{RefPayment: c.RefPayment, Violations: vs}
	}
	out, err := s.store.CreateLedgerCharge(ctx, c)
	if errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrUnavailable) {
		return LedgerCharge{}, &ConflictError{Code: CodeRefExists, Err: err,
			Message: fmt.Sprintf("ref_payment %s is already in the ledger; change it with PATCH", c.RefPayment)}
	}
	if err != nil {
		return LedgerCharge{}, fmt.Errorf("recauda: create ledger charge: %w", err)
	}
	s.log.InfoContext(ctx, "ledger charge created by the operator", "ref_payment", c.RefPayment)
	return out, nil
}

// UpdateLedgerCharge changes the open ledger charge ref: change gets its
// content and returns the new one, inside the store's transaction. The
// result must keep ref_payment and id_number and pass every rule, or it is
// an *InvalidChargeError; any other error of change is returned as it is.
// A paid or cancelled charge is a ConflictError; unknown ref:
// store.ErrNotFound.
func (s *Service) UpdateLedgerCharge(ctx context.Context, ref string, change func(erp.Charge) (erp.Charge, error)) (LedgerCharge, error) {
	out, err := s.store.UpdateLedgerCharge(ctx, ref, func(cur erp.Charge) (erp.Charge, error) {
		next, err := change(cur)
		if err != nil {
			return erp.Charge{}, err
		}
		var vs []validation.Violation
		if next.RefPayment != cur.RefPayment {
			vs = append(vs, validation.Violation{Field: "recauda_information.ref_payment", Rule: RuleImmutable,
				Message: "cannot change; cancel this charge and create another"})
		}
		if next.IDNumber != cur.IDNumber {
			vs = append(vs, validation.Violation{Field: "recauda_information.id_number", Rule: RuleImmutable,
				Message: "cannot change; cancel this charge and create another"})
		}
		vs = append(vs, s.checkLedgerCharge(next)...)
		if len(vs) > 0 {
			return erp.Charge{}, &InvalidChargeError{RefPayment: ref, Violations: vs}
		}
		return next, nil
	})
	if err := s.ledgerError(ctx, "changed", ref, err); err != nil {
		return LedgerCharge{}, err
	}
	return out, nil
}

// CancelLedgerCharge withdraws the ledger charge ref: kept, cancelled, never
// offered again. A cancelled charge is returned as it is; a paid one is a
// ConflictError; unknown ref: store.ErrNotFound.
func (s *Service) CancelLedgerCharge(ctx context.Context, ref string) (LedgerCharge, error) {
	out, err := s.store.CancelLedgerCharge(ctx, ref)
	if err := s.ledgerError(ctx, "cancelled", ref, err); err != nil {
		return LedgerCharge{}, err
	}
	return out, nil
}

func (s *Service) ledgerError(ctx context.Context, done, ref string, err error) error {
	var (
		se *store.StateError
		ie *InvalidChargeError
	)
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "ledger charge "+done+" by the operator", "ref_payment", ref)
		return nil
	case errors.As(err, &ie):
		return err
	case errors.As(err, &se):
		return &ConflictError{Code: CodeConflict, Err: err,
			Message: fmt.Sprintf("ledger charge %s is %s; only an open charge can be %s", ref, se.Status, done)}
	default:
		return fmt.Errorf("recauda: ledger charge: %w", err)
	}
}
