// Package erp defines how recauda-bridge reads a merchant's receivables: the
// Source interface every adapter implements, the domain Charge it returns,
// and the optional abilities an adapter may add (recording payments, health).
//
// Adapters live in sub-packages (erp/demo, erp/file, ...). The core never
// sees an adapter's own types, only Charges.
package erp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Sentinel errors an adapter returns (wrapped with %w) so the core can answer
// the right status without knowing the adapter.
var (
	// ErrUnavailable means the source could not be asked: down, timed out,
	// refused, or answered garbage. The lookup answers 503, never an empty list.
	ErrUnavailable = errors.New("erp source unavailable")
	// ErrNotFound means a write-back named a charge the ERP does not know.
	ErrNotFound = errors.New("erp charge not found")
	// ErrUnsupported means the adapter cannot do what was asked.
	ErrUnsupported = errors.New("erp operation not supported")
)

// Source is the one ability every adapter must have.
type Source interface {
	// PendingCharges returns the charges the customer with idNumber still owes.
	// No pending charges is an empty slice and a nil error, never ErrNotFound.
	// It must honour ctx's deadline and return an error wrapping
	// ErrUnavailable when the ERP cannot be asked or its answer cannot be read.
	// A record that was read but has a field that cannot be parsed is still
	// returned, with the problem in Charge.Defects, so that it is held back with
	// a reason instead of vanishing. It must be safe for concurrent use.
	PendingCharges(ctx context.Context, idNumber string) ([]Charge, error)
}

// PaymentRecorder is the optional ability to write a payment back to the ERP.
type PaymentRecorder interface {
	// RecordPayment records p in the ERP. It must be idempotent on
	// p.TransactionID: recording the same transaction twice has the effect of
	// once. It returns an error wrapping ErrUnavailable for a failure worth
	// retrying, and any other error for one that is not.
	RecordPayment(ctx context.Context, p Payment) error
}

// ReversalRecorder is the optional ability to write back that a payment the
// ERP recorded through PaymentRecorder was reversed (Efipay's "Reversada"):
// the debt is owed again. A source that records payments without it leaves
// each reversal to the operator.
type ReversalRecorder interface {
	// RecordReversal records r in the ERP. It must be idempotent on
	// r.TransactionID: reversing the same transaction twice has the effect
	// of once, and reversing a payment the ERP never recorded changes
	// nothing. It returns an error wrapping ErrUnavailable for a failure
	// worth retrying, one wrapping ErrUnsupported when this reversal must be
	// done by hand (the job then waits for the operator), and any other
	// error for one that retrying will not fix.
	RecordReversal(ctx context.Context, r Reversal) error
}

// CanRecord reports whether src (a Source or a PaymentRecorder) can write
// payments back: it implements PaymentRecorder and, when it has a
// CanRecord method (an adapter whose write-back must be configured,
// erp/guard), that says so.
func CanRecord(src any) bool {
	if _, ok := src.(PaymentRecorder); !ok {
		return false
	}
	if c, ok := src.(recordSwitch); ok {
		return c.CanRecord()
	}
	return true
}

// CanReverse reports whether src (a Source or a PaymentRecorder) can write
// reversals back: it implements ReversalRecorder and, when it has a
// CanReverse method (an adapter whose reversal must be configured,
// erp/guard), that says so.
func CanReverse(src any) bool {
	if _, ok := src.(ReversalRecorder); !ok {
		return false
	}
	if c, ok := src.(reverseSwitch); ok {
		return c.CanReverse()
	}
	return true
}

// recordSwitch and reverseSwitch are the methods of an adapter that
// implements a recorder but may be configured without it.
type (
	recordSwitch  interface{ CanRecord() bool }
	reverseSwitch interface{ CanReverse() bool }
)

// HealthChecker is the optional ability to tell whether the ERP is reachable.
type HealthChecker interface {
	// Check returns nil when the source can answer lookups now.
	Check(ctx context.Context) error
}

// Charge is one pending receivable as the ERP knows it, in domain terms.
// Dates are kept as the ERP gave them ("YYYY-MM-DD") so that an impossible
// date is reported by validation rather than lost in parsing.
type Charge struct {
	RefPayment  string
	IDNumber    string
	PayerName   string
	Description string
	Amount      decimal.Decimal
	Currency    string
	// Advance allows a partial first payment; nil means the full amount is due.
	Advance *Advance
	// LimitDate is the last day to pay, "YYYY-MM-DD"; empty means none.
	LimitDate string
	// References are the merchant's own references (Efipay allows 3 in all).
	References    []string
	Picture       string
	HasComments   bool
	CommentsLabel string
	// RequestAddressDelivery nil means "not said".
	RequestAddressDelivery *bool
	Discount               *Discount
	Delivery               *Delivery
	SelectedTaxes          []int64
	// Metadata is passed through to Efipay untouched (a JSON object).
	Metadata json.RawMessage
	// Defects are fields the adapter could not parse; a charge with defects
	// is never sent.
	Defects []Defect
}

// Clone returns a copy of c that shares nothing a caller could change.
func (c Charge) Clone() Charge {
	c.References = slices.Clone(c.References)
	c.Advance = clonePtr(c.Advance)
	c.RequestAddressDelivery = clonePtr(c.RequestAddressDelivery)
	c.Discount = clonePtr(c.Discount)
	c.Delivery = clonePtr(c.Delivery)
	c.SelectedTaxes = slices.Clone(c.SelectedTaxes)
	c.Metadata = bytes.Clone(c.Metadata)
	c.Defects = slices.Clone(c.Defects)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Advance is the minimum first payment: an amount or a percentage.
type Advance struct {
	Type  string // models.AdvanceMinimumValue or models.AdvanceMinimumPercent
	Value decimal.Decimal
}

// Discount is an early-payment discount.
type Discount struct {
	BeforeOn string // "YYYY-MM-DD"
	Type     string // models.DiscountPercent or models.DiscountValue
	Value    decimal.Decimal
}

// Delivery is a delivery charge; Value is zero for "Gratis".
type Delivery struct {
	Type  string // models.DeliveryFree or models.DeliveryPaid
	Value decimal.Decimal
}

// Defect is a field of a record that the adapter could not read.
type Defect struct {
	Field   string // Efipay's field path, e.g. "recauda_information.amount"
	Message string
}

// Payment is what a write-back tells the ERP.
type Payment struct {
	RefPayment    string
	IDNumber      string
	Amount        decimal.Decimal
	Currency      string
	TransactionID string
	PaidAt        time.Time
	// Status is "paid" or "partially_paid".
	Status        string
	PaymentMethod string
}

// Reversal is what a reversal write-back tells the ERP: the payment of
// TransactionID, recorded before with the same RefPayment, was reversed.
type Reversal struct {
	RefPayment string
	IDNumber   string
	// Amount and Currency are the reversed payment's.
	Amount        decimal.Decimal
	Currency      string
	TransactionID string
	ReversedAt    time.Time
	PaymentMethod string
}
