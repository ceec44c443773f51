package sandbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// The webhook body in the shape of Efipay's documented example (numbers
// where it sends numbers), with the item's references echoed where
// Efipay's plugins read them: checkout.payment_gateway.advanced_option.
type webhook struct {
	Transaction transaction `json:"transaction"`
	Checkout    checkout    `json:"checkout"`
}

type transaction struct {
	TransactionID          json.Number        `json:"transaction_id"`
	Amount                 models.Money       `json:"amount"`
	CurrencyType           string             `json:"currency_type"`
	ValueCOP               *models.Money      `json:"value_cop"`
	PaymentMethod          string             `json:"payment_method"`
	PaymentMethodSource    string             `json:"payment_method_source"`
	TrazabilityID          json.Number        `json:"trazability_id"`
	TransactionDetails     transactionDetails `json:"transaction_details"`
	Status                 string             `json:"status"`
	URLResponse            string             `json:"url_response"`
	ApprovedAt             *string            `json:"approved_at"`
	Production             bool               `json:"production"`
	CreatedAt              string             `json:"created_at"`
	CustomerPayer          customerPayer      `json:"customer_payer"`
	CurrencyRateConversion rateConversion     `json:"currency_rate_conversion"`
}

type transactionDetails struct {
	Name                 string `json:"name"`
	IdentificationType   string `json:"identification_type"`
	IdentificationNumber string `json:"identification_number"`
	Email                string `json:"email"`
	Country              string `json:"country"`
	Phone                string `json:"phone"`
	NumberCard           string `json:"number_card"`
	Installments         string `json:"installments"`
	Franchise            string `json:"franchise"`
	StatusMessage        string `json:"status_message"`
}

type customerPayer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

type rateConversion struct {
	ID       int         `json:"id"`
	USDToCOP json.Number `json:"usd_to_cop"`
	EURToCOP json.Number `json:"eur_to_cop"`
	Active   int         `json:"active"`
}

type checkout struct {
	PaymentGateway struct {
		AdvancedOption struct {
			References []string `json:"references"`
		} `json:"advanced_option"`
	} `json:"payment_gateway"`
}

// timeLayout is how Efipay's example writes its times.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// webhookBody builds the body of one webhook of transaction tx, in status,
// for amount of item p, paid by the customer idNumber.
func webhookBody(p *models.Payment, idNumber string, tx int64, status string, amount decimal.Decimal, production bool, now time.Time) ([]byte, error) {
	ri := p.RecaudaInformation
	at := now.UTC().Format(timeLayout)
	id := json.Number(strconv.FormatInt(tx, 10))
	w := webhook{Transaction: transaction{
		TransactionID: id, Amount: models.NewMoney(amount), CurrencyType: ri.CurrencyType,
		PaymentMethod: "credit", PaymentMethodSource: "Visa", TrazabilityID: id,
		TransactionDetails: transactionDetails{
			Name: ri.PayerName, IdentificationType: "CC", IdentificationNumber: idNumber,
			Email: "sandbox@example.com", Country: "57", Phone: "3000000000", NumberCard: "52**********0339",
			Installments: "1", Franchise: "Visa", StatusMessage: "recauda-bridge sandbox",
		},
		Status:      status,
		URLResponse: fmt.Sprintf("https://sandbox.invalid/Checkout/Transaction/%d/Response", tx),
		Production:  production,
		CreatedAt:   at,
		CustomerPayer: customerPayer{ID: "sandbox-" + idNumber, Name: ri.PayerName, Email: "sandbox@example.com",
			CreatedAt: now.UTC().Format(time.DateTime), UpdatedAt: now.UTC().Format(time.DateTime)},
		CurrencyRateConversion: rateConversion{ID: 1, USDToCOP: "0.000244", EURToCOP: "0.000231", Active: 1},
	}}
	if ri.CurrencyType == "COP" {
		// Converting other currencies would need Efipay's rate of the day.
		v := models.NewMoney(amount)
		w.Transaction.ValueCOP = &v
	}
	if status == statusApproved || status == statusReversed {
		w.Transaction.ApprovedAt = &at
	}
	refs := []string{}
	if ao := p.AdvancedOptions; ao != nil && len(ao.References) > 0 {
		refs = ao.References
	}
	w.Checkout.PaymentGateway.AdvancedOption.References = refs
	return json.Marshal(w)
}
