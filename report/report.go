// Package report is the payments report: every payment the bridge received
// through Efipay's webhooks and every reversal of one, by Bogota day, with
// exact totals, and its exports (CSV, CSV for a Spanish Excel, XLSX and the
// Asobancaria 2001 collection file). Rows are read as the store yields them,
// so an export of any range holds one row at a time.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// Store is what the report reads.
type Store interface {
	// Payments calls fn with each payment f selects, oldest first, without
	// holding them; an error of fn stops it and is returned.
	Payments(ctx context.Context, f store.PaymentFilter, fn func(store.PaymentRecord) error) error
	// CountPayments counts what f selects, ignoring its page.
	CountPayments(ctx context.Context, f store.PaymentFilter) (int64, error)
}

// Service answers the report's questions.
type Service struct {
	store Store
	now   func() time.Time
	bank  Asobancaria
}

// New returns the report over st; now is the clock the exports stamp their
// files with; bank the settings of the Asobancaria 2001 file.
func New(st Store, now func() time.Time, bank Asobancaria) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now, bank: bank}
}

// Kinds of a payment row.
const (
	KindPayment  = "payment"
	KindReversal = "reversal"
)

// Where a payment's time comes from.
const (
	// DatedByApproval: Efipay's approved_at.
	DatedByApproval = "approved_at"
	// DatedByReceipt: when the webhook was stored, for a reversal (Efipay
	// sends no time of its own for one) or an approval without approved_at.
	DatedByReceipt = "received_at"
)

// Query selects payments. Zero fields select everything.
type Query struct {
	// From and To are calendar days in America/Bogota (only the date is
	// read), both inclusive; zero is no bound.
	From, To      time.Time
	Currency      string
	PaymentMethod string
	IDNumber      string
	// RefPayment is the ref Efipay paid or the ERP's ref of a derived one.
	RefPayment string
}

// ErrBadRange is a query whose To is before its From.
var ErrBadRange = errors.New("report: to is before from")

func (q Query) filter() (store.PaymentFilter, error) {
	f := store.PaymentFilter{Currency: q.Currency, PaymentMethod: q.PaymentMethod, IDNumber: q.IDNumber, RefPayment: q.RefPayment}
	if !q.From.IsZero() {
		f.From = DayStart(q.From)
	}
	if !q.To.IsZero() {
		f.Before = DayStart(q.To.AddDate(0, 0, 1))
	}
	if !f.From.IsZero() && !f.Before.IsZero() && !f.Before.After(f.From) {
		return f, ErrBadRange
	}
	return f, nil
}

// DayStart is the instant the Bogota day of d's date begins.
func DayStart(d time.Time) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day, 0, 0, 0, 0, models.Bogota).UTC()
}

// Day is the Bogota date of t, "YYYY-MM-DD".
func Day(t time.Time) string { return t.In(models.Bogota).Format(time.DateOnly) }

// Payment is one row of the report: a payment received or a reversal.
type Payment struct {
	EventID       int64
	Kind          string
	TransactionID string
	// RefPayment is the ref Efipay paid; ERPRef the ref the ERP knows the
	// charge by. They differ for a derived ref (-B1, -V1).
	RefPayment string
	ERPRef     string
	IDNumber   string
	PayerName  string
	// Amount is negative for a reversal.
	Amount   decimal.Decimal
	Currency string
	// ValueCOP is Efipay's value_cop, signed like Amount; nil when the
	// webhook had none.
	ValueCOP      *decimal.Decimal
	PaymentMethod string
	// PaymentSource is Efipay's payment_method_source ("Visa", a bank).
	PaymentSource string
	// At is when the payment happened; DatedBy says where it comes from.
	At      time.Time
	DatedBy string
	// Day is At's Bogota date.
	Day        string
	ReceivedAt time.Time
	// EfipayStatus is Efipay's status as sent ("Aprobada", "Reversada").
	EfipayStatus string
	// StatusAfter is the charge's state after the event.
	StatusAfter string
	// WritebackState is the state of its write-back job, "" when none.
	WritebackState string
	// Authorization is Efipay's trazability_id, "" when none.
	Authorization string
}

// Derived reports whether Efipay paid a ref derived from the ERP's.
func (p Payment) Derived() bool { return p.RefPayment != p.ERPRef }

// bodyFields are what a row reads from the stored webhook body.
type bodyFields struct {
	Transaction struct {
		ValueCOP      json.RawMessage   `json:"value_cop"`
		Source        string            `json:"payment_method_source"`
		TrazabilityID models.FlexString `json:"trazability_id"`
		Details       bodyDetails       `json:"transaction_details"`
	} `json:"transaction"`
}

type bodyDetails struct {
	Name string `json:"name"`
}

// UnmarshalJSON reads the object or PHP's [] for an empty one.
func (d *bodyDetails) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		return nil
	}
	type plain bodyDetails
	return json.Unmarshal(b, (*plain)(d))
}

// newPayment is the row of r. The body was parsed when it was settled; a
// field it lacks stays empty rather than hiding the money.
func newPayment(r store.PaymentRecord) Payment {
	p := Payment{
		EventID: r.EventID, Kind: KindPayment, TransactionID: r.TransactionID, RefPayment: r.RefPayment, ERPRef: r.RefPayment,
		IDNumber: r.IDNumber, PayerName: r.PayerName, Amount: r.Amount, Currency: r.Currency, PaymentMethod: r.PaymentMethod,
		At: r.ReceivedAt, DatedBy: DatedByReceipt, ReceivedAt: r.ReceivedAt, EfipayStatus: r.Status,
		StatusAfter: r.StatusAfter, WritebackState: r.WritebackState,
	}
	if r.ParentRef != "" {
		p.ERPRef = r.ParentRef
	}
	if r.ApprovedAt != nil {
		p.At, p.DatedBy = *r.ApprovedAt, DatedByApproval
	}
	var b bodyFields
	if json.Unmarshal([]byte(r.Body), &b) == nil {
		p.PaymentSource = b.Transaction.Source
		p.Authorization = string(b.Transaction.TrazabilityID)
		var v models.Money
		if len(b.Transaction.ValueCOP) > 0 && v.UnmarshalJSON(b.Transaction.ValueCOP) == nil {
			p.ValueCOP = &v.Decimal
		}
		if p.PayerName == "" {
			p.PayerName = b.Transaction.Details.Name
		}
	}
	if r.Reversal() {
		p.Kind = KindReversal
		p.Amount = p.Amount.Abs().Neg()
		if p.ValueCOP != nil {
			neg := p.ValueCOP.Abs().Neg()
			p.ValueCOP = &neg
		}
	}
	p.Day = Day(p.At)
	return p
}

// Each calls fn with every payment q selects, oldest first, one at a time.
func (s *Service) Each(ctx context.Context, q Query, fn func(Payment) error) error {
	f, err := q.filter()
	if err != nil {
		return err
	}
	return s.each(ctx, f, fn)
}

func (s *Service) each(ctx context.Context, f store.PaymentFilter, fn func(Payment) error) error {
	err := s.store.Payments(ctx, f, func(r store.PaymentRecord) error { return fn(newPayment(r)) })
	if err != nil {
		return fmt.Errorf("report: payments: %w", err)
	}
	return nil
}

// Page returns one page of the payments q selects (page from 1, perPage
// rows) and how many there are in all.
func (s *Service) Page(ctx context.Context, q Query, page, perPage int) ([]Payment, int64, error) {
	f, err := q.filter()
	if err != nil {
		return nil, 0, err
	}
	total, err := s.store.CountPayments(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("report: count payments: %w", err)
	}
	page, perPage = max(page, 1), max(perPage, 1)
	if int64(page-1)*int64(perPage) >= total {
		return []Payment{}, total, nil
	}
	f.Offset, f.Limit = (page-1)*perPage, perPage
	out := make([]Payment, 0, perPage)
	err = s.each(ctx, f, func(p Payment) error {
		out = append(out, p)
		return nil
	})
	return out, total, err
}
