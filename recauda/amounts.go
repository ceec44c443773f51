package recauda

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

// offerTerms is what one offer of a charge let the payer pay: the amount,
// the totals Efipay collects once the offer's own options apply, and the
// minimum of a first partial payment.
type offerTerms struct {
	amount decimal.Decimal
	// send is the last send that carried the offer; 0 for the charge's
	// current offer.
	send    int
	totals  []offerTotal
	advance *models.Advance
	// discountBefore is the last day (YYYY-MM-DD, Bogota) of the offer's
	// early-payment discount; "" without one.
	discountBefore string
}

// offerTotal is one amount that pays an offer in full.
type offerTotal struct {
	amount     decimal.Decimal
	discounted bool
}

// termsOf reads the terms of the offer of amount whose item, as sent, is
// payload. An unreadable payload leaves the amount alone as its total.
func termsOf(amount decimal.Decimal, payload string, send int) offerTerms {
	o := offerTerms{amount: amount, send: send, totals: []offerTotal{{amount: amount}}}
	var p models.Payment
	if payload == "" || json.Unmarshal([]byte(payload), &p) != nil {
		return o
	}
	o.advance = p.RecaudaInformation.Advance
	ao := p.AdvancedOptions
	if ao == nil {
		return o
	}
	if d := ao.Discount; d != nil {
		switch d.Type {
		case models.DiscountValue:
			o.totals = append(o.totals, offerTotal{amount: amount.Sub(d.Value.Decimal), discounted: true})
			o.discountBefore = d.BeforeOn
		case models.DiscountPercent:
			off := amount.Mul(d.Value.Decimal).Div(decimal.NewFromInt(100)).Round(2)
			o.totals = append(o.totals, offerTotal{amount: amount.Sub(off), discounted: true})
			o.discountBefore = d.BeforeOn
		}
	}
	if ds := ao.DeliveryService; ds != nil && ds.Type == models.DeliveryPaid && ds.Value != nil {
		for _, t := range o.totals {
			o.totals = append(o.totals, offerTotal{amount: t.amount.Add(ds.Value.Decimal), discounted: t.discounted})
		}
	}
	return o
}

// total is the total of o that amount is, if any.
func (o offerTerms) total(amount decimal.Decimal) (offerTotal, bool) {
	for _, t := range o.totals {
		if amount.Equal(t.amount) {
			return t, true
		}
	}
	return offerTotal{}, false
}

// minimum is the least first partial payment o accepts. Without an advance
// in the item (ok false) any amount is accepted.
func (o offerTerms) minimum() (min decimal.Decimal, ok bool) {
	if o.advance == nil {
		return decimal.Zero, false
	}
	switch o.advance.Type {
	case models.AdvanceMinimumValue:
		return o.advance.Value.Decimal, true
	case models.AdvanceMinimumPercent:
		return o.amount.Mul(o.advance.Value.Decimal).Div(decimal.NewFromInt(100)), true
	}
	return decimal.Zero, false
}

// minimumText says how o's minimum is set, with the figures.
func (o offerTerms) minimumText(min decimal.Decimal) string {
	if o.advance.Type == models.AdvanceMinimumPercent {
		return fmt.Sprintf("%s (%s %s %% of %s)", min.Round(2), o.advance.Type, o.advance.Value.Decimal, o.amount)
	}
	return fmt.Sprintf("%s (%s, of %s)", min, o.advance.Type, o.amount)
}

// offersOf are every offer the bridge made of c, the current one first,
// then the earlier ones, latest first.
func offersOf(c store.ChargeState) []offerTerms {
	offers := []offerTerms{termsOf(c.Amount, c.Payload, 0)}
	for i := len(c.Earlier) - 1; i >= 0; i-- {
		e := c.Earlier[i]
		offers = append(offers, termsOf(e.Amount, e.Payload, e.Send))
	}
	return offers
}

// approvedAmount decides what an approved payment of ev.Amount does to c,
// an unpaid charge. A payment matching any offer the bridge made of c, the
// current one or an earlier one Efipay may still hold (it keeps the first
// item it got for a ref), is applied as that offer, unless it took a
// discount that had lapsed. A smaller one is a first partial payment if an
// offer allowed one and it reaches that offer's minimum.
func (s *Service) approvedAmount(c store.ChargeState, ev *efipay.Event, paidAt time.Time) store.Decision {
	amount := ev.Amount
	flagged := func(detail string) store.Decision {
		return store.Decision{Outcome: models.OutcomeFlagged, Detail: detail}
	}
	pay := func(outcome, status, detail string) store.Decision {
		d := store.Decision{Outcome: outcome, NewStatus: status, TransactionID: ev.TransactionID, Detail: detail}
		d.PaidAmount, d.PaidAt = &amount, &paidAt
		d.Writeback = s.writeback(c, ev, status, paidAt)
		return d
	}
	offers := offersOf(c)
	for _, o := range offers {
		t, ok := o.total(amount)
		if !ok {
			continue
		}
		if day := s.validator.Day(paidAt); t.discounted && o.discountBefore != "" && day > o.discountBefore {
			return flagged(fmt.Sprintf("discount expired: paid %s, the discounted price, on %s (Bogota); the discount ended on %s and the full amount is %s",
				amount, day, o.discountBefore, o.amount))
		}
		if o.send == 0 {
			return pay(models.OutcomeApplied, models.StatusPaid, "")
		}
		earlier := fmt.Sprintf("paid %s for an earlier offer of %s (send #%d)", amount, o.amount, o.send)
		switch latest := c.Amount; latest.Cmp(o.amount) {
		case 1:
			return pay(models.OutcomeApplied, models.StatusPartiallyPaid, fmt.Sprintf(
				"%s; the latest offer is %s: its remainder %s is offered as a balance once the ERP reports it", earlier, latest, latest.Sub(amount)))
		case -1:
			// The ERP now asks less than was paid: the charge is settled,
			// and the operator must see the difference.
			return pay(models.OutcomeFlagged, models.StatusPaid, fmt.Sprintf(
				"overpaid: %s; the latest offer is %s, %s less; nothing more is offered", earlier, latest, o.amount.Sub(latest)))
		default:
			return pay(models.OutcomeApplied, models.StatusPaid, earlier)
		}
	}
	if amount.IsPositive() {
		var below []string
		for _, o := range offers {
			if !amount.LessThan(o.amount) || (o.send == 0 && !c.AdvanceAllowed) || (o.send != 0 && o.advance == nil) {
				continue
			}
			min, ok := o.minimum()
			if !ok || amount.GreaterThanOrEqual(min) {
				return pay(models.OutcomeApplied, models.StatusPartiallyPaid, fmt.Sprintf("advance of %s; balance %s", amount, c.Amount.Sub(amount)))
			}
			below = append(below, o.minimumText(min))
		}
		if len(below) > 0 {
			return flagged(fmt.Sprintf("advance of %s is below the minimum %s", amount, strings.Join(below, " or ")))
		}
	}
	detail := fmt.Sprintf("amount %s does not match the charge's %s", amount, c.Amount)
	if len(offers) > 1 {
		amounts := make([]string, 0, len(offers)-1)
		for _, o := range offers[1:] {
			amounts = append(amounts, o.amount.String())
		}
		detail += " nor an earlier offer's (" + strings.Join(amounts, ", ") + ")"
	}
	return flagged(detail)
}

// describeChange says what differs between an item sent before and the one
// that replaces it: amount, due date, description, discount, advance.
// Other differences (a picture, the references) go unnamed.
func describeChange(before, after []byte) string {
	var b, a models.Payment
	if json.Unmarshal(before, &b) != nil || json.Unmarshal(after, &a) != nil {
		return ""
	}
	var changes []string
	changed := func(what, from, to string) {
		if from != to {
			changes = append(changes, fmt.Sprintf("%s %s → %s", what, from, to))
		}
	}
	bi, ai := b.RecaudaInformation, a.RecaudaInformation
	if !bi.Amount.Equal(ai.Amount.Decimal) {
		changed("amount", bi.Amount.String(), ai.Amount.String())
	}
	changed("due date", orNone(limitDate(b)), orNone(limitDate(a)))
	changed("description", fmt.Sprintf("%q", bi.Description), fmt.Sprintf("%q", ai.Description))
	changed("discount", discountText(b), discountText(a))
	changed("advance", advanceText(bi.Advance), advanceText(ai.Advance))
	return strings.Join(changes, "; ")
}

func limitDate(p models.Payment) string {
	if p.AdvancedOptions == nil {
		return ""
	}
	return p.AdvancedOptions.LimitDate
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func discountText(p models.Payment) string {
	if p.AdvancedOptions == nil || p.AdvancedOptions.Discount == nil {
		return "none"
	}
	d := p.AdvancedOptions.Discount
	return fmt.Sprintf("%s %s until %s", d.Type, d.Value.String(), d.BeforeOn)
}

func advanceText(a *models.Advance) string {
	if a == nil {
		return "none"
	}
	return a.Type + " " + a.Value.String()
}
