package report

import (
	"context"
	"encoding/csv"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// Money is an exact decimal with at least two decimals ("150000.50",
// "-3450000.00"), more only when the value has them.
func Money(d decimal.Decimal) string {
	if d.Equal(d.Truncate(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

// SafeCell escapes text a spreadsheet would run as a formula: a cell that
// starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which Excel and LibreOffice show as text. Numbers the bridge
// writes itself (a negative amount) are not passed through it.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CSVWriter writes rows the way one of the CSV formats wants them: plain
// (comma, decimal point) or for Excel in Spanish (semicolon, decimal comma,
// a UTF-8 byte order mark first, CRLF).
type CSVWriter struct {
	w     *csv.Writer
	excel bool
}

// NewCSVWriter starts a CSV file on w; excel selects the Excel variant
// (its byte order mark is written at once).
func NewCSVWriter(w io.Writer, excel bool) (*CSVWriter, error) {
	c := &CSVWriter{w: csv.NewWriter(w), excel: excel}
	if excel {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return nil, err
		}
		c.w.Comma, c.w.UseCRLF = ';', true
	}
	return c, nil
}

// Text is a cell of text, escaped against formulas.
func (c *CSVWriter) Text(s string) string { return SafeCell(s) }

// Number is a cell holding an exact amount, with the variant's decimal mark.
func (c *CSVWriter) Number(d decimal.Decimal) string {
	s := Money(d)
	if c.excel {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Write writes one row of cells already made with Text or Number.
func (c *CSVWriter) Write(cells []string) error { return c.w.Write(cells) }

// Flush writes what is buffered and returns the first error of the file.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// paymentColumns are the columns of every payments export, in order.
var paymentColumns = []string{
	"day", "time_bogota", "dated_by", "kind", "transaction_id", "ref_payment", "erp_ref_payment", "id_number",
	"payer_name", "amount", "currency_type", "value_cop", "payment_method", "payment_method_source",
	"efipay_status", "status_after", "writeback_state", "authorization",
}

func (c *CSVWriter) payment(p Payment) error {
	cop := ""
	if p.ValueCOP != nil {
		cop = c.Number(*p.ValueCOP)
	}
	return c.Write([]string{
		p.Day, p.At.In(models.Bogota).Format("2006-01-02 15:04:05"), p.DatedBy, p.Kind, c.Text(p.TransactionID),
		c.Text(p.RefPayment), c.Text(p.ERPRef), c.Text(p.IDNumber), c.Text(p.PayerName), c.Number(p.Amount),
		c.Text(p.Currency), cop, c.Text(p.PaymentMethod), c.Text(p.PaymentSource), c.Text(p.EfipayStatus),
		p.StatusAfter, p.WritebackState, c.Text(p.Authorization),
	})
}

// exportCSV writes the payments of q as CSV, one row at a time.
func (s *Service) exportCSV(ctx context.Context, w io.Writer, q Query, excel bool) error {
	c, err := NewCSVWriter(w, excel)
	if err != nil {
		return err
	}
	if err := c.Write(paymentColumns); err != nil {
		return err
	}
	n := 0
	err = s.Each(ctx, q, func(p Payment) error {
		if err := c.payment(p); err != nil {
			return err
		}
		// Hand the rows on every so often, so a large export streams.
		if n++; n%1000 == 0 {
			return c.Flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.Flush()
}
