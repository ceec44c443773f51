package recauda

import (
	"testing"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

func TestPaymentFromChargeReferences(t *testing.T) {
	tests := []struct {
		name           string
		refs           []string
		want           []string
		wantCorrelated bool
	}{
		{"none", nil, []string{"R1"}, true},
		{"room left", []string{"EST-1", "EST-2"}, []string{"EST-1", "EST-2", "R1"}, true},
		{"already there", []string{"R1"}, []string{"R1"}, true},
		{"full", []string{"A", "B", "C"}, []string{"A", "B", "C"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := erp.Charge{RefPayment: "R1", References: tc.refs, Amount: decimal.NewFromInt(1000)}
			p, correlated := PaymentFromCharge(c, "")
			got := p.AdvancedOptions.References
			if len(got) != len(tc.want) || correlated != tc.wantCorrelated {
				t.Fatalf("references = %v correlated %v, want %v %v", got, correlated, tc.want, tc.wantCorrelated)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("references = %v, want %v", got, tc.want)
				}
			}
			if len(tc.refs) > 0 && &tc.refs[0] == &got[0] {
				t.Fatal("references share the ERP's slice")
			}
		})
	}
}

func TestPaymentFromChargeFields(t *testing.T) {
	yes := true
	c := erp.Charge{
		RefPayment: "R1", IDNumber: "12345678", PayerName: "Ana Gómez", Description: "Matrícula",
		Amount: decimal.RequireFromString("3450000"), Currency: "COP", LimitDate: "2026-12-06",
		Advance:  &erp.Advance{Type: models.AdvanceMinimumPercent, Value: decimal.NewFromInt(30)},
		Discount: &erp.Discount{BeforeOn: "2026-11-30", Type: models.DiscountPercent, Value: decimal.NewFromInt(5)},
		Delivery: &erp.Delivery{Type: models.DeliveryFree}, HasComments: true, CommentsLabel: "Notas",
		RequestAddressDelivery: &yes,
	}
	p, _ := PaymentFromCharge(c, "https://b.example.co/webhooks/efipay")
	info, opts := p.RecaudaInformation, p.AdvancedOptions
	if info.Advance == nil || info.Advance.Type != models.AdvanceMinimumPercent || !info.Advance.Value.Equal(decimal.NewFromInt(30)) {
		t.Fatalf("advance = %+v", info.Advance)
	}
	if opts.DeliveryService == nil || opts.DeliveryService.Value != nil {
		t.Fatalf("free delivery = %+v, want no value", opts.DeliveryService)
	}
	if opts.Discount == nil || opts.Discount.BeforeOn != "2026-11-30" {
		t.Fatalf("discount = %+v", opts.Discount)
	}
	if opts.HasComments == nil || !*opts.HasComments || opts.ResultURLs.Webhook != "https://b.example.co/webhooks/efipay" {
		t.Fatalf("options = %+v", opts)
	}
}

func TestValidateIDNumber(t *testing.T) {
	for _, ok := range []string{"12345", "12345678901234567890"} {
		if err := ValidateIDNumber(ok); err != nil {
			t.Errorf("ValidateIDNumber(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "1234", "123456789012345678901", "12 345", "١٢٣٤٥", "12345\n"} {
		if err := ValidateIDNumber(bad); err == nil {
			t.Errorf("ValidateIDNumber(%q) = nil, want an error", bad)
		}
	}
}
