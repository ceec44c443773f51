package models

import (
	"encoding/json"
	"os"
	"testing"
)

func TestWebhookExample(t *testing.T) {
	body, err := os.ReadFile("../testdata/efipay/webhook-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	tx := w.Transaction
	checks := []struct {
		field, got, want string
	}{
		{"transaction_id", string(tx.TransactionID), "107"},
		{"amount", tx.Amount.String(), "37323.25"},
		{"currency_type", tx.CurrencyType, "COP"},
		{"value_cop", tx.ValueCOP.String(), "37323.25"},
		{"payment_method", tx.PaymentMethod, "credit"},
		{"payment_method_source", tx.PaymentMethodSource, "Visa"},
		{"trazability_id", string(tx.TrazabilityID), "107"},
		{"transaction_details.name", tx.TransactionDetails.Name, "PRUEBA TARJETA"},
		{"transaction_details.identification_type", tx.TransactionDetails.IdentificationType, "CC"},
		{"transaction_details.identification_number", string(tx.TransactionDetails.IdentificationNumber), "342343243"},
		{"transaction_details.email", tx.TransactionDetails.Email, "email@gmail.com"},
		{"transaction_details.country", string(tx.TransactionDetails.Country), "57"},
		{"transaction_details.phone", string(tx.TransactionDetails.Phone), "3004564884"},
		{"transaction_details.number_card", tx.TransactionDetails.NumberCard, "52**********0339"},
		{"transaction_details.installments", string(tx.TransactionDetails.Installments), "1"},
		{"transaction_details.franchise", tx.TransactionDetails.Franchise, "Visa"},
		{"transaction_details.status_message", tx.TransactionDetails.StatusMessage, "Runing Mock"},
		{"status", tx.Status, "Aprobada"},
		{"url_response", tx.URLResponse, "https://sag.efipay.co/Checkout/Transaction/9af329f1-e96a-40ab-b466-94a412f12c4a/Response"},
		{"approved_at", tx.ApprovedAt, "2023-12-27T15:41:54.553992Z"},
		{"created_at", tx.CreatedAt, "2023-12-27T15:41:54.000000Z"},
		{"customer_payer.id", string(tx.CustomerPayer.ID), "9a80a7b1-950f-486a-ac84-b36fb852a6c9"},
		{"customer_payer.name", tx.CustomerPayer.Name, "Santiago Otlaroa"},
		{"customer_payer.email", tx.CustomerPayer.Email, "santiago@gmail.com"},
		{"customer_payer.created_at", tx.CustomerPayer.CreatedAt, "2023-10-31 17:33:19"},
		{"customer_payer.updated_at", tx.CustomerPayer.UpdatedAt, "2023-11-10 15:03:17"},
		{"currency_rate_conversion.id", string(tx.CurrencyRateConversion.ID), "1"},
		{"currency_rate_conversion.usd_to_cop", tx.CurrencyRateConversion.USDToCOP.String(), "0.000244"},
		{"currency_rate_conversion.eur_to_cop", tx.CurrencyRateConversion.EURToCOP.String(), "0.000231"},
		{"currency_rate_conversion.active", string(tx.CurrencyRateConversion.Active), "1"},
	}
	for _, c := range checks {
		t.Run(c.field, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
	if tx.Production {
		t.Errorf("production: got true, want false")
	}
	if !json.Valid(w.Checkout) || len(w.Checkout) == 0 {
		t.Errorf("checkout: got %q, want the raw object", w.Checkout)
	}
}

func TestFlexString(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{`107`, "107", false},
		{`"107"`, "107", false},
		{`-1.5e3`, "-1.5e3", false},
		{`"a\u00e9b"`, "aéb", false},
		{`true`, "true", false},
		{`false`, "false", false},
		{`null`, "", false},
		{`{}`, "", true},
		{`[1]`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				S FlexString `json:"s"`
			}
			err := json.Unmarshal([]byte(`{"s":`+tt.in+`}`), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && string(v.S) != tt.want {
				t.Fatalf("got %q, want %q", v.S, tt.want)
			}
		})
	}
}

func TestFlexStringMarshal(t *testing.T) {
	got, err := json.Marshal(FlexString("107"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `"107"` {
		t.Fatalf("got %s, want %q", got, `"107"`)
	}
}

func TestFlexBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{`true`, true, false},
		{`false`, false, false},
		{`1`, true, false},
		{`0`, false, false},
		{`"true"`, true, false},
		{`"1"`, true, false},
		{`"0"`, false, false},
		{`""`, false, false},
		{`null`, false, false},
		{`2`, false, true},
		{`"yes"`, false, true},
		{`{}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				B FlexBool `json:"b"`
			}
			err := json.Unmarshal([]byte(`{"b":`+tt.in+`}`), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && bool(v.B) != tt.want {
				t.Fatalf("got %v, want %v", v.B, tt.want)
			}
		})
	}
}

// PHP's json_encode writes an empty associative array as [], so the nested
// objects of a transaction accept it.
func TestWebhookTransactionPHPEmptyObjects(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty arrays", `{"transaction_details":[],"customer_payer":[ ],"currency_rate_conversion":[]}`},
		{"nulls", `{"transaction_details":null,"customer_payer":null,"currency_rate_conversion":null}`},
		{"absent", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tx WebhookTransaction
			if err := json.Unmarshal([]byte(tt.in), &tx); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if tx.TransactionDetails != (TransactionDetails{}) || tx.CustomerPayer != (CustomerPayer{}) ||
				tx.CurrencyRateConversion != (CurrencyRateConversion{}) {
				t.Fatalf("got %+v, want empty nested objects", tx)
			}
		})
	}
	var tx WebhookTransaction
	if err := json.Unmarshal([]byte(`{"transaction_details":["x"]}`), &tx); err == nil {
		t.Fatalf("non-empty array: got nil, want an error")
	}
}
