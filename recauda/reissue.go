package recauda

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// ReissueRef is the ref under which the n-th re-issue of a charge whose
// offer died unpaid is offered: "<ref>-V<n>". Efipay accepts no payment of
// an offer after its limit_date and ignores a ref it already has, so the
// debt needs a ref of its own; the write-back still names the ERP's ref.
func ReissueRef(parent string, n int) string { return fmt.Sprintf("%s-V%d", parent, n) }

// derivedOf reports whether ref is parent's derived ref of kind ('B' for
// a balance, 'V' for a re-issue): parent, '-', kind, then digits.
func derivedOf(ref, parent string, kind byte) bool {
	rest, ok := strings.CutPrefix(ref, parent+"-")
	if !ok || len(rest) < 2 || rest[0] != kind {
		return false
	}
	_, err := strconv.Atoi(rest[1:])
	return err == nil && rest[1] != '+' && rest[1] != '-'
}

// chainOf is the derived charges of kind among derived, oldest first.
func chainOf(derived []store.Tracked, parent string, kind byte) []store.Tracked {
	var out []store.Tracked
	for _, d := range derived {
		if derivedOf(d.RefPayment, parent, kind) {
			out = append(out, d)
		}
	}
	return out
}

// offerDied reports whether t was offered with a limit_date that is now
// past and is still owed with no payment under way: Efipay will accept no
// payment of that offer any more.
func offerDied(t store.Tracked, today string) bool {
	// A limit date sent passed validation: a real date, which compares as
	// a string. This runs for every tracked charge of every lookup.
	return t.LimitDate != "" && t.LimitDate < today && models.OfferableStatus(t.Status)
}

// reissues decides what to offer for charges whose offer died unpaid while
// the ERP still lists them: the charge under the next derived ref
// "<ref>-V<n>", mapped under OVERDUE_POLICY like any overdue charge, at the
// first lookup after the offer's limit date; the derived ref's own
// re-offers wait for RESEND_AFTER like any charge's.
func (s *Service) reissues(ctx context.Context, l *Lookup, idx []int, tracked map[string]store.Tracked, now time.Time, today string) ([]int, []store.HeldBack, error) {
	derived, err := s.derivedCharges(ctx, l, idx)
	if err != nil {
		return nil, nil, err
	}
	var candidates []int
	var held []store.HeldBack
	for _, i := range idx {
		it := &l.Items[i]
		parent := it.RefPayment
		dead := tracked[parent]
		chain := chainOf(derived[parent], parent, 'V')
		next := ReissueRef(parent, len(chain)+1)
		if len(chain) > 0 {
			last := chain[len(chain)-1]
			switch {
			case offerDied(last, today):
				dead = last
			case last.Offerable(now):
				next, it.resend = last.RefPayment, true
			default:
				it.Decision, it.Reason = DecisionWithheld, "re-issued as "+last.RefPayment+": "+withheldReason(last)
				continue
			}
		}
		renameItem(&it.Payment, parent, next)
		if vs := s.validator.Payment(&it.Payment); len(vs) > 0 {
			// Held back under the ERP's ref, which the operator knows.
			it.Decision, it.Violations = DecisionHeldBack, vs
			held = append(held, store.HeldBack{RefPayment: parent, IDNumber: l.IDNumber, Violations: vs})
			continue
		}
		if next != dead.RefPayment {
			it.Due.Notes = append(it.Due.Notes, fmt.Sprintf("the offer of %s ended on %s unpaid; re-issued as %s", dead.RefPayment, dead.LimitDate, next))
		}
		it.RefPayment, it.ParentRef = next, parent
		it.Decision = DecisionSend
		candidates = append(candidates, i)
	}
	return candidates, held, nil
}
