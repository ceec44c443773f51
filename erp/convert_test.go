package erp_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

func ptr[T any](v T) *T { return &v }

func TestChargeFromPayment(t *testing.T) {
	tests := []struct {
		name string
		in   models.Payment
		want erp.Charge
	}{
		{
			name: "recauda information only, advanced options null",
			in: models.Payment{
				RecaudaInformation: models.RecaudaInformation{
					Description:  "Cuota de administración marzo",
					Amount:       models.MustMoney("420000"),
					CurrencyType: "COP",
					IDNumber:     "79845123",
					PayerName:    "Carlos Andrés Rodríguez",
					RefPayment:   "ADM-502-03",
				},
			},
			want: erp.Charge{
				RefPayment:  "ADM-502-03",
				IDNumber:    "79845123",
				PayerName:   "Carlos Andrés Rodríguez",
				Description: "Cuota de administración marzo",
				Amount:      decimal.RequireFromString("420000"),
				Currency:    "COP",
			},
		},
		{
			name: "every field",
			in: models.Payment{
				RecaudaInformation: models.RecaudaInformation{
					Description:   "Matrícula 2026-1",
					Amount:        models.MustMoney("3450000.50"),
					SelectedTaxes: []int64{1, 7},
					CurrencyType:  "COP",
					IDNumber:      "1032456789",
					PayerName:     "María Fernanda Gómez",
					RefPayment:    "MAT-0417",
					Advance:       &models.Advance{Type: models.AdvanceMinimumPercent, Value: models.MustMoney("30")},
					Metadata:      json.RawMessage(`{"programa":"sistemas"}`),
				},
				AdvancedOptions: &models.AdvancedOptions{
					Picture:                "https://example.co/logo.png",
					LimitDate:              "2026-04-15",
					References:             []string{"A1", "B2"},
					ResultURLs:             &models.ResultURLs{Webhook: "https://elsewhere.example/hook"},
					DeliveryService:        &models.DeliveryService{Type: models.DeliveryPaid, Value: ptr(models.MustMoney("12000"))},
					RequestAddressDelivery: ptr(true),
					Discount:               &models.Discount{BeforeOn: "2026-04-05", Type: models.DiscountPercent, Value: models.MustMoney("5")},
					HasComments:            ptr(true),
					CommentsLabel:          "Observaciones",
				},
			},
			want: erp.Charge{
				RefPayment:             "MAT-0417",
				IDNumber:               "1032456789",
				PayerName:              "María Fernanda Gómez",
				Description:            "Matrícula 2026-1",
				Amount:                 decimal.RequireFromString("3450000.50"),
				Currency:               "COP",
				Advance:                &erp.Advance{Type: models.AdvanceMinimumPercent, Value: decimal.RequireFromString("30")},
				LimitDate:              "2026-04-15",
				References:             []string{"A1", "B2"},
				Picture:                "https://example.co/logo.png",
				HasComments:            true,
				CommentsLabel:          "Observaciones",
				RequestAddressDelivery: ptr(true),
				Discount:               &erp.Discount{BeforeOn: "2026-04-05", Type: models.DiscountPercent, Value: decimal.RequireFromString("5")},
				Delivery:               &erp.Delivery{Type: models.DeliveryPaid, Value: decimal.RequireFromString("12000")},
				SelectedTaxes:          []int64{1, 7},
				Metadata:               json.RawMessage(`{"programa":"sistemas"}`),
			},
		},
		{
			name: "has_comments nil is false, free delivery without value is zero, null metadata is nil",
			in: models.Payment{
				RecaudaInformation: models.RecaudaInformation{
					Amount:   models.MustMoney("1"),
					Metadata: json.RawMessage(` null `),
				},
				AdvancedOptions: &models.AdvancedOptions{
					DeliveryService: &models.DeliveryService{Type: models.DeliveryFree},
				},
			},
			want: erp.Charge{
				Amount:   decimal.RequireFromString("1"),
				Delivery: &erp.Delivery{Type: models.DeliveryFree, Value: decimal.Zero},
			},
		},
		{
			name: "advanced options present with has_comments false",
			in: models.Payment{
				RecaudaInformation: models.RecaudaInformation{Amount: models.MustMoney("10")},
				AdvancedOptions:    &models.AdvancedOptions{HasComments: ptr(false), LimitDate: "2026-01-31"},
			},
			want: erp.Charge{Amount: decimal.RequireFromString("10"), LimitDate: "2026-01-31"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := erp.ChargeFromPayment(tt.in)
			if !chargesEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChargeFromPaymentSharesNoMemory(t *testing.T) {
	in := models.Payment{
		RecaudaInformation: models.RecaudaInformation{
			Amount:        models.MustMoney("10"),
			SelectedTaxes: []int64{1},
			Metadata:      json.RawMessage(`{"a":"b"}`),
		},
		AdvancedOptions: &models.AdvancedOptions{
			References:             []string{"x"},
			RequestAddressDelivery: ptr(true),
		},
	}
	c := erp.ChargeFromPayment(in)
	in.RecaudaInformation.SelectedTaxes[0] = 9
	in.RecaudaInformation.Metadata[2] = 'Z'
	in.AdvancedOptions.References[0] = "changed"
	*in.AdvancedOptions.RequestAddressDelivery = false

	if got, want := c.SelectedTaxes[0], int64(1); got != want {
		t.Errorf("SelectedTaxes[0]: got %d, want %d", got, want)
	}
	if got, want := string(c.Metadata), `{"a":"b"}`; got != want {
		t.Errorf("Metadata: got %s, want %s", got, want)
	}
	if got, want := c.References[0], "x"; got != want {
		t.Errorf("References[0]: got %q, want %q", got, want)
	}
	if got, want := *c.RequestAddressDelivery, true; got != want {
		t.Errorf("RequestAddressDelivery: got %v, want %v", got, want)
	}
}

// TestChargeFromPaymentEfipayExample converts Efipay's documented example.
func TestChargeFromPaymentEfipayExample(t *testing.T) {
	b, err := os.ReadFile("../testdata/erp/efipay-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp models.PaymentsResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("decode example: %v", err)
	}
	if got, want := len(resp.Payments), 3; got != want {
		t.Fatalf("payments: got %d, want %d", got, want)
	}
	c := erp.ChargeFromPayment(resp.Payments[0])
	if got, want := c.Amount.String(), "20000"; got != want {
		t.Errorf("amount: got %s, want %s", got, want)
	}
	if c.Advance == nil || c.Advance.Value.String() != "5000" || c.Advance.Type != models.AdvanceMinimumValue {
		t.Errorf("advance: got %+v, want Valor Minimo 5000", c.Advance)
	}
	if c.Delivery == nil || c.Delivery.Value.String() != "5000" {
		t.Errorf("delivery: got %+v, want Con Valor 5000", c.Delivery)
	}
	if got, want := len(c.References), 3; got != want {
		t.Errorf("references: got %d, want %d", got, want)
	}
	if got, want := string(c.Metadata), `{
          "data": "Your additional data here"
        }`; got != want {
		t.Errorf("metadata: got %s, want %s", got, want)
	}
	if c2 := erp.ChargeFromPayment(resp.Payments[1]); c2.HasComments || c2.LimitDate != "" {
		t.Errorf("item with null advanced_options: got %+v, want zero options", c2)
	}
}

// chargesEqual compares decimals by value, everything else deeply.
func chargesEqual(a, b erp.Charge) bool {
	if !a.Amount.Equal(b.Amount) {
		return false
	}
	a.Amount, b.Amount = decimal.Zero, decimal.Zero
	if (a.Advance == nil) != (b.Advance == nil) || (a.Advance != nil && !a.Advance.Value.Equal(b.Advance.Value)) {
		return false
	}
	if (a.Discount == nil) != (b.Discount == nil) || (a.Discount != nil && !a.Discount.Value.Equal(b.Discount.Value)) {
		return false
	}
	if (a.Delivery == nil) != (b.Delivery == nil) || (a.Delivery != nil && !a.Delivery.Value.Equal(b.Delivery.Value)) {
		return false
	}
	norm := func(c *erp.Charge) {
		if c.Advance != nil {
			v := *c.Advance
			v.Value = decimal.Zero
			c.Advance = &v
		}
		if c.Discount != nil {
			v := *c.Discount
			v.Value = decimal.Zero
			c.Discount = &v
		}
		if c.Delivery != nil {
			v := *c.Delivery
			v.Value = decimal.Zero
			c.Delivery = &v
		}
	}
	norm(&a)
	norm(&b)
	return reflect.DeepEqual(a, b)
}
