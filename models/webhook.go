package models

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Webhook is the body Efipay POSTs to the result_urls.webhook of a payment:
// the transaction and the checkout it belongs to.
//
// Efipay's backend is a PHP application, so the types here accept the
// variations such a backend produces for the same field (a number where a
// string was documented, 0/1 for a bool, [] for an empty object) instead of
// rejecting a payment notice that Efipay will never send again.
type Webhook struct {
	Transaction WebhookTransaction `json:"transaction"`
	// Checkout is the payment's own data. Its shape is not documented beyond
	// the path Efipay's plugins read the merchant's reference from, so it is
	// kept raw; package efipay extracts the references from it.
	Checkout json.RawMessage `json:"checkout,omitempty"`
}

// WebhookTransaction is the "transaction" object of a webhook, with every
// field of Efipay's documented example.
type WebhookTransaction struct {
	// TransactionID is Efipay's id of the transaction. The example sends a
	// JSON number (107); a string is accepted too, and it is kept as text.
	TransactionID FlexString `json:"transaction_id"`
	// Amount is what was paid, in CurrencyType.
	Amount Money `json:"amount"`
	// CurrencyType is COP, USD or EUR.
	CurrencyType string `json:"currency_type"`
	// ValueCOP is Amount converted to Colombian pesos.
	ValueCOP Money `json:"value_cop"`
	// PaymentMethod is Efipay's name of the method ("credit", ...).
	PaymentMethod string `json:"payment_method"`
	// PaymentMethodSource is the brand or bank behind the method ("Visa", ...).
	PaymentMethodSource string `json:"payment_method_source"`
	// TrazabilityID is Efipay's tracing id (sic), a number or a string.
	TrazabilityID FlexString `json:"trazability_id"`
	// TransactionDetails describes the payer and the instrument used.
	TransactionDetails TransactionDetails `json:"transaction_details"`
	// Status is Efipay's status, in Spanish ("Aprobada", "Rechazada", ...);
	// efipay.OutcomeOf says what it means.
	Status string `json:"status"`
	// URLResponse is Efipay's page showing the result to the payer.
	URLResponse string `json:"url_response"`
	// ApprovedAt is kept as sent: its format varies ("2023-12-27T15:41:54.553992Z",
	// "2023-10-31 17:33:19") and it may be empty when the payment was not approved.
	ApprovedAt string `json:"approved_at"`
	// Production is false for test payments.
	Production FlexBool `json:"production"`
	// CreatedAt is kept as sent, like ApprovedAt ("2023-12-27T15:41:54.000000Z";
	// Cobra Plus writes "2024-03-14 11:23:08").
	CreatedAt string `json:"created_at"`
	// CustomerPayer is Efipay's customer record of the payer.
	CustomerPayer CustomerPayer `json:"customer_payer"`
	// CurrencyRateConversion holds the exchange rates Efipay applied.
	CurrencyRateConversion CurrencyRateConversion `json:"currency_rate_conversion"`
}

// TransactionDetails is the "transaction_details" object of a webhook. Fields
// made of digits accept a JSON number as well as a string.
type TransactionDetails struct {
	// Name is the payer's name as typed at payment time.
	Name string `json:"name"`
	// IdentificationType is the kind of ID document ("CC", "NIT", ...).
	IdentificationType string `json:"identification_type"`
	// IdentificationNumber is the payer's ID number (personal data: mask it in logs).
	IdentificationNumber FlexString `json:"identification_number"`
	// Email is the payer's e-mail address.
	Email string `json:"email"`
	// Country is the phone country code ("57" for Colombia; Cobra Plus
	// writes "+57").
	Country FlexString `json:"country"`
	// Phone is the payer's phone number.
	Phone FlexString `json:"phone"`
	// NumberCard is the masked card number, when a card was used.
	NumberCard string `json:"number_card"`
	// Installments is the number of card installments ("cuotas"): "1" in
	// one example, the number 1 in Cobra Plus's.
	Installments FlexString `json:"installments"`
	// Franchise is the card brand.
	Franchise string `json:"franchise"`
	// StatusMessage is the processor's message about the attempt.
	StatusMessage string `json:"status_message"`
}

// CustomerPayer is the "customer_payer" object of a webhook.
type CustomerPayer struct {
	// ID is Efipay's id of the customer (a UUID in the example).
	ID FlexString `json:"id"`
	// Name is the customer's name.
	Name string `json:"name"`
	// Email is the customer's e-mail address.
	Email string `json:"email"`
	// CreatedAt is kept as sent ("2023-10-31 17:33:19").
	CreatedAt string `json:"created_at"`
	// UpdatedAt is kept as sent.
	UpdatedAt string `json:"updated_at"`
}

// CurrencyRateConversion is the "currency_rate_conversion" object of a
// webhook. Rates stay json.Number so that no float64 ever touches them.
type CurrencyRateConversion struct {
	// ID is Efipay's id of the rate record.
	ID FlexString `json:"id"`
	// USDToCOP is the rate Efipay labels usd_to_cop (0.000244 in the example,
	// which is really COP->USD: use it as sent, do not guess).
	USDToCOP json.Number `json:"usd_to_cop"`
	// EURToCOP is the rate Efipay labels eur_to_cop.
	EURToCOP json.Number `json:"eur_to_cop"`
	// Active is Efipay's flag on the rate record (1 in the example).
	Active FlexString `json:"active"`
	// CreatedAt and UpdatedAt are kept as sent, like the transaction's.
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// UnmarshalJSON reads the object, or [] (how PHP encodes an empty one).
func (d *TransactionDetails) UnmarshalJSON(b []byte) error {
	type plain TransactionDetails
	return unmarshalObject(b, (*plain)(d))
}

// UnmarshalJSON reads the object, or [] (how PHP encodes an empty one).
func (c *CustomerPayer) UnmarshalJSON(b []byte) error {
	type plain CustomerPayer
	return unmarshalObject(b, (*plain)(c))
}

// UnmarshalJSON reads the object, or [] (how PHP encodes an empty one).
func (c *CurrencyRateConversion) UnmarshalJSON(b []byte) error {
	type plain CurrencyRateConversion
	return unmarshalObject(b, (*plain)(c))
}

// unmarshalObject decodes b into v, treating an empty JSON array as an empty
// object, since PHP's json_encode writes an empty associative array as [].
func unmarshalObject(b []byte, v any) error {
	if t := bytes.TrimSpace(b); len(t) >= 2 && t[0] == '[' && len(bytes.TrimSpace(t[1:len(t)-1])) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

// FlexString is text that Efipay may send as a JSON string or as a number
// (ids, phone numbers, installments). A number keeps its literal text (107
// becomes "107"), a bool becomes "true" or "false", and null leaves it empty.
// It is written back as a JSON string.
type FlexString string

// UnmarshalJSON reads a JSON string, number, bool or null.
func (s *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return fmt.Errorf("empty JSON value")
	}
	switch c := b[0]; {
	case c == 'n': // null: leave as is, like encoding/json does for a string
		return nil
	case c == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = FlexString(v)
		return nil
	case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
		// encoding/json has already checked that b is one valid value.
		*s = FlexString(b)
		return nil
	default:
		return fmt.Errorf("want a string or a number, got %.20q", b)
	}
}

// FlexBool is a flag that Efipay may send as a JSON bool, as 0 or 1 (PHP
// returns unconverted tinyint columns that way), or as one of those quoted.
// null leaves it false.
type FlexBool bool

// UnmarshalJSON reads true/false, 1/0, their quoted forms, or null.
func (f *FlexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		b = bytes.TrimSpace([]byte(v))
	}
	switch string(b) {
	case "null":
		return nil
	case "true", "1":
		*f = true
	case "false", "0", "":
		*f = false
	default:
		return fmt.Errorf("want a bool, got %.20q", b)
	}
	return nil
}
