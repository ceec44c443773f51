// Package local is the ERP source of a merchant whose ERP can only export
// files, or who has none: the charges live in the bridge's own database (the
// ledger), created, changed and cancelled through the admin API
// (/admin/api/ledger) or imported with `recauda-bridge import FILE`.
//
// Payments the webhooks record are written back into the same ledger, so the
// loop is complete: a paid charge is no longer offered, a partially paid one
// is offered for its balance (amount − paid), which is what the lookup's
// derived-balance scheme expects of an ERP; a reversed payment is undone and
// its charge offered again.
//
// The source only reads and writes through LedgerStore, which the store
// implements; it holds no state of its own.
package local

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"recauda-bridge/erp"
)

// LedgerStore is what the source needs of the bridge's database.
// *store.Store implements it. Every method must honour ctx and be safe for
// concurrent use.
type LedgerStore interface {
	// LedgerPending returns the open charges of idNumber, each for what is
	// left to pay; none is an empty slice and a nil error.
	LedgerPending(ctx context.Context, idNumber string) ([]erp.Charge, error)
	// LedgerRecordPayment records p against its charge, idempotent on
	// (p.RefPayment, p.TransactionID). found is false, with a nil error and
	// nothing written, when the ledger has no charge p.RefPayment.
	LedgerRecordPayment(ctx context.Context, p erp.Payment) (found bool, err error)
	// LedgerRecordReversal undoes the payment r.TransactionID of charge
	// r.RefPayment, idempotent on it, and reopens a paid charge; a payment
	// never recorded changes nothing. found is false, with a nil error and
	// nothing written, when the ledger has no charge r.RefPayment.
	LedgerRecordReversal(ctx context.Context, r erp.Reversal) (found bool, err error)
	// Ping returns nil when the database answers.
	Ping(ctx context.Context) error
}

// Source serves the ledger. It is safe for concurrent use.
type Source struct {
	st LedgerStore
}

// New returns the source over st.
func New(st LedgerStore) *Source { return &Source{st: st} }

// PendingCharges returns idNumber's open charges from the ledger. A database
// failure wraps erp.ErrUnavailable, so the lookup answers 503, never an
// empty list.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	charges, err := s.st.LedgerPending(ctx, strings.TrimSpace(idNumber))
	if err != nil {
		return nil, fmt.Errorf("local source: %w: %w", erp.ErrUnavailable, err)
	}
	if charges == nil {
		charges = []erp.Charge{}
	}
	return charges, nil
}

// RecordPayment records p in the ledger, once per transaction. A charge the
// ledger does not know is erp.ErrNotFound (retrying will not help); a
// database failure wraps erp.ErrUnavailable (it will).
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if p.TransactionID == "" {
		return errors.New("local source: record payment: no transaction id")
	}
	found, err := s.st.LedgerRecordPayment(ctx, p)
	if err != nil {
		return fmt.Errorf("local source: record payment %s: %w: %w", p.RefPayment, erp.ErrUnavailable, err)
	}
	if !found {
		return fmt.Errorf("local source: record payment: %w: %s is not in the ledger", erp.ErrNotFound, p.RefPayment)
	}
	return nil
}

// RecordReversal undoes the payment of r.TransactionID in the ledger, once:
// the charge is open again for what is left, so the next lookup offers the
// reversed debt. Errors as RecordPayment's.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if r.TransactionID == "" {
		return errors.New("local source: record reversal: no transaction id")
	}
	found, err := s.st.LedgerRecordReversal(ctx, r)
	if err != nil {
		return fmt.Errorf("local source: record reversal %s: %w: %w", r.RefPayment, erp.ErrUnavailable, err)
	}
	if !found {
		return fmt.Errorf("local source: record reversal: %w: %s is not in the ledger", erp.ErrNotFound, r.RefPayment)
	}
	return nil
}

// Check returns nil when the database answers.
func (s *Source) Check(ctx context.Context) error {
	if err := s.st.Ping(ctx); err != nil {
		return fmt.Errorf("local source: %w: %w", erp.ErrUnavailable, err)
	}
	return nil
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)
