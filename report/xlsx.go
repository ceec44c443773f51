package report

import (
	"context"
	"io"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"recauda-bridge/models"
)

// Sheet names of the XLSX export.
const (
	SheetPayments = "Pagos"
	SheetDays     = "Totales por día"
)

// number is d as a spreadsheet number. XLSX stores numbers as doubles; an
// amount Efipay accepts (at most 10 integer digits and 2 decimals) has fewer
// than 15 significant digits, so the double's shortest form, which is what
// is written, is the exact decimal again.
func number(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return f
}

// exportXLSX writes the payments of q on one sheet, streamed, and their
// totals per day, currency and method on a second one.
func (s *Service) exportXLSX(ctx context.Context, w io.Writer, q Query) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetPayments); err != nil {
		return err
	}
	if _, err := f.NewSheet(SheetDays); err != nil {
		return err
	}
	amount, err := f.NewStyle(&excelize.Style{NumFmt: 4}) // #,##0.00
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetPayments)
	if err != nil {
		return err
	}
	header := make([]any, len(paymentColumns))
	for i, c := range paymentColumns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	z := newSummarizer()
	row := 2
	err = s.Each(ctx, q, func(p Payment) error {
		z.add(p)
		var cop any
		if p.ValueCOP != nil {
			cop = excelize.Cell{StyleID: amount, Value: number(*p.ValueCOP)}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		// Strings go in as text cells, never as formulas.
		return sw.SetRow(cell, []any{
			p.Day, p.At.In(models.Bogota).Format("2006-01-02 15:04:05"), p.DatedBy, p.Kind, p.TransactionID,
			p.RefPayment, p.ERPRef, p.IDNumber, p.PayerName, excelize.Cell{StyleID: amount, Value: number(p.Amount)},
			p.Currency, cop, p.PaymentMethod, p.PaymentSource, p.EfipayStatus, p.StatusAfter, p.WritebackState, p.Authorization,
		})
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := writeDays(f, z.summary(), amount); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// writeDays fills the sheet of daily totals, then the totals per currency.
func writeDays(f *excelize.File, sum Summary, amount int) error {
	sw, err := f.NewStreamWriter(SheetDays)
	if err != nil {
		return err
	}
	num := func(d decimal.Decimal) excelize.Cell { return excelize.Cell{StyleID: amount, Value: number(d)} }
	rows := [][]any{{"day", "currency_type", "payment_method", "payments", "collected", "reversals", "reversed", "net", "value_cop"}}
	for _, g := range sum.Groups {
		rows = append(rows, []any{g.Day, g.Currency, g.PaymentMethod, g.Payments, num(g.Collected), g.Reversals, num(g.Reversed), num(g.Net), num(g.ValueCOP)})
	}
	for _, t := range sum.Totals {
		rows = append(rows, []any{"total", t.Currency, "", t.Payments, num(t.Collected), t.Reversals, num(t.Reversed), num(t.Net), num(t.ValueCOP)})
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, r); err != nil {
			return err
		}
	}
	return sw.Flush()
}
