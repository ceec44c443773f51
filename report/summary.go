package report

import (
	"cmp"
	"context"
	"slices"

	"github.com/shopspring/decimal"
)

// Totals are the sums of a set of payments, exact. Reversed is negative;
// Net is Collected + Reversed.
type Totals struct {
	Payments  int64
	Collected decimal.Decimal
	Reversals int64
	Reversed  decimal.Decimal
	Net       decimal.Decimal
	// ValueCOP is the net of Efipay's value_cop, over the rows that had one.
	ValueCOP decimal.Decimal
}

func (t *Totals) add(p Payment) {
	if p.Kind == KindReversal {
		t.Reversals++
		t.Reversed = t.Reversed.Add(p.Amount)
	} else {
		t.Payments++
		t.Collected = t.Collected.Add(p.Amount)
	}
	t.Net = t.Net.Add(p.Amount)
	if p.ValueCOP != nil {
		t.ValueCOP = t.ValueCOP.Add(*p.ValueCOP)
	}
}

// Group is the totals of one day, currency and payment method.
type Group struct {
	Day           string
	Currency      string
	PaymentMethod string
	Totals
}

// CurrencyTotals are the grand totals of one currency.
type CurrencyTotals struct {
	Currency string
	Totals
}

// Summary is the report's totals: per day, currency and method, and per
// currency over the whole range (amounts of different currencies are never
// added; ValueCOP is their common measure).
type Summary struct {
	Groups   []Group
	Totals   []CurrencyTotals
	ValueCOP decimal.Decimal
}

// summarizer folds payments into a Summary; its memory is one entry per
// group, whatever the number of payments.
type summarizer struct {
	groups map[[3]string]*Group
	totals map[string]*CurrencyTotals
	cop    decimal.Decimal
}

func newSummarizer() *summarizer {
	return &summarizer{groups: map[[3]string]*Group{}, totals: map[string]*CurrencyTotals{}}
}

func (z *summarizer) add(p Payment) {
	k := [3]string{p.Day, p.Currency, p.PaymentMethod}
	g := z.groups[k]
	if g == nil {
		g = &Group{Day: p.Day, Currency: p.Currency, PaymentMethod: p.PaymentMethod}
		z.groups[k] = g
	}
	g.add(p)
	t := z.totals[p.Currency]
	if t == nil {
		t = &CurrencyTotals{Currency: p.Currency}
		z.totals[p.Currency] = t
	}
	t.add(p)
	if p.ValueCOP != nil {
		z.cop = z.cop.Add(*p.ValueCOP)
	}
}

func (z *summarizer) summary() Summary {
	s := Summary{Groups: make([]Group, 0, len(z.groups)), Totals: make([]CurrencyTotals, 0, len(z.totals)), ValueCOP: z.cop}
	for _, g := range z.groups {
		s.Groups = append(s.Groups, *g)
	}
	slices.SortFunc(s.Groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.PaymentMethod, b.PaymentMethod))
	})
	for _, t := range z.totals {
		s.Totals = append(s.Totals, *t)
	}
	slices.SortFunc(s.Totals, func(a, b CurrencyTotals) int { return cmp.Compare(a.Currency, b.Currency) })
	return s
}

// Summary totals the payments q selects.
func (s *Service) Summary(ctx context.Context, q Query) (Summary, error) {
	z := newSummarizer()
	if err := s.Each(ctx, q, func(p Payment) error {
		z.add(p)
		return nil
	}); err != nil {
		return Summary{}, err
	}
	return z.summary(), nil
}
