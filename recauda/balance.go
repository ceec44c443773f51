package recauda

import (
	"context"
	"fmt"
	"time"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// DerivedRef is the ref under which the n-th balance of a partially paid
// charge is offered: "<ref>-B<n>". Efipay de-duplicates by ref_payment, so the
// balance needs a ref of its own; the write-back still names the ERP's ref.
func DerivedRef(parent string, n int) string { return fmt.Sprintf("%s-B%d", parent, n) }

// balances decides what to offer for charges the ERP still lists but that
// were partially paid: the remaining balance, under a derived ref, once the
// ERP reports exactly that balance; otherwise nothing, with the reason.
func (s *Service) balances(ctx context.Context, l *Lookup, idx []int, tracked map[string]store.Tracked, now time.Time) ([]int, []store.HeldBack, error) {
	derived, err := s.derivedCharges(ctx, l, idx)
	if err != nil {
		return nil, nil, err
	}
	var candidates []int
	var held []store.HeldBack
	for _, i := range idx {
		it := &l.Items[i]
		parent := it.RefPayment
		t := tracked[parent]
		chain := chainOf(derived[parent], parent, 'B')
		paid := t.PaidAmount
		for _, d := range derived[parent] {
			paid = paid.Add(d.PaidAmount)
		}
		balance := t.Amount.Sub(paid)
		reported := it.Payment.RecaudaInformation.Amount.Decimal
		if !reported.Equal(balance) {
			it.Decision = DecisionWithheld
			it.Reason = fmt.Sprintf("partially paid (%s of %s); waiting for the ERP to report the balance %s (it reports %s)",
				paid, t.Amount, balance, reported)
			continue
		}
		next := DerivedRef(parent, len(chain)+1)
		if len(chain) > 0 {
			last := chain[len(chain)-1]
			switch {
			case last.Status == models.StatusPartiallyPaid:
			case last.Offerable(now):
				next, it.resend = last.RefPayment, true
			default:
				it.Decision, it.Reason = DecisionWithheld, "balance offered as "+last.RefPayment+": "+withheldReason(last)
				continue
			}
		}
		toBalance(&it.Payment, parent, next)
		it.RefPayment, it.ParentRef = next, parent
		if vs := s.validator.Payment(&it.Payment); len(vs) > 0 {
			it.Decision, it.Violations = DecisionHeldBack, vs
			held = append(held, store.HeldBack{RefPayment: next, IDNumber: l.IDNumber, Violations: vs})
			continue
		}
		it.Decision = DecisionSend
		candidates = append(candidates, i)
	}
	return candidates, held, nil
}

// toBalance turns the ERP's item into its balance item: its own ref, in the
// references too, and no advance (the balance is due in full).
func toBalance(p *models.Payment, parent, ref string) {
	renameItem(p, parent, ref)
	p.RecaudaInformation.Advance = nil
}

// renameItem gives the ERP's item the derived ref: as its ref_payment and,
// in place of the ERP's, in its references.
func renameItem(p *models.Payment, parent, ref string) {
	p.RecaudaInformation.RefPayment = ref
	if p.AdvancedOptions == nil {
		return
	}
	refs := append([]string(nil), p.AdvancedOptions.References...)
	for k, r := range refs {
		if r == parent {
			refs[k] = ref
		}
	}
	p.AdvancedOptions.References = refs
}

// derivedCharges reads the derived charges (balances and re-issues) of the
// items at idx, keyed by the ERP's ref.
func (s *Service) derivedCharges(ctx context.Context, l *Lookup, idx []int) (map[string][]store.Tracked, error) {
	parents := make([]string, len(idx))
	for k, i := range idx {
		parents[k] = l.Items[i].RefPayment
	}
	derived, err := s.store.Derived(ctx, parents)
	if err != nil {
		return nil, fmt.Errorf("recauda: lookup: %w", err)
	}
	return derived, nil
}
