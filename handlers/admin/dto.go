package admin

import (
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// The admin API's answers. Money travels as exact decimal strings with at
// least two decimals ("150000.50"); times as RFC 3339 in UTC, null when
// absent.

// pageDTO is one page of a list.
type pageDTO[T any] struct {
	Items   []T   `json:"items"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
}

func newPage[S, T any](rows []S, conv func(S) T, page, perPage int, total int64) pageDTO[T] {
	items := make([]T, len(rows))
	for i, r := range rows {
		items[i] = conv(r)
	}
	return pageDTO[T]{Items: items, Page: page, PerPage: perPage, Total: total}
}

// chargeDTO is a charge as the admin API shows it.
type chargeDTO struct {
	RefPayment     string  `json:"ref_payment"`
	IDNumber       string  `json:"id_number"`
	PayerName      string  `json:"payer_name"`
	Description    string  `json:"description"`
	Status         string  `json:"status"`
	Amount         string  `json:"amount"`
	CurrencyType   string  `json:"currency_type"`
	PaidAmount     string  `json:"paid_amount"`
	Balance        string  `json:"balance"`
	SendCount      int     `json:"send_count"`
	FirstSentAt    *string `json:"first_sent_at"`
	LastSentAt     *string `json:"last_sent_at"`
	PaidAt         *string `json:"paid_at"`
	TransactionID  *string `json:"transaction_id"`
	ParentRef      *string `json:"parent_ref"`
	DueDate        *string `json:"due_date"`
	Overdue        bool    `json:"overdue"`
	OfferedAgainAt *string `json:"offered_again_at"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

// chargeFrom is r as the admin API shows it on today (Bogota).
func chargeFrom(r models.TrackedCharge, today string) chargeDTO {
	return chargeDTO{
		RefPayment: r.RefPayment, IDNumber: r.IDNumber, PayerName: r.PayerName, Description: r.Description,
		Status: r.Status, Amount: money(r.Amount), CurrencyType: r.CurrencyType, PaidAmount: money(r.PaidAmount),
		Balance: money(r.Amount.Sub(r.PaidAmount)), SendCount: r.SendCount,
		FirstSentAt: timestampOrNil(r.FirstSentAt), LastSentAt: timestampOrNil(r.LastSentAt), PaidAt: timestampOrNil(r.PaidAt),
		TransactionID: stringOrNil(r.TransactionID), ParentRef: stringOrNil(r.ParentRef),
		DueDate: stringOrNil(r.DueDate), Overdue: recauda.ChargeOverdue(r, today),
		OfferedAgainAt: timestampOrNil(recauda.OfferedAgainAt(r)), CreatedAt: timestamp(r.CreatedAt), UpdatedAt: timestamp(r.UpdatedAt),
	}
}

// chargeDetailDTO is a charge with its timeline, webhooks and write-backs.
type chargeDetailDTO struct {
	chargeDTO
	Timeline   []eventDTO     `json:"timeline"`
	Webhooks   []webhookDTO   `json:"webhooks"`
	Writebacks []writebackDTO `json:"writebacks"`
}

func chargeDetailFrom(d recauda.ChargeDetail, today string) chargeDetailDTO {
	out := chargeDetailDTO{chargeDTO: chargeFrom(d.Charge, today),
		Timeline: make([]eventDTO, len(d.Events)), Webhooks: make([]webhookDTO, len(d.Webhooks)), Writebacks: make([]writebackDTO, len(d.Writebacks))}
	for i, ev := range d.Events {
		out.Timeline[i] = eventFrom(ev)
	}
	for i, w := range d.Webhooks {
		out.Webhooks[i] = webhookFrom(w)
	}
	for i, w := range d.Writebacks {
		out.Writebacks[i] = writebackFrom(recauda.NewWriteback(w))
	}
	return out
}

// eventDTO is one entry of a charge's timeline.
type eventDTO struct {
	Kind       string  `json:"kind"`
	FromStatus *string `json:"from_status"`
	ToStatus   *string `json:"to_status"`
	Detail     string  `json:"detail"`
	At         string  `json:"at"`
}

func eventFrom(r models.ChargeEvent) eventDTO {
	return eventDTO{Kind: r.Kind, FromStatus: stringOrNil(r.FromStatus), ToStatus: stringOrNil(r.ToStatus), Detail: r.Detail, At: timestamp(r.CreatedAt)}
}

// webhookDTO is a stored webhook event; Body only in the single-event answer.
type webhookDTO struct {
	ID            int64   `json:"id"`
	ReceivedAt    string  `json:"received_at"`
	TransactionID *string `json:"transaction_id"`
	Status        *string `json:"status"`
	Amount        *string `json:"amount"`
	CurrencyType  *string `json:"currency_type"`
	PaymentMethod *string `json:"payment_method"`
	Production    bool    `json:"production"`
	RefPayment    *string `json:"ref_payment"`
	Outcome       string  `json:"outcome"`
	Detail        string  `json:"detail"`
	Body          *string `json:"body,omitempty"`
	// BodyBase64 is the exact body when no text can hold it (Body is then
	// a readable copy).
	BodyBase64 *string `json:"body_base64,omitempty"`
}

func webhookFrom(r models.WebhookEvent) webhookDTO {
	var amount *string
	if d, err := decimal.NewFromString(r.Amount); err == nil {
		s := money(d)
		amount = &s
	}
	return webhookDTO{
		ID: r.ID, ReceivedAt: timestamp(r.ReceivedAt), TransactionID: stringOrNil(r.TransactionID), Status: stringOrNil(r.Status),
		Amount: amount, CurrencyType: stringOrNil(r.CurrencyType), PaymentMethod: stringOrNil(r.PaymentMethod),
		Production: r.Production, RefPayment: stringOrNil(r.RefPayment), Outcome: r.Outcome, Detail: r.Detail,
	}
}

// writebackDTO is a write-back job with the payment it delivers.
type writebackDTO struct {
	ID            int64   `json:"id"`
	RefPayment    string  `json:"ref_payment"`
	ERPRef        *string `json:"erp_ref_payment"`
	TransactionID string  `json:"transaction_id"`
	Kind          string  `json:"kind"`
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt string  `json:"next_attempt_at"`
	LastError     *string `json:"last_error"`
	Amount        *string `json:"amount"`
	CurrencyType  *string `json:"currency_type"`
	PaymentStatus *string `json:"payment_status"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	DoneAt        *string `json:"done_at"`
}

func writebackFrom(w recauda.Writeback) writebackDTO {
	out := writebackDTO{
		ID: w.ID, RefPayment: w.RefPayment, TransactionID: w.TransactionID, Kind: w.Kind, State: w.State, Attempts: w.Attempts,
		NextAttemptAt: timestamp(w.NextAttemptAt), LastError: stringOrNil(w.LastError),
		CreatedAt: timestamp(w.CreatedAt), UpdatedAt: timestamp(w.UpdatedAt), DoneAt: timestampOrNil(w.DoneAt),
	}
	if w.Readable {
		amount := money(w.Delivery.Amount)
		out.ERPRef, out.Amount = stringOrNil(w.Delivery.RefPayment), &amount
		out.CurrencyType, out.PaymentStatus = stringOrNil(w.Delivery.Currency), stringOrNil(w.Delivery.Status)
	}
	return out
}

// heldBackDTO is a held-back record.
type heldBackDTO struct {
	RefPayment  string           `json:"ref_payment"`
	IDNumber    string           `json:"id_number"`
	Violations  []httperr.Detail `json:"violations"`
	FirstSeenAt string           `json:"first_seen_at"`
	LastSeenAt  string           `json:"last_seen_at"`
	SeenCount   int              `json:"seen_count"`
}

func heldBackFrom(r recauda.HeldBackRecord) heldBackDTO {
	vs := make([]httperr.Detail, len(r.Violations))
	for i, v := range r.Violations {
		vs[i] = httperr.Detail{Field: v.Field, Rule: v.Rule, Message: v.Message}
	}
	return heldBackDTO{RefPayment: r.RefPayment, IDNumber: r.IDNumber, Violations: vs,
		FirstSeenAt: timestamp(r.FirstSeenAt), LastSeenAt: timestamp(r.LastSeenAt), SeenCount: r.SeenCount}
}

// receiptDTO is the JSON receipt of a paid charge.
type receiptDTO struct {
	RefPayment    string   `json:"ref_payment"`
	PayerName     string   `json:"payer_name"`
	IDNumber      string   `json:"id_number"`
	Description   string   `json:"description"`
	Status        string   `json:"status"`
	Amount        string   `json:"amount"`
	PaidAmount    string   `json:"paid_amount"`
	Balance       string   `json:"balance"`
	CurrencyType  string   `json:"currency_type"`
	PaidAt        *string  `json:"paid_at"`
	TransactionID *string  `json:"transaction_id"`
	PaymentMethod *string  `json:"payment_method"`
	References    []string `json:"references"`
}

func receiptFrom(r recauda.Receipt) receiptDTO {
	c := r.Charge
	return receiptDTO{
		RefPayment: c.RefPayment, PayerName: c.PayerName, IDNumber: c.IDNumber, Description: c.Description, Status: c.Status,
		Amount: money(c.Amount), PaidAmount: money(c.PaidAmount), Balance: money(c.Amount.Sub(c.PaidAmount)),
		CurrencyType: c.CurrencyType, PaidAt: timestampOrNil(c.PaidAt), TransactionID: stringOrNil(c.TransactionID),
		PaymentMethod: stringOrNil(r.PaymentMethod), References: r.References,
	}
}

// money is an exact decimal string with at least two decimals: "150000.50",
// "3450000.00"; more decimals only when the value has them.
func money(d decimal.Decimal) string {
	if d.Equal(d.Truncate(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

// timestamp is t in RFC 3339, UTC, to the second.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timestampOrNil(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
