package recauda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/redact"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// Decision is what a lookup did with one charge.
type Decision string

// Decisions.
const (
	// DecisionSend: valid and claimed (or, in a preview, would be claimed).
	DecisionSend Decision = "send"
	// DecisionHeldBack: broke a rule; recorded for the operator, not sent.
	DecisionHeldBack Decision = "held_back"
	// DecisionWithheld: valid but not due: already sent, paid, in progress,
	// inactive, or won by a concurrent lookup.
	DecisionWithheld Decision = "withheld"
)

// Rules the lookup adds to validation's, about the answer as a whole.
const (
	RuleUnreadable      = "unreadable"
	RuleIDMismatch      = "id_number_mismatch"
	RuleDuplicateRef    = "duplicate_ref_payment"
	RuleRefOwnedByOther = "ref_payment_owner"
)

// Item is one charge the ERP returned and what the lookup decided for it.
type Item struct {
	RefPayment string
	// ParentRef is the ERP's ref when RefPayment is a derived balance ref.
	ParentRef string
	// Payment is the item as Efipay gets it. An Offer, whose items only its
	// own answer and metrics read, leaves it empty for charges withheld as
	// already sent; a Preview fills it for every charge.
	Payment  models.Payment
	Decision Decision
	// Reason says why a valid charge was withheld; an Offer leaves it empty
	// for charges already sent (a Preview says when they are due again).
	Reason     string
	Violations []validation.Violation
	// Due is the ERP's due date, whether it has passed, and what the
	// mapping changed about the item's dates; set wherever Payment is.
	Due Due
	// resend: the ref was offered before (a re-offer).
	resend bool
}

// Lookup is the outcome of one lookup, items in the ERP's order.
type Lookup struct {
	IDNumber string
	Items    []Item
	payloads [][]byte
	claim    store.Claim
}

// Sent is how many items the answer carries.
func (l *Lookup) Sent() int { return len(l.payloads) }

// Body is the JSON answer for Efipay: {"payments":[...]}, built from the
// exact bytes whose hashes were recorded.
func (l *Lookup) Body() []byte {
	var b bytes.Buffer
	b.Grow(32 + 512*len(l.payloads))
	b.WriteString(`{"payments":[`)
	for i, p := range l.payloads {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(p)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// Offer answers Efipay's lookup for idNumber: it asks the ERP, holds back
// what breaks a rule, and claims what is due, all claims in one transaction.
// If the answer cannot be delivered, call Release.
func (s *Service) Offer(ctx context.Context, idNumber string) (*Lookup, error) {
	return s.lookup(ctx, idNumber, true)
}

// Preview shows what Offer would send and hold back, without writing anything.
func (s *Service) Preview(ctx context.Context, idNumber string) (*Lookup, error) {
	return s.lookup(ctx, idNumber, false)
}

// Release gives back the claims of a lookup whose answer was not delivered,
// so its charges are offered at the next lookup.
func (s *Service) Release(ctx context.Context, l *Lookup) error {
	if err := s.store.Release(ctx, l.claim); err != nil {
		return fmt.Errorf("recauda: release: %w", err)
	}
	s.log.WarnContext(ctx, "answer not delivered; claims released", "id_number", redact.ID(l.IDNumber), "refs", len(l.claim.Refs))
	return nil
}

func (s *Service) lookup(ctx context.Context, idNumber string, claim bool) (*Lookup, error) {
	if err := ValidateIDNumber(idNumber); err != nil {
		return nil, err
	}
	charges, err := s.pendingCharges(ctx, idNumber)
	if err != nil {
		return nil, err
	}
	now := s.now()
	today := s.validator.Today()
	l := &Lookup{IDNumber: idNumber, Items: make([]Item, len(charges))}
	cands := make([]Candidate, len(charges))
	seen := make(map[string]bool, len(charges))
	refs := make([]string, 0, len(charges))
	for i, c := range charges {
		l.Items[i] = Item{RefPayment: c.RefPayment}
		cands[i].Charge = c
		if !seen[c.RefPayment] && c.RefPayment != "" {
			seen[c.RefPayment] = true
			refs = append(refs, c.RefPayment)
		}
	}
	// What is tracked already is read first: a charge already sent and not
	// yet due again needs no mapping nor validation (Ask.Apart below).
	tracked := map[string]store.Tracked{}
	if len(refs) > 0 {
		if tracked, err = s.store.Tracked(ctx, refs); err != nil {
			return nil, fmt.Errorf("recauda: lookup: %w", err)
		}
	}

	var candidates, partial, dead []int
	var held []store.HeldBack
	// A charge already tracked and broken by nothing so far is set apart
	// before it is mapped: in the steady state every charge was sent
	// already, and mapping and validating them all was most of the lookup's
	// CPU. Balances and re-issues are worked out below.
	ask := Ask{IDNumber: idNumber, In: "this customer's charges",
		OfferedTo: func(ref string) (string, bool) {
			t, ok := tracked[ref]
			return t.IDNumber, ok
		},
		Apart: func(i int) bool {
			t, ok := tracked[charges[i].RefPayment]
			if !ok {
				return false
			}
			switch {
			case t.Status == models.StatusPartiallyPaid:
				partial = append(partial, i)
			case offerDied(t, today):
				dead = append(dead, i)
			case !t.Offerable(now):
				l.Items[i].Decision = DecisionWithheld
				if !claim {
					l.Items[i].Reason = withheldReason(t)
				}
			default:
				return false
			}
			return true
		},
	}
	for i, v := range Assess(cands, ask, s.rules()) {
		it := &l.Items[i]
		it.Payment, it.Due, it.Violations = v.Item, v.Due, v.Violations
		switch {
		case v.Apart:
			// A preview shows every item, and why each was withheld; a
			// balance or re-issue starts from the ERP's item.
			if !claim || it.Decision != DecisionWithheld {
				it.Payment, it.Due = ItemFromCharge(charges[i], s.cfg.WebhookURL, today, s.cfg.OverduePolicy)
			}
		case v.HeldBack():
			it.Decision = DecisionHeldBack
			held = append(held, store.HeldBack{RefPayment: it.RefPayment, IDNumber: idNumber, Violations: it.Violations})
		default:
			_, it.resend = tracked[it.RefPayment]
			it.Decision = DecisionSend
			candidates = append(candidates, i)
		}
	}
	if len(partial) > 0 {
		more, moreHeld, err := s.balances(ctx, l, partial, tracked, now)
		if err != nil {
			return nil, err
		}
		candidates, held = append(candidates, more...), append(held, moreHeld...)
	}
	if len(dead) > 0 {
		more, moreHeld, err := s.reissues(ctx, l, dead, tracked, now, today)
		if err != nil {
			return nil, err
		}
		candidates, held = append(candidates, more...), append(held, moreHeld...)
	}
	s.logHeldBack(ctx, idNumber, l.Items)
	if !claim {
		return l, nil
	}
	return l, s.claim(ctx, l, candidates, held)
}

func (s *Service) claim(ctx context.Context, l *Lookup, candidates []int, held []store.HeldBack) error {
	offers := make([]store.Offer, 0, len(candidates))
	payloads := make(map[string][]byte, len(candidates))
	for _, i := range candidates {
		it := &l.Items[i]
		payload, err := json.Marshal(it.Payment)
		if err != nil {
			return fmt.Errorf("recauda: encode item %s: %w", it.RefPayment, err)
		}
		payloads[it.RefPayment] = payload
		info := it.Payment.RecaudaInformation
		offers = append(offers, store.Offer{
			RefPayment: it.RefPayment, IDNumber: l.IDNumber, PayerName: info.PayerName, Description: info.Description,
			Amount: info.Amount.Decimal, Currency: info.CurrencyType, AdvanceAllowed: info.Advance != nil, Payload: payload,
			ParentRef: it.ParentRef, Resend: it.resend, DueDate: it.Due.Date, LimitDate: it.Due.LimitDate, Note: it.Due.Note(),
		})
	}
	c, err := s.store.Claim(ctx, store.ClaimRequest{Offers: offers, HeldBack: held, ResendAfter: s.cfg.ResendAfter,
		DescribeChange: describeChange})
	if err != nil {
		return fmt.Errorf("recauda: claim: %w", err)
	}
	l.claim = c
	won := make(map[string]bool, len(c.Refs))
	for _, r := range c.Refs {
		won[r] = true
	}
	for _, i := range candidates {
		it := &l.Items[i]
		if !won[it.RefPayment] {
			it.Decision, it.Reason = DecisionWithheld, "claimed by a concurrent lookup"
			continue
		}
		l.payloads = append(l.payloads, payloads[it.RefPayment])
	}
	return nil
}

// pendingCharges asks the source. The source is guarded (erp/guard): it
// answers within the ERP timeout whatever the adapter does, and turns a
// panic into an error.
func (s *Service) pendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	charges, err := s.source.PendingCharges(ctx, idNumber)
	if err != nil {
		if !errors.Is(err, erp.ErrUnavailable) {
			err = errors.Join(erp.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("recauda: erp lookup: %w", err)
	}
	return charges, nil
}

func (s *Service) logHeldBack(ctx context.Context, idNumber string, items []Item) {
	for _, it := range items {
		if it.Decision != DecisionHeldBack {
			continue
		}
		rules := make([]string, len(it.Violations))
		for i, v := range it.Violations {
			rules[i] = v.Field + ":" + v.Rule
		}
		s.log.WarnContext(ctx, "charge held back", "id_number", redact.ID(idNumber), "ref_payment", redact.ID(it.RefPayment), "violations", rules)
	}
}

func withheldReason(t store.Tracked) string {
	if !models.OfferableStatus(t.Status) {
		return "charge is " + t.Status
	}
	if t.OfferAfter == nil {
		return "already sent; not offered again until released"
	}
	return "already sent; offered again after " + t.OfferAfter.UTC().Format(time.RFC3339)
}

// rules are the lookup's: its validator and clock, webhook URL and
// OVERDUE_POLICY.
func (s *Service) rules() Rules {
	return Rules{Validator: s.validator, WebhookURL: s.cfg.WebhookURL, Overdue: s.cfg.OverduePolicy}
}
