package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// The tracked charges, their timelines and webhook events as the store hands
// them out: plain values without storage details (no GORM tags, no row ids
// of other tables, no payload), for the use cases and the handlers. The
// store converts its rows (rows.go) into these.

// TrackedCharge is one tracked ref_payment: what was offered, when, and what
// became of it.
type TrackedCharge struct {
	RefPayment     string
	IDNumber       string
	PayerName      string
	Description    string
	Amount         decimal.Decimal
	CurrencyType   string
	AdvanceAllowed bool
	Status         string
	SendCount      int
	FirstSentAt    *time.Time
	LastSentAt     *time.Time
	// OfferAfter is when an unpaid charge may be offered again; nil: never
	// again unless released.
	OfferAfter    *time.Time
	PaidAmount    decimal.Decimal
	PaidAt        *time.Time
	TransactionID string
	// ParentRef is the original ref_payment of a derived balance charge.
	ParentRef string
	// DueDate is the ERP's limit date at the last send ("YYYY-MM-DD", empty:
	// none); LimitDate is the limit_date that send carried.
	DueDate   string
	LimitDate string
	CreatedAt time.Time
	// UpdatedAt is the time of the last activity on the charge.
	UpdatedAt time.Time
}

// ChargeEvent is one entry of a charge's timeline.
type ChargeEvent struct {
	Kind       string
	FromStatus string
	ToStatus   string
	Detail     string
	CreatedAt  time.Time
}

// WebhookEvent is one webhook delivery that passed the signature check.
type WebhookEvent struct {
	ID         int64
	ReceivedAt time.Time
	// Body is the body as received, or a readable copy when BodyRaw keeps
	// the exact bytes; empty in listings.
	Body          string
	BodyRaw       []byte
	TransactionID string
	Status        string
	Amount        string
	CurrencyType  string
	Production    bool
	PaymentMethod string
	RefPayment    string
	// Matched is true when the event was matched to a tracked charge.
	Matched bool
	Outcome string
	Detail  string
	// ApprovedAt is Efipay's approval time of an approval that gave one.
	ApprovedAt *time.Time
	// StatusAfter is the charge's state after an applied event; "" for
	// any other outcome.
	StatusAfter string
}
