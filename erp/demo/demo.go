// Package demo is a small ERP source built into the binary, so that the
// bridge can be tried without any ERP: four customers with pending charges.
//
// The demo customers (Colombian cédulas) and what a lookup of each shows:
//
//	id_number   payer                            charges
//	1032456789  María Fernanda Gómez Rojas       2 COP: university enrolment (30 % advance, 5 % early discount) and student insurance
//	79845123    Carlos Andrés Rodríguez Pérez    2 COP: condominium fee (valid) and late-payment interest of 18333.333 (invalid, see below)
//	52789456    Luz Marina Castaño Ospina        1 USD: online English course, 149.99, with a picture
//	1017234567  Juan Sebastián Restrepo Londoño  3 COP: coffee order with paid delivery, subscription with free delivery, grinder with a minimum advance
//
// For example:
//
//	curl 'localhost:8080/get-recaudas?id_number=1032456789'
//
// Exactly one record breaks a documented Efipay rule, so that both paths can be
// seen: ref_payment DEMO-MORA-502-2026-02 of customer 79845123 has an amount
// with three decimals (18333.333, interest computed and never rounded), while
// Efipay accepts at most two. Validation holds it back and the lookup of
// 79845123 answers only the condominium fee.
//
// Limit and discount dates are stored as offsets in days and computed from
// the injected clock on every lookup, in Colombian time (UTC-5, no daylight
// saving), so the demo never goes stale.
//
// Recorded payments are kept in memory only. A payment with status "paid"
// removes its charge from later lookups, as a real ERP would; a
// "partially_paid" one does not. A reversal of a paid one brings the charge
// back.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

//go:embed customers.json
var customersJSON []byte

// Source is the demo ERP. It is safe for concurrent use.
type Source struct {
	now       func() time.Time
	customers map[string]customer // by id_number
	refs      map[string]struct{}

	mu       sync.Mutex
	payments []erp.Payment
	txIDs    map[string]struct{}
	paid     map[string]struct{} // ref_payment of fully paid charges
	reversed map[string]struct{} // transaction ids reversed
}

// dataSet is the shape of customers.json.
type dataSet struct {
	Customers []customer `json:"customers"`
}

type customer struct {
	IDNumber  string   `json:"id_number"`
	PayerName string   `json:"payer_name"`
	Charges   []charge `json:"charges"`
}

// charge is one record of customers.json: Efipay's fields, except that dates
// are offsets in days from today.
type charge struct {
	RefPayment             string                  `json:"ref_payment"`
	Description            string                  `json:"description"`
	Amount                 models.Money            `json:"amount"`
	CurrencyType           string                  `json:"currency_type"`
	LimitInDays            *int                    `json:"limit_in_days"`
	Advance                *models.Advance         `json:"advance"`
	Discount               *discount               `json:"discount"`
	Delivery               *models.DeliveryService `json:"delivery"`
	RequestAddressDelivery *bool                   `json:"request_address_delivery"`
	Picture                string                  `json:"picture"`
	References             []string                `json:"references"`
	HasComments            bool                    `json:"has_comments"`
	CommentsLabel          string                  `json:"comments_label"`
	Metadata               json.RawMessage         `json:"metadata"`
}

type discount struct {
	BeforeInDays int          `json:"before_in_days"`
	Type         string       `json:"type"`
	Value        models.Money `json:"value"`
}

// New returns the demo source; now is the clock that dates are computed from.
// It panics if the embedded data set is broken, which is a build mistake
// caught by the package's tests.
func New(now func() time.Time) *Source {
	if now == nil {
		now = time.Now
	}
	customers, err := parse(customersJSON)
	if err != nil {
		panic(fmt.Sprintf("demo: embedded data set: %v", err))
	}
	s := &Source{
		now:       now,
		customers: make(map[string]customer, len(customers)),
		refs:      make(map[string]struct{}),
		txIDs:     make(map[string]struct{}),
		paid:      make(map[string]struct{}),
		reversed:  make(map[string]struct{}),
	}
	for _, c := range customers {
		s.customers[c.IDNumber] = c
		for _, ch := range c.Charges {
			s.refs[ch.RefPayment] = struct{}{}
		}
	}
	return s
}

func parse(b []byte) ([]customer, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var ds dataSet
	if err := dec.Decode(&ds); err != nil {
		return nil, err
	}
	seenID := make(map[string]bool)
	seenRef := make(map[string]bool)
	for _, c := range ds.Customers {
		if c.IDNumber == "" || seenID[c.IDNumber] {
			return nil, fmt.Errorf("customer id_number %q empty or repeated", c.IDNumber)
		}
		seenID[c.IDNumber] = true
		for _, ch := range c.Charges {
			if ch.RefPayment == "" || seenRef[ch.RefPayment] {
				return nil, fmt.Errorf("ref_payment %q empty or repeated", ch.RefPayment)
			}
			seenRef[ch.RefPayment] = true
		}
	}
	return ds.Customers, nil
}

// PendingCharges returns the demo customer's charges, with dates computed
// from today. An unknown idNumber has none.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("demo: %w: %w", erp.ErrUnavailable, err)
	}
	out := []erp.Charge{}
	c, ok := s.customers[idNumber]
	if !ok {
		return out, nil
	}
	today := s.now().In(models.Bogota)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range c.Charges {
		if _, paid := s.paid[ch.RefPayment]; paid {
			continue
		}
		out = append(out, erp.ChargeFromPayment(ch.payment(c, today)))
	}
	return out, nil
}

// payment builds the Efipay-shaped item of ch as of today.
func (ch charge) payment(c customer, today time.Time) models.Payment {
	day := func(offset int) string { return today.AddDate(0, 0, offset).Format(time.DateOnly) }
	hasComments := ch.HasComments
	ao := &models.AdvancedOptions{
		Picture:                ch.Picture,
		References:             ch.References,
		DeliveryService:        ch.Delivery,
		RequestAddressDelivery: ch.RequestAddressDelivery,
		HasComments:            &hasComments,
		CommentsLabel:          ch.CommentsLabel,
	}
	if ch.LimitInDays != nil {
		ao.LimitDate = day(*ch.LimitInDays)
	}
	if ch.Discount != nil {
		ao.Discount = &models.Discount{
			BeforeOn: day(ch.Discount.BeforeInDays),
			Type:     ch.Discount.Type,
			Value:    ch.Discount.Value,
		}
	}
	return models.Payment{
		RecaudaInformation: models.RecaudaInformation{
			Description:  ch.Description,
			Amount:       ch.Amount,
			CurrencyType: ch.CurrencyType,
			IDNumber:     c.IDNumber,
			PayerName:    c.PayerName,
			RefPayment:   ch.RefPayment,
			Advance:      ch.Advance,
			Metadata:     ch.Metadata,
		},
		AdvancedOptions: ao,
	}
}

// RecordPayment keeps p in memory. The same TransactionID twice is recorded
// once; a ref_payment the demo does not know is erp.ErrNotFound.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("demo: record payment: %w: %w", erp.ErrUnavailable, err)
	}
	if p.TransactionID == "" {
		return errors.New("demo: record payment: empty transaction id")
	}
	if _, ok := s.refs[p.RefPayment]; !ok {
		return fmt.Errorf("demo: record payment %q: %w", p.RefPayment, erp.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.txIDs[p.TransactionID]; dup {
		return nil
	}
	s.txIDs[p.TransactionID] = struct{}{}
	s.payments = append(s.payments, p)
	if p.Status == "paid" {
		s.paid[p.RefPayment] = struct{}{}
	}
	return nil
}

// RecordReversal undoes the payment r.TransactionID in memory, once: a
// charge it paid is offered again. A payment never recorded changes nothing.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("demo: record reversal: %w: %w", erp.ErrUnavailable, err)
	}
	if r.TransactionID == "" {
		return errors.New("demo: record reversal: empty transaction id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.reversed[r.TransactionID]; done {
		return nil
	}
	for _, p := range s.payments {
		if p.TransactionID == r.TransactionID {
			s.reversed[r.TransactionID] = struct{}{}
			if p.Status == "paid" {
				delete(s.paid, p.RefPayment)
			}
			break
		}
	}
	return nil
}

// Payments returns a copy of the payments recorded so far, oldest first.
func (s *Source) Payments() []erp.Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.payments)
}

// Check reports whether the demo can answer, which is always, unless ctx is done.
func (s *Source) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("demo: %w: %w", erp.ErrUnavailable, err)
	}
	return nil
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)
