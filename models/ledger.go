package models

import (
	"time"

	"github.com/shopspring/decimal"
)

// Ledger charge states, named exactly as the admin API shows them.
const (
	// LedgerOpen is owed: offered to the customer for what is left to pay.
	LedgerOpen = "open"
	// LedgerPaid is settled; never offered again.
	LedgerPaid = "paid"
	// LedgerCancelled was withdrawn by the operator; never offered again.
	LedgerCancelled = "cancelled"
)

// LedgerStatuses lists every ledger charge state.
var LedgerStatuses = []string{LedgerOpen, LedgerPaid, LedgerCancelled}

// LedgerChargeRow is one charge of the bridge's own ledger (ERP_SOURCE=local):
// what the customer owes, field by field as Efipay names it, and what was
// paid of it.
type LedgerChargeRow struct {
	ID           int64           `gorm:"primaryKey"`
	RefPayment   string          `gorm:"column:ref_payment"`
	IDNumber     string          `gorm:"column:id_number"`
	PayerName    string          `gorm:"column:payer_name"`
	Description  string          `gorm:"column:description"`
	Amount       decimal.Decimal `gorm:"column:amount"`
	CurrencyType string          `gorm:"column:currency_type"`
	// SelectedTaxes is a JSON array of tax ids, or "" for none.
	SelectedTaxes string              `gorm:"column:selected_taxes"`
	LimitDate     string              `gorm:"column:limit_date"`
	AdvanceType   string              `gorm:"column:advance_type"`
	AdvanceValue  decimal.NullDecimal `gorm:"column:advance_value"`
	// MerchantReferences is a JSON array of strings, or "" for none
	// (REFERENCES is an SQL keyword).
	MerchantReferences     string              `gorm:"column:merchant_references"`
	Picture                string              `gorm:"column:picture"`
	HasComments            bool                `gorm:"column:has_comments"`
	CommentsLabel          string              `gorm:"column:comments_label"`
	DiscountType           string              `gorm:"column:discount_type"`
	DiscountValue          decimal.NullDecimal `gorm:"column:discount_value"`
	DiscountBeforeOn       string              `gorm:"column:discount_before_on"`
	DeliveryType           string              `gorm:"column:delivery_type"`
	DeliveryValue          decimal.NullDecimal `gorm:"column:delivery_value"`
	RequestAddressDelivery *bool               `gorm:"column:request_address_delivery"`
	// Metadata is the merchant's JSON object, or "" for none.
	Metadata string `gorm:"column:metadata"`
	Status   string `gorm:"column:status"`
	// PaidAmount is the sum of the payments recorded.
	PaidAmount    decimal.Decimal `gorm:"column:paid_amount"`
	PaidAt        *time.Time      `gorm:"column:paid_at"`
	TransactionID string          `gorm:"column:transaction_id"`
	// ContentHash is the SHA-256 of the charge's content (not its state),
	// which makes an import idempotent.
	ContentHash string    `gorm:"column:content_hash"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

// TableName is the ledger_charges table.
func (LedgerChargeRow) TableName() string { return "ledger_charges" }

// LedgerPaymentRow is one payment recorded against a ledger charge, once per
// (ref_payment, transaction_id).
type LedgerPaymentRow struct {
	ID             int64           `gorm:"primaryKey"`
	LedgerChargeID int64           `gorm:"column:ledger_charge_id"`
	RefPayment     string          `gorm:"column:ref_payment"`
	TransactionID  string          `gorm:"column:transaction_id"`
	Amount         decimal.Decimal `gorm:"column:amount"`
	CurrencyType   string          `gorm:"column:currency_type"`
	Status         string          `gorm:"column:status"`
	PaymentMethod  string          `gorm:"column:payment_method"`
	PaidAt         time.Time       `gorm:"column:paid_at"`
	CreatedAt      time.Time       `gorm:"column:created_at"`
}

// TableName is the ledger_payments table.
func (LedgerPaymentRow) TableName() string { return "ledger_payments" }
