// Package erptest has a hand-written fake ERP source for tests.
package erptest

import (
	"context"
	"sync"

	"recauda-bridge/erp"
)

// Source is a fake erp.Source whose behaviour is a function field. It also
// records payments, like an ERP that accepts write-backs.
type Source struct {
	PendingChargesFunc func(ctx context.Context, idNumber string) ([]erp.Charge, error)
	RecordPaymentFunc  func(ctx context.Context, p erp.Payment) error

	mu       sync.Mutex
	calls    int
	recorded []erp.Payment
}

// PendingCharges calls PendingChargesFunc.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	if s.PendingChargesFunc == nil {
		return nil, nil
	}
	return s.PendingChargesFunc(ctx, idNumber)
}

// RecordPayment calls RecordPaymentFunc (nil: accept) and keeps p.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if s.RecordPaymentFunc != nil {
		if err := s.RecordPaymentFunc(ctx, p); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded = append(s.recorded, p)
	return nil
}

// Calls is how many times PendingCharges was called.
func (s *Source) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Recorded returns the payments recorded so far.
func (s *Source) Recorded() []erp.Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]erp.Payment(nil), s.recorded...)
}

// Static returns a PendingChargesFunc that answers each ID number's charges
// from m.
func Static(m map[string][]erp.Charge) func(context.Context, string) ([]erp.Charge, error) {
	return func(_ context.Context, id string) ([]erp.Charge, error) {
		return append([]erp.Charge(nil), m[id]...), nil
	}
}

// ReversingSource is a Source that also records reversals, like an ERP that
// accepts both write-backs.
type ReversingSource struct {
	Source
	RecordReversalFunc func(ctx context.Context, r erp.Reversal) error

	revMu    sync.Mutex
	reversed []erp.Reversal
}

// RecordReversal calls RecordReversalFunc (nil: accept) and keeps r.
func (s *ReversingSource) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if s.RecordReversalFunc != nil {
		if err := s.RecordReversalFunc(ctx, r); err != nil {
			return err
		}
	}
	s.revMu.Lock()
	defer s.revMu.Unlock()
	s.reversed = append(s.reversed, r)
	return nil
}

// Reversed returns the reversals recorded so far.
func (s *ReversingSource) Reversed() []erp.Reversal {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	return append([]erp.Reversal(nil), s.reversed...)
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*ReversingSource)(nil)
)
