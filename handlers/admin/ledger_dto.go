package admin

import (
	"encoding/json"

	"recauda-bridge/recauda"
)

// ledgerDTO is a ledger charge as the admin API shows it.
type ledgerDTO struct {
	RefPayment             string             `json:"ref_payment"`
	IDNumber               string             `json:"id_number"`
	PayerName              string             `json:"payer_name"`
	Description            string             `json:"description"`
	Amount                 string             `json:"amount"`
	CurrencyType           string             `json:"currency_type"`
	LimitDate              *string            `json:"limit_date"`
	Advance                *ledgerAdvanceDTO  `json:"advance"`
	References             []string           `json:"references"`
	Picture                *string            `json:"picture"`
	HasComments            bool               `json:"has_comments"`
	CommentsLabel          *string            `json:"comments_label"`
	Discount               *ledgerDiscountDTO `json:"discount"`
	Delivery               *ledgerDeliveryDTO `json:"delivery"`
	RequestAddressDelivery *bool              `json:"request_address_delivery"`
	SelectedTaxes          []int64            `json:"selected_taxes"`
	Metadata               json.RawMessage    `json:"metadata"`
	Status                 string             `json:"status"`
	PaidAmount             string             `json:"paid_amount"`
	Balance                string             `json:"balance"`
	PaidAt                 *string            `json:"paid_at"`
	TransactionID          *string            `json:"transaction_id"`
	CreatedAt              string             `json:"created_at"`
	UpdatedAt              string             `json:"updated_at"`
}

type ledgerAdvanceDTO struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type ledgerDiscountDTO struct {
	Type     string `json:"type"`
	Value    string `json:"value"`
	BeforeOn string `json:"before_on"`
}

type ledgerDeliveryDTO struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

func ledgerFrom(l recauda.LedgerCharge) ledgerDTO {
	c := l.Charge
	out := ledgerDTO{
		RefPayment: c.RefPayment, IDNumber: c.IDNumber, PayerName: c.PayerName, Description: c.Description,
		Amount: money(c.Amount), CurrencyType: c.Currency, LimitDate: stringOrNil(c.LimitDate),
		References: c.References, Picture: stringOrNil(c.Picture), HasComments: c.HasComments,
		CommentsLabel: stringOrNil(c.CommentsLabel), RequestAddressDelivery: c.RequestAddressDelivery,
		SelectedTaxes: c.SelectedTaxes, Metadata: c.Metadata, Status: l.Status, PaidAmount: money(l.PaidAmount),
		Balance: money(c.Amount.Sub(l.PaidAmount)), PaidAt: timestampOrNil(l.PaidAt),
		TransactionID: stringOrNil(l.TransactionID), CreatedAt: timestamp(l.CreatedAt), UpdatedAt: timestamp(l.UpdatedAt),
	}
	if out.References == nil {
		out.References = []string{}
	}
	if a := c.Advance; a != nil {
		out.Advance = &ledgerAdvanceDTO{Type: a.Type, Value: money(a.Value)}
	}
	if d := c.Discount; d != nil {
		out.Discount = &ledgerDiscountDTO{Type: d.Type, Value: money(d.Value), BeforeOn: d.BeforeOn}
	}
	if d := c.Delivery; d != nil {
		out.Delivery = &ledgerDeliveryDTO{Type: d.Type, Value: money(d.Value)}
	}
	return out
}
