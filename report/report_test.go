package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// fakeStore yields its records, filtered by time as the store does.
type fakeStore struct{ records []store.PaymentRecord }

func (f *fakeStore) Payments(_ context.Context, pf store.PaymentFilter, fn func(store.PaymentRecord) error) error {
	for _, r := range f.records {
		at := r.ReceivedAt
		if r.ApprovedAt != nil {
			at = *r.ApprovedAt
		}
		if (!pf.From.IsZero() && at.Before(pf.From)) || (!pf.Before.IsZero() && !at.Before(pf.Before)) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeStore) CountPayments(ctx context.Context, pf store.PaymentFilter) (int64, error) {
	var n int64
	err := f.Payments(ctx, pf, func(store.PaymentRecord) error { n++; return nil })
	return n, err
}

func ptr(t time.Time) *time.Time { return &t }

var bank = Asobancaria{NIT: "900123456", BankCode: "007", Account: "123456789", AccountType: "01", ServiceCode: "7709998000001",
	PaymentOrigin: "03", PaymentMeans: "30"}

var fixedNow = time.Date(2026, 12, 4, 13, 5, 0, 0, time.UTC)

// records: a payment at 23:30 in Bogota (the next day in UTC), a partial
// one of a derived ref, one in dollars, its reversal the day after, and a
// payer name a spreadsheet would run.
func records() []store.PaymentRecord {
	body := func(cop, source, traz string) string {
		return `{"transaction":{"value_cop":` + cop + `,"payment_method_source":"` + source + `","trazability_id":` + traz + `}}`
	}
	return []store.PaymentRecord{
		{EventID: 1, ReceivedAt: time.Date(2026, 12, 2, 4, 31, 0, 0, time.UTC), ApprovedAt: ptr(time.Date(2026, 12, 2, 4, 30, 0, 0, time.UTC)),
			TransactionID: "1001", Status: "Aprobada", Amount: decimal.RequireFromString("150000.50"), Currency: "COP", PaymentMethod: "pse",
			RefPayment: "5001", IDNumber: "900100", PayerName: "Ana Gómez", StatusAfter: models.StatusPaid, WritebackState: models.WritebackDone,
			Body: body(`150000.5`, "Bancolombia", `"778899"`)},
		{EventID: 2, ReceivedAt: time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), ApprovedAt: ptr(time.Date(2026, 12, 2, 14, 59, 0, 0, time.UTC)),
			TransactionID: "1002", Status: "Aprobada", Amount: decimal.RequireFromString("20000"), Currency: "COP", PaymentMethod: "credit",
			RefPayment: "INV-7-B1", ParentRef: "INV-7", IDNumber: "900200", PayerName: "=HYPERLINK(\"http://x\")", StatusAfter: models.StatusPartiallyPaid,
			Body: body(`"20000.00"`, "Visa", `12`)},
		{EventID: 3, ReceivedAt: time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC), ApprovedAt: ptr(time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)),
			TransactionID: "1003", Status: "Aprobada", Amount: decimal.RequireFromString("25.75"), Currency: "USD", PaymentMethod: "credit",
			RefPayment: "USD-1", IDNumber: "900300", PayerName: "John Doe", StatusAfter: models.StatusPaid, WritebackState: models.WritebackPending,
			Body: body(`105575.00`, "Mastercard", `null`)},
		{EventID: 4, ReceivedAt: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC),
			TransactionID: "1003", Status: "Reversada", Amount: decimal.RequireFromString("25.75"), Currency: "USD", PaymentMethod: "credit",
			RefPayment: "USD-1", IDNumber: "900300", PayerName: "John Doe", StatusAfter: models.StatusReversed, WritebackState: models.WritebackNeedsOperator,
			Body: body(`105575.00`, "Mastercard", `null`)},
	}
}

func newService() *Service {
	return New(&fakeStore{records: records()}, func() time.Time { return fixedNow }, bank)
}

func day(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }

func TestPaymentRows(t *testing.T) {
	var got []Payment
	if err := newService().Each(context.Background(), Query{}, func(p Payment) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		i                              int
		kind, day, amount, cop, erpRef string
		datedBy, source, auth          string
		derived                        bool
	}{
		{0, KindPayment, "2026-12-01", "150000.50", "150000.50", "5001", DatedByApproval, "Bancolombia", "778899", false},
		{1, KindPayment, "2026-12-02", "20000.00", "20000.00", "INV-7", DatedByApproval, "Visa", "12", true},
		{2, KindPayment, "2026-12-02", "25.75", "105575.00", "USD-1", DatedByApproval, "Mastercard", "", false},
		{3, KindReversal, "2026-12-03", "-25.75", "-105575.00", "USD-1", DatedByReceipt, "Mastercard", "", false},
	} {
		t.Run(strconv.Itoa(tc.i), func(t *testing.T) {
			p := got[tc.i]
			if p.Kind != tc.kind || p.Day != tc.day || Money(p.Amount) != tc.amount || p.ValueCOP == nil || Money(*p.ValueCOP) != tc.cop ||
				p.ERPRef != tc.erpRef || p.DatedBy != tc.datedBy || p.PaymentSource != tc.source || p.Authorization != tc.auth || p.Derived() != tc.derived {
				t.Fatalf("got %+v, want kind %s day %s amount %s cop %s erp ref %s dated by %s source %s auth %q derived %v",
					p, tc.kind, tc.day, tc.amount, tc.cop, tc.erpRef, tc.datedBy, tc.source, tc.auth, tc.derived)
			}
		})
	}
}

// sums is what the test computes itself from the records, per currency.
func sums(t *testing.T) map[string][2]decimal.Decimal {
	t.Helper()
	out := map[string][2]decimal.Decimal{}
	for _, r := range records() {
		s := out[r.Currency]
		if r.StatusAfter == models.StatusReversed {
			s[1] = s[1].Sub(r.Amount)
		} else {
			s[0] = s[0].Add(r.Amount)
		}
		out[r.Currency] = s
	}
	return out
}

func TestSummary(t *testing.T) {
	sum, err := newService().Summary(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := sums(t)
	if len(sum.Totals) != len(want) {
		t.Fatalf("got %d currencies, want %d", len(sum.Totals), len(want))
	}
	for _, tot := range sum.Totals {
		w := want[tot.Currency]
		if !tot.Collected.Equal(w[0]) || !tot.Reversed.Equal(w[1]) || !tot.Net.Equal(w[0].Add(w[1])) {
			t.Fatalf("%s: got collected %s reversed %s net %s, want %s %s", tot.Currency, tot.Collected, tot.Reversed, tot.Net, w[0], w[1])
		}
	}
	if !sum.ValueCOP.Equal(decimal.RequireFromString("170000.50")) {
		t.Fatalf("value_cop total = %s, want 170000.50", sum.ValueCOP)
	}
	keys := make([]string, len(sum.Groups))
	for i, g := range sum.Groups {
		keys[i] = g.Day + "/" + g.Currency + "/" + g.PaymentMethod + "/" + strconv.FormatInt(g.Payments, 10) + "/" + strconv.FormatInt(g.Reversals, 10)
	}
	wantKeys := []string{"2026-12-01/COP/pse/1/0", "2026-12-02/COP/credit/1/0", "2026-12-02/USD/credit/1/0", "2026-12-03/USD/credit/0/1"}
	if strings.Join(keys, " ") != strings.Join(wantKeys, " ") {
		t.Fatalf("groups = %v, want %v", keys, wantKeys)
	}
	// The Bogota day: the payment at 23:30 on the 1st is the 1st's only one.
	one, err := newService().Summary(context.Background(), Query{From: day(1), To: day(1)})
	if err != nil || len(one.Groups) != 1 || one.Groups[0].Day != "2026-12-01" {
		t.Fatalf("summary of the 1st = %+v, %v; want only the payment at 23:30 Bogota", one, err)
	}
	if _, err := newService().Summary(context.Background(), Query{From: day(3), To: day(2)}); !errors.Is(err, ErrBadRange) {
		t.Fatalf("to before from: got %v, want ErrBadRange", err)
	}
}

func TestCSVExports(t *testing.T) {
	for _, tc := range []struct {
		format string
		comma  rune
		bom    bool
		dec    string
	}{
		{FormatCSV, ',', false, "."},
		{FormatCSVExcel, ';', true, ","},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := newService().Export(context.Background(), &buf, tc.format, Query{}); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if got := bytes.HasPrefix(raw, []byte("\xEF\xBB\xBF")); got != tc.bom {
				t.Fatalf("byte order mark: got %v, want %v", got, tc.bom)
			}
			if tc.bom && !bytes.Contains(raw, []byte("\r\n")) {
				t.Fatalf("Excel variant has no CRLF line ends")
			}
			r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))))
			r.Comma = tc.comma
			rows, err := r.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1+len(records()) || strings.Join(rows[0], ",") != strings.Join(paymentColumns, ",") {
				t.Fatalf("got %d rows, header %v; want %d and %v", len(rows), rows[0], 1+len(records()), paymentColumns)
			}
			col := map[string]int{}
			for i, c := range rows[0] {
				col[c] = i
			}
			net := map[string]decimal.Decimal{}
			for _, row := range rows[1:] {
				a := row[col["amount"]]
				if tc.dec == "," && strings.Contains(a, ".") {
					t.Fatalf("amount %q has a decimal point in the Excel variant", a)
				}
				d, err := decimal.NewFromString(strings.Replace(a, tc.dec, ".", 1))
				if err != nil {
					t.Fatalf("amount %q: %v", a, err)
				}
				net[row[col["currency_type"]]] = net[row[col["currency_type"]]].Add(d)
			}
			for cur, w := range sums(t) {
				if !net[cur].Equal(w[0].Add(w[1])) {
					t.Fatalf("%s: rows add up to %s, want %s", cur, net[cur], w[0].Add(w[1]))
				}
			}
			if got := rows[2][col["payer_name"]]; got != `'=HYPERLINK("http://x")` {
				t.Fatalf("payer name = %q, want it escaped with a leading apostrophe", got)
			}
			if got := rows[4][col["amount"]]; got != "-25"+tc.dec+"75" {
				t.Fatalf("reversal amount = %q, want a plain negative number", got)
			}
			if got := rows[1][col["time_bogota"]]; got != "2026-12-01 23:30:00" {
				t.Fatalf("time = %q, want Bogota's 2026-12-01 23:30:00", got)
			}
		})
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+57": "'+57", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"Ana": "Ana", "": "", "1=1": "1=1",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestXLSXExport(t *testing.T) {
	var buf bytes.Buffer
	if err := newService().Export(context.Background(), &buf, FormatXLSX, Query{}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(SheetPayments, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(records()) {
		t.Fatalf("got %d rows on %s, want %d", len(rows), SheetPayments, 1+len(records()))
	}
	net := map[string]decimal.Decimal{}
	for i, row := range rows[1:] {
		cell, _ := excelize.CoordinatesToCellName(10, i+2)
		if typ, _ := f.GetCellType(SheetPayments, cell); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Fatalf("amount cell %s has type %v, want a number", cell, typ)
		}
		net[row[10]] = net[row[10]].Add(decimal.RequireFromString(row[9]))
	}
	if rows[2][8] != `=HYPERLINK("http://x")` {
		t.Fatalf("payer name = %q, want it as text", rows[2][8])
	}
	if formula, _ := f.GetCellFormula(SheetPayments, "I3"); formula != "" {
		t.Fatalf("payer name cell holds formula %q, want text", formula)
	}
	for cur, w := range sums(t) {
		if !net[cur].Equal(w[0].Add(w[1])) {
			t.Fatalf("%s: rows add up to %s, want %s", cur, net[cur], w[0].Add(w[1]))
		}
	}
	days, err := f.GetRows(SheetDays, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	// Header, four groups, two currency totals.
	if len(days) != 7 || days[5][0] != "total" || days[5][1] != "COP" || days[5][4] != "170000.5" || days[6][7] != "0" {
		t.Fatalf("daily totals sheet = %v", days)
	}
}

// asobancariaRecord is a record of the file as the test reads it, by the
// published widths (docs/asobancaria2001.md), independently of the writer.
type asobancariaRecord struct {
	kind   string
	fields []string
}

var asobancariaWidths = map[string][]int{
	"01": {2, 10, 8, 3, 17, 8, 4, 1, 2, 107},
	"05": {2, 13, 4, 143},
	"06": {2, 48, 14, 2, 2, 6, 6, 3, 4, 7, 3, 65},
	"08": {2, 9, 18, 4, 129},
	"09": {2, 9, 18, 133},
}

func parseAsobancaria(t *testing.T, data []byte) []asobancariaRecord {
	t.Helper()
	var out []asobancariaRecord
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Fatalf("file does not end in CRLF")
	}
	for _, line := range strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n") {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasSuffix(line, "\r") {
			t.Fatalf("record %q does not end in CRLF", line)
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) != 162 {
			t.Fatalf("record %q is %d characters, want 162", line, len(line))
		}
		widths, ok := asobancariaWidths[line[:2]]
		if !ok {
			t.Fatalf("unknown record type %q", line[:2])
		}
		rec := asobancariaRecord{kind: line[:2]}
		pos := 0
		for _, w := range widths {
			rec.fields = append(rec.fields, line[pos:pos+w])
			pos += w
		}
		if pos != 162 {
			t.Fatalf("widths of %s add up to %d", rec.kind, pos)
		}
		out = append(out, rec)
	}
	return out
}

func readCents(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	if strings.Trim(s, "0123456789") != "" {
		t.Fatalf("amount %q is not all digits", s)
	}
	return decimal.RequireFromString(s).Shift(-2)
}

func TestAsobancariaExport(t *testing.T) {
	var buf bytes.Buffer
	if err := newService().Export(context.Background(), &buf, FormatAsobancaria, Query{From: day(1), To: day(3)}); err != nil {
		t.Fatal(err)
	}
	recs := parseAsobancaria(t, buf.Bytes())
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.kind)
	}
	// The 1st and the 2nd are batches of their own; the 3rd has only the
	// reversal, which the file does not carry.
	if got := strings.Join(kinds, " "); got != "01 05 06 08 05 06 06 08 09" {
		t.Fatalf("records = %s, want 01 05 06 08 05 06 06 08 09", got)
	}
	h := recs[0].fields
	if h[1] != "0900123456" || h[2] != "20261201" || h[3] != "007" || strings.TrimSpace(h[4]) != "123456789" ||
		h[5] != "20261204" || h[6] != "0805" || h[7] != "A" || h[8] != "01" {
		t.Fatalf("file header = %q", h)
	}
	var count int64
	total := decimal.Zero
	var batchCount int64
	batchTotal := decimal.Zero
	var refs []string
	for _, r := range recs {
		switch r.kind {
		case "05":
			if r.fields[1] != "7709998000001" {
				t.Fatalf("service code = %q", r.fields[1])
			}
			batchCount, batchTotal = 0, decimal.Zero
		case "06":
			v := readCents(t, r.fields[2])
			count++
			batchCount++
			total, batchTotal = total.Add(v), batchTotal.Add(v)
			refs = append(refs, r.fields[1])
			if r.fields[3] != "03" || r.fields[4] != "30" {
				t.Fatalf("origin and means = %q %q, want the settings' 03 30", r.fields[3], r.fields[4])
			}
		case "08":
			n, _ := strconv.ParseInt(r.fields[1], 10, 64)
			if n != batchCount || !readCents(t, r.fields[2]).Equal(batchTotal) {
				t.Fatalf("batch control %q, want %d and %s", r.fields, batchCount, batchTotal)
			}
		case "09":
			n, _ := strconv.ParseInt(r.fields[1], 10, 64)
			if n != count || !readCents(t, r.fields[2]).Equal(total) {
				t.Fatalf("file control %q, want %d and %s", r.fields, count, total)
			}
		}
	}
	// COP as collected, dollars by their value in pesos.
	want := decimal.RequireFromString("150000.50").Add(decimal.RequireFromString("20000")).Add(decimal.RequireFromString("105575"))
	if !total.Equal(want) {
		t.Fatalf("total = %s, want %s", total, want)
	}
	if refs[0] != strings.Repeat("0", 44)+"5001" || strings.TrimRight(refs[1], " ") != "INV-7" {
		t.Fatalf("references = %q, want 5001 zero-filled and the ERP's INV-7 for the derived ref", refs)
	}

	incomplete := New(&fakeStore{}, nil, Asobancaria{NIT: "9001"})
	if err := incomplete.CheckFormat(FormatAsobancaria); !errors.Is(err, ErrNotConfigured) || !strings.Contains(err.Error(), "ASOBANCARIA_BANK_CODE") {
		t.Fatalf("incomplete settings: got %v, want ErrNotConfigured naming ASOBANCARIA_BANK_CODE", err)
	}
	if err := newService().CheckFormat("pdf"); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("format pdf: got %v, want ErrUnknownFormat", err)
	}
}
