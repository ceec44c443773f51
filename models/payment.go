package models

import "encoding/json"

// PaymentsResponse is the whole answer of the lookup: {"payments":[...]}.
type PaymentsResponse struct {
	Payments []Payment `json:"payments"`
}

// Payment is one item of the lookup answer, as Efipay documents it.
type Payment struct {
	RecaudaInformation RecaudaInformation `json:"recauda_information"`
	// AdvancedOptions is null when the item has none.
	AdvancedOptions *AdvancedOptions `json:"advanced_options"`
}

// RecaudaInformation is the required part of an item: what is owed and by whom.
type RecaudaInformation struct {
	Description string `json:"description"`
	Amount      Money  `json:"amount"`
	// SelectedTaxes is Efipay's nullable list of tax ids; nil travels as null.
	SelectedTaxes []int64  `json:"selected_taxes"`
	CurrencyType  string   `json:"currency_type"`
	IDNumber      string   `json:"id_number"`
	PayerName     string   `json:"payer_name"`
	RefPayment    string   `json:"ref_payment"`
	Advance       *Advance `json:"advance,omitempty"`
	// Metadata is the merchant's own data, passed through untouched.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Advance allows a partial first payment ("adelanto").
type Advance struct {
	Type  string `json:"type"`
	Value Money  `json:"value"`
}

// Advance types as Efipay spells them.
const (
	AdvanceMinimumValue   = "Valor Minimo"
	AdvanceMinimumPercent = "Porcentaje Minimo"
)

// AdvancedOptions is the optional part of an item.
type AdvancedOptions struct {
	Picture                string           `json:"picture,omitempty"`
	LimitDate              string           `json:"limit_date,omitempty"`
	References             []string         `json:"references,omitempty"`
	ResultURLs             *ResultURLs      `json:"result_urls,omitempty"`
	DeliveryService        *DeliveryService `json:"delivery_service,omitempty"`
	RequestAddressDelivery *bool            `json:"request_address_delivery,omitempty"`
	Discount               *Discount        `json:"discount,omitempty"`
	// HasComments is a pointer because Efipay requires it even when false.
	HasComments   *bool  `json:"has_comments"`
	CommentsLabel string `json:"comments_label,omitempty"`
}

// ResultURLs tells Efipay where to POST payment updates.
type ResultURLs struct {
	Webhook string `json:"webhook"`
}

// DeliveryService is a delivery charge shown to the payer.
type DeliveryService struct {
	Type  string `json:"type"`
	Value *Money `json:"value,omitempty"`
}

// Delivery service types as Efipay spells them.
const (
	DeliveryFree = "Gratis"
	DeliveryPaid = "Con Valor"
)

// Discount is an early-payment discount.
type Discount struct {
	BeforeOn string `json:"before_on"`
	Type     string `json:"type"`
	Value    Money  `json:"value"`
}

// Discount types as Efipay spells them.
const (
	DiscountPercent = "Porcentaje"
	DiscountValue   = "Valor"
)

// Currencies Efipay accepts.
var Currencies = []string{"COP", "USD", "EUR"}
