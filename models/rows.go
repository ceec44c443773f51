package models

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Charge states, named exactly as the admin API shows them.
const (
	StatusSent          = "sent"
	StatusInProgress    = "in_progress"
	StatusPaid          = "paid"
	StatusPartiallyPaid = "partially_paid"
	StatusFailed        = "failed"
	StatusReversed      = "reversed"
	StatusInactive      = "inactive"
)

// Statuses lists every charge state.
var Statuses = []string{StatusSent, StatusInProgress, StatusPaid, StatusPartiallyPaid, StatusFailed, StatusReversed, StatusInactive}

// OfferableStatuses are the states in which the debt is still owed and no
// payment is under way, so the charge may be offered (again): the one list
// the claim's SQL, the lookup, re-issues, the admin API and the dashboard
// read.
var OfferableStatuses = []string{StatusSent, StatusFailed, StatusReversed}

// OfferableStatus reports whether a charge in status may be offered (again)
// once it is due.
func OfferableStatus(status string) bool { return slices.Contains(OfferableStatuses, status) }

// ChargeRow is one tracked ref_payment: what was offered, when, and what
// became of it.
type ChargeRow struct {
	ID             int64           `gorm:"primaryKey"`
	RefPayment     string          `gorm:"column:ref_payment"`
	IDNumber       string          `gorm:"column:id_number"`
	PayerName      string          `gorm:"column:payer_name"`
	Description    string          `gorm:"column:description"`
	Amount         decimal.Decimal `gorm:"column:amount"`
	CurrencyType   string          `gorm:"column:currency_type"`
	AdvanceAllowed bool            `gorm:"column:advance_allowed"`
	Status         string          `gorm:"column:status"`
	// Payload is the exact item last sent to Efipay, as JSON.
	Payload     string `gorm:"column:payload"`
	PayloadHash string `gorm:"column:payload_hash"`
	SendCount   int    `gorm:"column:send_count"`
	FirstSentAt *time.Time
	LastSentAt  *time.Time
	// OfferAfter is when an unpaid charge may be offered again; nil: never
	// again unless released.
	OfferAfter    *time.Time
	PaidAmount    decimal.Decimal `gorm:"column:paid_amount"`
	PaidAt        *time.Time
	TransactionID string `gorm:"column:transaction_id"`
	// ParentRef is the original ref_payment of a derived balance charge.
	ParentRef string `gorm:"column:parent_ref"`
	// DueDate is the ERP's limit date at the last send ("YYYY-MM-DD", empty:
	// none); LimitDate is the limit_date that send carried, which differs
	// for an overdue charge (OVERDUE_POLICY).
	DueDate   string `gorm:"column:due_date"`
	LimitDate string `gorm:"column:limit_date"`
	CreatedAt time.Time
	// UpdatedAt is the time of the last activity on the charge.
	UpdatedAt time.Time
}

// TableName is the charges table.
func (ChargeRow) TableName() string { return "charges" }

// ChargeEventRow is one entry of a charge's timeline.
type ChargeEventRow struct {
	ID         int64 `gorm:"primaryKey"`
	ChargeID   int64
	Kind       string
	FromStatus string
	ToStatus   string
	Detail     string
	CreatedAt  time.Time
}

// TableName is the charge_events table.
func (ChargeEventRow) TableName() string { return "charge_events" }

// HeldBackRow is a record that broke a rule and was not sent.
type HeldBackRow struct {
	ID         int64 `gorm:"primaryKey"`
	RefPayment string
	IDNumber   string
	// Violations is a JSON array of {field, rule, message}.
	Violations  string
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	SeenCount   int
}

// TableName is the held_back table.
func (HeldBackRow) TableName() string { return "held_back" }

// Webhook event outcomes, as the admin API filters them.
const (
	OutcomeApplied     = "applied"
	OutcomeDuplicate   = "duplicate"
	OutcomeUnmatched   = "unmatched"
	OutcomeUnparseable = "unparseable"
	OutcomeFlagged     = "flagged"
	// OutcomeStale is an event older than what the charge already knows (a
	// late "Pendiente" after "Aprobada"): kept, not applied.
	OutcomeStale = "stale"
)

// WebhookOutcomes are the outcomes a stored webhook event can have.
var WebhookOutcomes = []string{OutcomeApplied, OutcomeDuplicate, OutcomeUnmatched, OutcomeUnparseable, OutcomeFlagged, OutcomeStale}

// WebhookEventRow is one webhook delivery that passed the signature check,
// kept raw whatever became of it.
type WebhookEventRow struct {
	ID         int64 `gorm:"primaryKey"`
	ReceivedAt time.Time
	// Body is the body as received, or, when it holds a NUL byte or bytes
	// that are not UTF-8 (no PostgreSQL text can), a readable copy with
	// those replaced by U+FFFD; BodyRaw then keeps the exact bytes.
	Body          string
	BodyRaw       []byte
	BodyHash      string
	TransactionID string
	Status        string
	Amount        string
	CurrencyType  string
	Production    bool
	PaymentMethod string
	RefPayment    string
	ChargeID      *int64
	Outcome       string
	Detail        string
	// ApprovedAt is Efipay's approval time of an approval that gave one.
	ApprovedAt *time.Time
	// StatusAfter is the charge's state after an applied event; "" for
	// any other outcome.
	StatusAfter string
}

// TableName is the webhook_events table.
func (WebhookEventRow) TableName() string { return "webhook_events" }

// Write-back job states.
const (
	WritebackPending   = "pending"
	WritebackDone      = "done"
	WritebackCancelled = "cancelled"
	// WritebackNeedsOperator is a job the bridge cannot deliver: the ERP
	// source cannot record it (a reversal without a way to write it back).
	// No worker takes it; the operator does it in the ERP and cancels the
	// job, or configures the source and retries it.
	WritebackNeedsOperator = "needs_operator"
)

// WritebackStates are the states of a write-back job.
var WritebackStates = []string{WritebackPending, WritebackNeedsOperator, WritebackDone, WritebackCancelled}

// What a write-back job records in the ERP.
const (
	WritebackPayment  = "payment"
	WritebackReversal = "reversal"
)

// WritebackRow is a payment to record in the ERP, retried until done or
// cancelled.
type WritebackRow struct {
	ID            int64 `gorm:"primaryKey"`
	ChargeID      int64
	RefPayment    string
	TransactionID string
	// Kind is WritebackPayment or WritebackReversal.
	Kind string
	// Payment is the erp.Payment (or erp.Reversal) to deliver, as JSON.
	Payment       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LeasedUntil   *time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DoneAt        *time.Time
}

// TableName is the writebacks table.
func (WritebackRow) TableName() string { return "writebacks" }
