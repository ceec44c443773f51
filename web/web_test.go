package web

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/locale"
)

func TestReceiptEscapes(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	err = p.Receipt(&b, locale.For("es"), ReceiptView{RefPayment: "R-1", PayerName: `<script>alert(1)</script>`, Status: "paid",
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

// TestReceiptLanguages renders the receipt in each language: its labels,
// amounts and times are the reader's, and no key shows raw.
func TestReceiptLanguages(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	paid := time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)
	v := ReceiptView{RefPayment: "R-1", PayerName: "Ana", IDNumber: "12345678", Description: "Cuota", Status: "partially_paid",
		Currency: "COP", Amount: decimal.RequireFromString("150000.5"), PaidAmount: decimal.RequireFromString("100000"),
		Balance: decimal.RequireFromString("50000.5"), PaidAt: &paid, TransactionID: "801", PaymentMethod: "credit"}
	tests := []struct {
		lang string
		want []string
	}{
		{"es", []string{`<html lang="es">`, "Comprobante de pago", "Pago parcial", "Valor pagado", "$ 150.000,50 COP",
			"$ 100.000,00 COP", "22/11/2026 22:30 (hora de Colombia)", "Imprimir"}},
		{"en", []string{`<html lang="en">`, "Payment receipt", "Partially paid", "Amount paid", "$150,000.50 COP",
			"$100,000.00 COP", "2026-11-22 22:30 (Colombia time)", "Print"}},
	}
	for _, tc := range tests {
		t.Run(tc.lang, func(t *testing.T) {
			var b strings.Builder
			if err := p.Receipt(&b, locale.For(tc.lang), v); err != nil {
				t.Fatal(err)
			}
			page := b.String()
			for _, want := range tc.want {
				if !strings.Contains(page, want) {
					t.Errorf("got a page without %q, want it", want)
				}
			}
			if strings.Contains(page, "receipt_") {
				t.Errorf("got a raw key in the page:\n%s", page)
			}
		})
	}
}
