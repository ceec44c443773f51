package web

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestMoney(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0,00"},
		{"5", "5,00"},
		{"999", "999,00"},
		{"1000", "1.000,00"},
		{"150000.5", "150.000,50"},
		{"3450000", "3.450.000,00"},
		{"1234567.89", "1.234.567,89"},
		{"18333.333", "18.333,333"},
		{"-1500.25", "-1.500,25"},
	}
	for _, tc := range tests {
		if got := Money(decimal.RequireFromString(tc.in)); got != tc.want {
			t.Errorf("Money(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWhen(t *testing.T) {
	at := time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)
	if got := When(&at); got != "22/11/2026 22:30 (hora de Colombia)" {
		t.Fatalf("When = %q, want the day and hour in Bogotá", got)
	}
	if got := When(nil); got != "—" {
		t.Fatalf("When(nil) = %q, want —", got)
	}
}

func TestReceiptEscapes(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = p.Receipt(&b, ReceiptView{RefPayment: "R-1", PayerName: `<script>alert(1)</script>`, Status: "paid",
		Currency: "COP", Amount: decimal.RequireFromString("1000"), PaidAmount: decimal.RequireFromString("1000")})
	if err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatal("the payer's name is not escaped")
	}
	for _, want := range []string{"Comprobante de pago", "Pagado", "$ 1.000,00 COP", "<style>", "@media print"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
