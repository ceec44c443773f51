package httpsource

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tidwall/gjson"

	"recauda-bridge/erp"
)

func TestChargeFromItemFlat(t *testing.T) {
	item := gjson.Parse(`{
		"ref_payment": 42,
		"id_number": "1020304050",
		"payer_name": ["Ana", "Pérez"],
		"description": "Cuota marzo",
		"amount": 150000.10,
		"currency_type": "cop",
		"limit_date": "2026-04-30T00:00:00",
		"advance_type": "Valor Minimo",
		"advance_value": "50000",
		"references": ["C-1", 7],
		"picture": "https://img.example/x.png",
		"has_comments": "si",
		"comments_label": "Notas",
		"discount_type": "Porcentaje",
		"discount_value": 5,
		"discount_before_on": "2026-04-15",
		"delivery_type": "Con Valor",
		"delivery_value": "8000.00",
		"request_address_delivery": 1,
		"metadata": "{\"contract\":\"K-9\"}"
	}`)
	got := ChargeFromItem(item, FlatMapping())
	yes := true
	want := erp.Charge{
		RefPayment:             "42",
		IDNumber:               "1020304050",
		PayerName:              "Ana Pérez",
		Description:            "Cuota marzo",
		Amount:                 dec("150000.10"),
		Currency:               "COP",
		LimitDate:              "2026-04-30",
		Advance:                &erp.Advance{Type: "Valor Minimo", Value: dec("50000")},
		References:             []string{"C-1", "7"},
		Picture:                "https://img.example/x.png",
		HasComments:            true,
		CommentsLabel:          "Notas",
		Discount:               &erp.Discount{Type: "Porcentaje", Value: dec("5"), BeforeOn: "2026-04-15"},
		Delivery:               &erp.Delivery{Type: "Con Valor", Value: dec("8000.00")},
		RequestAddressDelivery: &yes,
		Metadata:               json.RawMessage(`{"contract":"K-9"}`),
	}
	if got.Amount.String() != "150000.1" || !got.Amount.Equal(want.Amount) {
		t.Errorf("got amount %s, want 150000.10", got.Amount)
	}
	got.Amount = want.Amount
	got.Advance.Value, got.Discount.Value, got.Delivery.Value = want.Advance.Value, want.Discount.Value, want.Delivery.Value
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestChargeFromItemDefects(t *testing.T) {
	tests := []struct {
		name string
		item string
		want []erp.Defect
	}{
		{"missing amount", `{"ref_payment":"A"}`, []erp.Defect{{Field: "recauda_information.amount", Message: "amount is missing"}}},
		{"null amount", `{"ref_payment":"A","amount":null}`, []erp.Defect{{Field: "recauda_information.amount", Message: "amount is missing"}}},
		{"amount with thousands separators", `{"amount":"1.500.000"}`, []erp.Defect{{Field: "recauda_information.amount", Message: `amount is not a number: "1.500.000"`}}},
		{"boolean amount", `{"amount":true}`, []erp.Defect{{Field: "recauda_information.amount", Message: "amount is not a number: true"}}},
		{"advance value not a number", `{"amount":1,"advance_type":"Valor Minimo","advance_value":"x"}`, []erp.Defect{{Field: "recauda_information.advance.value", Message: `advance_value is not a number: "x"`}}},
		{"advance value without type", `{"amount":1,"advance_value":5}`, []erp.Defect{{Field: "recauda_information.advance.type", Message: "advance_type is missing although advance_value is set"}}},
		{"metadata not an object", `{"amount":1,"metadata":"plain"}`, []erp.Defect{{Field: "recauda_information.metadata", Message: `metadata is not a JSON object: "plain"`}}},
		{"references of objects", `{"amount":1,"references":[{"a":1}]}`, []erp.Defect{{Field: "advanced_options.references", Message: "references must be a list of texts"}}},
		{"payer name object", `{"amount":1,"payer_name":{"first":"Ana"}}`, []erp.Defect{{Field: "recauda_information.payer_name", Message: "payer_name is an object, not text"}}},
		{"delivery value", `{"amount":1,"delivery_type":"Con Valor","delivery_value":"ocho"}`, []erp.Defect{{Field: "advanced_options.delivery_service.value", Message: `delivery_value is not a number: "ocho"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChargeFromItem(gjson.Parse(tt.item), FlatMapping())
			if !reflect.DeepEqual(got.Defects, tt.want) {
				t.Errorf("got %+v, want %+v", got.Defects, tt.want)
			}
		})
	}
}

func TestChargeFromItemEfipayShape(t *testing.T) {
	item := gjson.Parse(`{
		"recauda_information": {"description":"Cuota","amount":"abc","currency_type":"COP","id_number":"123456","payer_name":"Ana Pérez","ref_payment":"R-1","advance":{"type":"Porcentaje Minimo","value":30}},
		"advanced_options": {"limit_date":"2026-05-01","has_comments":false,"delivery_service":{"type":"Gratis"}}
	}`)
	got := ChargeFromItem(item, EfipayMapping())
	if got.RefPayment != "R-1" || got.LimitDate != "2026-05-01" || got.Advance == nil || !got.Advance.Value.Equal(dec("30")) ||
		got.Delivery == nil || got.Delivery.Type != "Gratis" || !got.Delivery.Value.IsZero() {
		t.Errorf("got %+v", got)
	}
	want := []erp.Defect{{Field: "recauda_information.amount", Message: `amount is not a number: "abc"`}}
	if !reflect.DeepEqual(got.Defects, want) {
		t.Errorf("got defects %+v, want %+v", got.Defects, want)
	}
}

func TestMappingFallbacksAndTemplates(t *testing.T) {
	m := Mapping{
		Paths:     map[string]string{"limit_date": "payments.0.due_date || date", "amount": "balance"},
		Templates: map[string]string{"description": "Factura {number.full || id}", "ref_payment": "INV-{id}"},
		Defaults:  map[string]string{"currency_type": "COP", "description": "Factura"},
	}
	tests := []struct {
		item                           string
		wantDate, wantDesc, wantRef, c string
	}{
		{`{"id":7,"balance":1,"date":"2026-01-01","payments":[{"due_date":"2026-02-01"}],"number":{"full":"FV-7"}}`, "2026-02-01", "Factura FV-7", "INV-7", "COP"},
		{`{"id":8,"balance":1,"date":"2026-01-01","payments":[{"due_date":null}]}`, "2026-01-01", "Factura 8", "INV-8", "COP"},
		{`{"balance":1,"currency_type":"x"}`, "", "Factura", "", "COP"},
	}
	for _, tt := range tests {
		got := ChargeFromItem(gjson.Parse(tt.item), m)
		if got.LimitDate != tt.wantDate || got.Description != tt.wantDesc || got.RefPayment != tt.wantRef || got.Currency != tt.c {
			t.Errorf("%s: got date %q desc %q ref %q currency %q; want %q %q %q %q", tt.item,
				got.LimitDate, got.Description, got.RefPayment, got.Currency, tt.wantDate, tt.wantDesc, tt.wantRef, tt.c)
		}
	}
}

func TestMatchesIDNumber(t *testing.T) {
	tests := []struct {
		asked, got string
		want       bool
	}{
		{"900123456", "900123456", true},
		{"900123456", "900.123.456-7", true},
		{"9001234567", "900.123.456", true},
		{"900123456", "CO900123456-7", true},
		{"1020304050", "1.020.304.050", true},
		{"900123456", "800123456", false},
		{"900123456", "90012345", true}, // one digit shorter: the ERP chose it
		{"900123456", "9001234", false},
		{"900123456", "", false},
		{"AB12345", "ab-12345", true},
	}
	for _, tt := range tests {
		if got := MatchesIDNumber(tt.asked, tt.got); got != tt.want {
			t.Errorf("MatchesIDNumber(%q, %q): got %v, want %v", tt.asked, tt.got, got, tt.want)
		}
	}
}

func TestScreen(t *testing.T) {
	in := []erp.Charge{
		{RefPayment: "A", IDNumber: "900.123.456-7"},
		{RefPayment: "", IDNumber: "900123456"},
		{RefPayment: "B", IDNumber: "800111222"},
		{RefPayment: "C"},
		{RefPayment: "A", IDNumber: "900123456"},
	}
	got, st := Screen("900123456", in)
	if st.NoRef != 1 || st.OtherCustomer != 1 {
		t.Errorf("got %+v, want 1 without ref and 1 of another customer", st)
	}
	if len(got) != 3 || got[0].RefPayment != "A" || got[1].RefPayment != "C" || got[2].RefPayment != "A" {
		t.Fatalf("got %+v, want A, C, A", got)
	}
	for _, c := range got {
		if c.IDNumber != "900123456" {
			t.Errorf("%s: got id %q, want the asked one", c.RefPayment, c.IDNumber)
		}
		if dup := len(c.Defects) == 1; dup != (c.RefPayment == "A") {
			t.Errorf("%s: got defects %+v", c.RefPayment, c.Defects)
		}
	}
	if in[0].IDNumber != "900.123.456-7" {
		t.Error("Screen changed its input")
	}
}
