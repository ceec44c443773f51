package sqlsource

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
)

func TestDecimalOf(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string // "" when an error is wanted
	}{
		{"numeric text", "150000.50", "150000.50"},
		{"numeric bytes", []byte("99999999.99"), "99999999.99"},
		{"more digits than a float64 holds", "1234567890123456.78", "1234567890123456.78"},
		{"spaces", " 12.5 ", "12.5"},
		{"integer", int64(20000), "20000"},
		{"unsigned", uint64(18446744073709551615), "18446744073709551615"},
		{"float column", float64(1234.5), "1234.5"},
		{"float column, small", float64(0.1), "0.1"},
		{"float column, large", float64(1e21), "1000000000000000000000"},
		{"thousands separators", "12.345,67", ""},
		{"empty", "", ""},
		{"NaN text", "NaN", ""},
		{"NaN float", math.NaN(), ""},
		{"infinity", math.Inf(1), ""},
		{"bool", true, ""},
		{"time", time.Now(), ""},
		{"binary", []byte{0xff, 0xfe}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decimalOf(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tt.want)
			}
			if want := decimal.RequireFromString(tt.want); !got.Equal(want) {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	bogota := time.FixedZone("COT", -5*3600)
	tests := []struct {
		name    string
		in      any
		want    string
		wantErr bool
	}{
		{"date", time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), "2030-12-31", false},
		{"timestamp in its own zone", time.Date(2030, 12, 31, 22, 0, 0, 0, bogota), "2030-12-31", false},
		{"text", "2030-01-15", "2030-01-15", false},
		{"bytes", []byte("2030-01-15"), "2030-01-15", false},
		{"text with a time", "2030-01-15 10:30:00", "2030-01-15", false},
		{"ISO text with a time", "2030-01-15T10:30:00Z", "2030-01-15", false},
		{"impossible date passes for validation", "2024-02-30", "2024-02-30", false},
		{"other format passes for validation", "15/01/2030", "15/01/2030", false},
		{"empty is no date", "  ", "", false},
		{"integer", int64(20300115), "", true},
		{"bool", false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dateOf(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBoolOf(t *testing.T) {
	tests := []struct {
		in      any
		want    bool
		wantErr bool
	}{
		{true, true, false},
		{false, false, false},
		{int64(1), true, false},
		{int64(0), false, false},
		{int64(2), false, true},
		{uint64(1), true, false},
		{[]byte{1}, true, false}, // MySQL BIT(1)
		{[]byte{0}, false, false},
		{[]byte("t"), true, false},
		{"true", true, false},
		{"TRUE", true, false},
		{"False", false, false},
		{"1", true, false},
		{"0", false, false},
		{"t", true, false},
		{"f", false, false},
		{"si", true, false},
		{"Sí", true, false},
		{"no", false, false},
		{" yes ", true, false},
		{"quizás", false, true},
		{"", false, true},
		{float64(1), false, true},
		{time.Now(), false, true},
	}
	for _, tt := range tests {
		got, err := boolOf(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("boolOf(%#v): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("boolOf(%#v): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestJSONOf(t *testing.T) {
	tests := []struct {
		name     string
		in       any
		typeName string
		want     string
	}{
		{"integer", int64(42), "INT8", "42"},
		{"float", float64(10.25), "FLOAT8", "10.25"},
		{"bool", true, "BOOL", "true"},
		{"numeric keeps digits", "1234567890123456.78", "NUMERIC", "1234567890123456.78"},
		{"mysql decimal bytes", []byte("150000.50"), "DECIMAL", "150000.50"},
		{"sqlite declared decimal", "7.10", "DECIMAL(14,2)", "7.10"},
		{"numeric NaN is a string", "NaN", "NUMERIC", `"NaN"`},
		{"number-like text stays text", "00123", "VARCHAR", `"00123"`},
		{"json column", `{"a": [1, 2]}`, "JSONB", `{"a":[1,2]}`},
		{"json bytes", []byte(`[1, 2]`), "JSON", `[1,2]`},
		{"text", "Bogotá \"norte\"", "TEXT", `"Bogotá \"norte\""`},
		{"date", time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), "DATE", `"2030-01-02"`},
		{"timestamp", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), "TIMESTAMPTZ", `"2030-01-02T03:04:05Z"`},
		{"binary", []byte{0xff, 0x00}, "BYTEA", `"/wA="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(jsonOf(tt.in, tt.typeName)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewLayout(t *testing.T) {
	cols := func(names ...string) []column {
		out := make([]column, len(names))
		for i, n := range names {
			out[i] = column{name: n}
		}
		return out
	}
	required := []string{"ref_payment", "description", "amount", "currency_type", "payer_name"}

	l, err := newLayout(cols(append([]string{"branch", "LIMIT_DATE"}, required...)...))
	if err != nil {
		t.Fatalf("newLayout: %v", err)
	}
	if got, want := l.extras, []int{0}; !reflect.DeepEqual(got, want) {
		t.Errorf("extras: got %v, want %v", got, want)
	}
	if _, ok := l.known["limit_date"]; !ok {
		t.Errorf("LIMIT_DATE: got unknown, want it matched case-insensitively")
	}

	_, err = newLayout(cols("ref_payment", "description", "amount", "payer_name", "extra"))
	if err == nil || !strings.Contains(err.Error(), "no currency_type column") {
		t.Errorf("missing column: got %v, want an error naming currency_type", err)
	}
	_, err = newLayout(cols(append(required, "Amount")...))
	if err == nil || !strings.Contains(err.Error(), `column "Amount" twice`) {
		t.Errorf("duplicate column: got %v, want an error naming it", err)
	}
}

// TestLayoutCharge converts rows of scanned values as each driver hands
// them over.
func TestLayoutCharge(t *testing.T) {
	names := []string{
		"ref_payment", "description", "amount", "currency_type", "payer_name",
		"id_number", "limit_date", "advance_type", "advance_value", "references",
		"picture", "has_comments", "comments_label", "discount_type", "discount_value",
		"discount_before_on", "delivery_type", "delivery_value", "request_address_delivery",
		"selected_taxes", "metadata", "branch", "total",
	}
	types := map[string]string{"references": "_TEXT", "selected_taxes": "_INT4", "total": "NUMERIC", "metadata": "JSONB"}
	cols := make([]column, len(names))
	for i, n := range names {
		cols[i] = column{name: n, typeName: types[n]}
	}
	l, err := newLayout(cols)
	if err != nil {
		t.Fatalf("newLayout: %v", err)
	}
	rowOf := func(set map[string]any) []any {
		vals := make([]any, len(names))
		for i, n := range names {
			vals[i] = set[n]
		}
		return vals
	}
	yes, no := true, false
	base := map[string]any{
		"ref_payment": "FV-1", "description": "Factura FV-1", "amount": "150000.50",
		"currency_type": "COP", "payer_name": "María Gómez",
	}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	tests := []struct {
		name string
		row  map[string]any
		want erp.Charge
	}{
		{
			name: "required only",
			row:  base,
			want: erp.Charge{RefPayment: "FV-1", Description: "Factura FV-1", Amount: decimal.RequireFromString("150000.50"),
				Currency: "COP", PayerName: "María Gómez", IDNumber: "1020304050"},
		},
		{
			name: "everything",
			row: with(map[string]any{
				"id_number": int64(1020304050), "limit_date": time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC),
				"advance_type": "Porcentaje Minimo", "advance_value": "30.00",
				"references": `{FV-1,"obra 12"}`, "picture": " https://x.test/p.png ",
				"has_comments": true, "comments_label": "Observaciones",
				"discount_type": "Valor", "discount_value": "1000", "discount_before_on": "2030-06-30",
				"delivery_type": "Con Valor", "delivery_value": []byte("8000.00"),
				"request_address_delivery": int64(0), "selected_taxes": "{1,3}",
				"metadata": []byte(`{"seller": "ana", "branch": "from metadata"}`),
				"branch":   "Bogotá", "total": "1234567890123456.78",
			}),
			want: erp.Charge{RefPayment: "FV-1", Description: "Factura FV-1", Amount: decimal.RequireFromString("150000.50"),
				Currency: "COP", PayerName: "María Gómez", IDNumber: "1020304050",
				Advance:   &erp.Advance{Type: "Porcentaje Minimo", Value: decimal.RequireFromString("30")},
				LimitDate: "2030-12-31", References: []string{"FV-1", "obra 12"}, Picture: "https://x.test/p.png",
				HasComments: true, CommentsLabel: "Observaciones",
				Discount:               &erp.Discount{Type: "Valor", Value: decimal.RequireFromString("1000"), BeforeOn: "2030-06-30"},
				Delivery:               &erp.Delivery{Type: "Con Valor", Value: decimal.RequireFromString("8000")},
				RequestAddressDelivery: &no, SelectedTaxes: []int64{1, 3},
				Metadata: []byte(`{"branch":"from metadata","seller":"ana","total":1234567890123456.78}`)},
		},
		{
			name: "another id is passed through",
			row:  with(map[string]any{"id_number": " 999888777 ", "request_address_delivery": "si"}),
			want: erp.Charge{RefPayment: "FV-1", Description: "Factura FV-1", Amount: decimal.RequireFromString("150000.50"),
				Currency: "COP", PayerName: "María Gómez", IDNumber: "999888777", RequestAddressDelivery: &yes},
		},
		{
			name: "metadata alone is kept as given, compacted",
			row:  with(map[string]any{"metadata": `{ "z": 1, "a": 2 }`, "references": nil, "delivery_type": "Gratis"}),
			want: erp.Charge{RefPayment: "FV-1", Description: "Factura FV-1", Amount: decimal.RequireFromString("150000.50"),
				Currency: "COP", PayerName: "María Gómez", IDNumber: "1020304050",
				Delivery: &erp.Delivery{Type: "Gratis"}, Metadata: []byte(`{"z":1,"a":2}`)},
		},
		{
			name: "defects",
			row: with(map[string]any{
				"amount": "12.345,67", "payer_name": nil, "has_comments": "quizás",
				"advance_type": "Valor Minimo", "limit_date": int64(20301231),
				"metadata": "[1,2]", "selected_taxes": "{1,x}", "delivery_type": "Con Valor",
			}),
			want: erp.Charge{RefPayment: "FV-1", Description: "Factura FV-1", Currency: "COP", IDNumber: "1020304050",
				Advance:  &erp.Advance{Type: "Valor Minimo"},
				Delivery: &erp.Delivery{Type: "Con Valor"},
				Defects: []erp.Defect{
					{Field: "recauda_information.payer_name", Message: "column payer_name: is NULL"},
					{Field: "recauda_information.amount", Message: `column amount: "12.345,67" is not a decimal number`},
					{Field: "recauda_information.advance.value", Message: "column advance_value: is NULL but advance_type is set"},
					{Field: "advanced_options.limit_date", Message: "column limit_date: an integer (20301231) is not a date"},
					{Field: "recauda_information.selected_taxes", Message: "column selected_taxes: cannot read the array"},
					{Field: "advanced_options.has_comments", Message: `column has_comments: "quizás" is not a boolean (want true/false, 1/0, t/f, si/no)`},
					{Field: "advanced_options.delivery_service.value", Message: `column delivery_value: is NULL but delivery_type is "Con Valor"`},
					{Field: "recauda_information.metadata", Message: "column metadata: is not a JSON object"},
				}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.charge(rowOf(tt.row), "1020304050")
			assertCharge(t, got, tt.want)
		})
	}
}

// assertCharge compares two charges field by field: decimals by value,
// metadata as text, defects by field and message prefix.
func assertCharge(t *testing.T, got, want erp.Charge) {
	t.Helper()
	if !got.Amount.Equal(want.Amount) {
		t.Errorf("%s: Amount: got %s, want %s", want.RefPayment, got.Amount, want.Amount)
	}
	if string(got.Metadata) != string(want.Metadata) {
		t.Errorf("%s: Metadata: got %s, want %s", want.RefPayment, got.Metadata, want.Metadata)
	}
	if len(got.Defects) != len(want.Defects) {
		t.Errorf("%s: Defects: got %d %+v, want %d %+v", want.RefPayment, len(got.Defects), got.Defects, len(want.Defects), want.Defects)
	} else {
		for i := range want.Defects {
			g, w := got.Defects[i], want.Defects[i]
			if g.Field != w.Field || !strings.HasPrefix(g.Message, w.Message) {
				t.Errorf("%s: Defects[%d]: got %+v, want %+v", want.RefPayment, i, g, w)
			}
		}
	}
	decEq := func(a, b decimal.Decimal) bool { return a.Equal(b) }
	if (got.Advance == nil) != (want.Advance == nil) ||
		got.Advance != nil && (got.Advance.Type != want.Advance.Type || !decEq(got.Advance.Value, want.Advance.Value)) {
		t.Errorf("%s: Advance: got %+v, want %+v", want.RefPayment, got.Advance, want.Advance)
	}
	if (got.Discount == nil) != (want.Discount == nil) ||
		got.Discount != nil && (got.Discount.Type != want.Discount.Type || got.Discount.BeforeOn != want.Discount.BeforeOn ||
			!decEq(got.Discount.Value, want.Discount.Value)) {
		t.Errorf("%s: Discount: got %+v, want %+v", want.RefPayment, got.Discount, want.Discount)
	}
	if (got.Delivery == nil) != (want.Delivery == nil) ||
		got.Delivery != nil && (got.Delivery.Type != want.Delivery.Type || !decEq(got.Delivery.Value, want.Delivery.Value)) {
		t.Errorf("%s: Delivery: got %+v, want %+v", want.RefPayment, got.Delivery, want.Delivery)
	}
	if (got.RequestAddressDelivery == nil) != (want.RequestAddressDelivery == nil) ||
		got.RequestAddressDelivery != nil && *got.RequestAddressDelivery != *want.RequestAddressDelivery {
		t.Errorf("%s: RequestAddressDelivery: got %v, want %v", want.RefPayment, got.RequestAddressDelivery, want.RequestAddressDelivery)
	}
	// The rest compares as plain values.
	got.Amount, want.Amount = decimal.Decimal{}, decimal.Decimal{}
	got.Metadata, want.Metadata = nil, nil
	got.Defects, want.Defects = nil, nil
	got.Advance, want.Advance = nil, nil
	got.Discount, want.Discount = nil, nil
	got.Delivery, want.Delivery = nil, nil
	got.RequestAddressDelivery, want.RequestAddressDelivery = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", want.RefPayment, got, want)
	}
}
