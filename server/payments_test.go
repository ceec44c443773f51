package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/guard"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// reportStack is the real stack with the admin API, webhooks and the
// payments report on; bank are the report's Asobancaria settings.
func reportStack(t *testing.T, src *erptest.Source, bank report.Asobancaria) *stack {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return fixedNow }
	dbPath := filepath.Join(t.TempDir(), "bridge.db")
	st, err := store.Open(ctx, models.DialectSQLite, dbPath, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := recauda.New(guard.New(src, guard.Options{CallTimeout: time.Second}), st, validation.New(now),
		recauda.Config{ResendAfter: 24 * time.Hour, WebhookURL: "https://bridge.example.co/webhooks/efipay"}, now, log)
	e := server.New(server.Config{Recauda: svc, Logger: log, AdminToken: adminToken, WebhookToken: webhookToken,
		Report: report.New(st, now, bank)})
	return &stack{dbPath: dbPath, e: e, store: st, source: src, svc: svc}
}

// paymentWebhook is an Efipay webhook with its own approval time, value
// in pesos and method.
func paymentWebhook(txID, status, amount, currency, valueCOP, approvedAt, method, ref string) []byte {
	return []byte(`{"transaction":{"transaction_id":` + txID + `,"amount":` + amount + `,"currency_type":"` + currency +
		`","value_cop":` + valueCOP + `,"payment_method":"` + method + `","payment_method_source":"Banco de Prueba","trazability_id":"77` + txID +
		`","transaction_details":{"name":"PAGADOR"},"status":"` + status + `","approved_at":"` + approvedAt +
		`","production":true,"created_at":"` + approvedAt + `"},"checkout":{"payment_gateway":{"advanced_option":{"references":["` + ref + `"]}}}}`)
}

// paid is one payment the test sends, and what it expects of its row.
type paid struct {
	tx, status, amount, currency, cop, approvedAt, method, ref string
	// row: the report's row (false: the webhook moves no money).
	row bool
}

var bankSettings = report.Asobancaria{NIT: "900123456", BankCode: "007", Account: "123456789", AccountType: "01", ServiceCode: "7709998000001"}

// reportScenario settles, through the real server and signed webhooks, a
// payment at 23:30 in Bogota (written as Cobra Plus does, without a zone),
// a partial payment and its balance under the derived ref, a payment in
// dollars, a payment and its reversal, and webhooks that move no money.
func reportScenario(t *testing.T, bank report.Asobancaria) (*stack, []paid) {
	t.Helper()
	part := charge("PART-2", "12345678")
	part.Amount = decimal.RequireFromString("100000")
	part.Advance = &erp.Advance{Type: models.AdvanceMinimumValue, Value: decimal.NewFromInt(30000)}
	usd := charge("USD-3", "12345678")
	usd.Currency, usd.Amount = "USD", decimal.RequireFromString("1040.00")
	rev := charge("REV-4", "12345678")
	rev.Amount = decimal.RequireFromString("80000")
	bad := charge("=cmd|' /C calc'!A0", "12345678")
	bad.Amount = decimal.RequireFromString("10.123")
	charges := []erp.Charge{charge("FULL-1", "12345678"), part, usd, rev, bad}
	src := &erptest.Source{PendingChargesFunc: func(context.Context, string) ([]erp.Charge, error) {
		return append([]erp.Charge(nil), charges...), nil
	}}
	s := reportStack(t, src, bank)
	if got := len(decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")).Payments); got != 4 {
		rec := s.adminDo(t, http.MethodGet, "/admin/api/rejections")
		t.Fatalf("lookup sent %d, want 4 (one held back): %s", got, rec.Body)
	}
	sent := []paid{
		{"501", "Aprobada", "150000.50", "COP", "150000.50", "2026-11-21 23:30:00", "pse", "FULL-1", true},
		{"501", "Aprobada", "150000.50", "COP", "150000.50", "2026-11-21 23:30:00", "pse", "FULL-1", false}, // duplicate
		{"502", "Aprobada", "40000", "COP", "40000", "2026-11-22T14:00:00Z", "credit", "PART-2", true},
		{"507", "Pendiente", "1040.00", "USD", "4160000", "", "credit", "USD-3", false},
		{"504", "Aprobada", "1040.00", "USD", "4160000.00", "2026-11-22T14:30:00Z", "credit", "USD-3", true},
		{"505", "Aprobada", "80000", "COP", "80000", "2026-11-22T13:00:00Z", "pse", "REV-4", true},
		{"505", "Reversada", "80000", "COP", "80000", "2026-11-22T13:00:00Z", "pse", "REV-4", true},
	}
	for _, p := range sent {
		s.signedWebhook(t, paymentWebhook(p.tx, p.status, p.amount, p.currency, p.cop, p.approvedAt, p.method, p.ref))
	}
	// The ERP reports the balance; the lookup offers it as PART-2-B1.
	charges[1].Amount = decimal.RequireFromString("60000")
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	var refs []string
	for _, p := range resp.Payments {
		refs = append(refs, p.RecaudaInformation.RefPayment)
	}
	if !slices.Contains(refs, "PART-2-B1") || len(refs) != 2 {
		t.Fatalf("second lookup = %+v, want PART-2-B1 and REV-4 again", resp.Payments)
	}
	balance := paid{"503", "Aprobada", "60000", "COP", "60000", "2026-11-22T15:10:00Z", "pse", "PART-2-B1", true}
	s.signedWebhook(t, paymentWebhook(balance.tx, balance.status, balance.amount, balance.currency, balance.cop, balance.approvedAt, balance.method, balance.ref))
	return s, append(sent, balance)
}

// expectedNet is the net per currency of what the test sent, computed from
// its own list.
func expectedNet(sent []paid) map[string]decimal.Decimal {
	net := map[string]decimal.Decimal{}
	for _, p := range sent {
		if !p.row {
			continue
		}
		a := decimal.RequireFromString(p.amount)
		if p.status == "Reversada" {
			a = a.Neg()
		}
		net[p.currency] = net[p.currency].Add(a)
	}
	return net
}

type paymentJSON struct {
	Kind           string  `json:"kind"`
	Day            string  `json:"day"`
	ApprovedAt     string  `json:"approved_at"`
	DatedBy        string  `json:"dated_by"`
	TransactionID  string  `json:"transaction_id"`
	RefPayment     string  `json:"ref_payment"`
	ERPRefPayment  string  `json:"erp_ref_payment"`
	Derived        bool    `json:"derived"`
	IDNumber       string  `json:"id_number"`
	Amount         string  `json:"amount"`
	CurrencyType   string  `json:"currency_type"`
	ValueCOP       *string `json:"value_cop"`
	PaymentMethod  string  `json:"payment_method"`
	PaymentSource  string  `json:"payment_method_source"`
	StatusAfter    string  `json:"status_after"`
	WritebackState *string `json:"writeback_state"`
}

func TestPaymentsReportFromRealWebhooks(t *testing.T) {
	s, sent := reportScenario(t, report.Asobancaria{})

	var all pageJSON[paymentJSON]
	s.adminOK(t, http.MethodGet, "/admin/api/payments", &all)
	var got []string
	for _, p := range all.Items {
		got = append(got, p.TransactionID+"/"+p.Kind+"/"+p.Day+"/"+p.Amount)
	}
	want := "501/payment/2026-11-21/150000.50 505/payment/2026-11-22/80000.00 502/payment/2026-11-22/40000.00 " +
		"504/payment/2026-11-22/1040.00 505/reversal/2026-11-22/-80000.00 503/payment/2026-11-22/60000.00"
	if strings.Join(got, " ") != want || all.Total != 6 {
		t.Fatalf("payments = %v (total %d), want %s", got, all.Total, want)
	}
	first, rev, balance := all.Items[0], all.Items[4], all.Items[5]
	if first.ApprovedAt != "2026-11-22T04:30:00Z" || first.DatedBy != report.DatedByApproval || first.IDNumber != "12345678" ||
		first.StatusAfter != models.StatusPaid || first.PaymentSource != "Banco de Prueba" {
		t.Fatalf("first row = %+v, want the 23:30 Bogota payment (04:30 UTC) on its Bogota day", first)
	}
	if rev.DatedBy != report.DatedByReceipt || rev.StatusAfter != models.StatusReversed || rev.ApprovedAt != "2026-11-22T15:00:00Z" {
		t.Fatalf("reversal row = %+v, want it dated when received, the charge reversed", rev)
	}
	if !balance.Derived || balance.RefPayment != "PART-2-B1" || balance.ERPRefPayment != "PART-2" {
		t.Fatalf("balance row = %+v, want the derived PART-2-B1 naming PART-2", balance)
	}
	if usd := all.Items[3]; usd.ValueCOP == nil || *usd.ValueCOP != "4160000.00" || usd.CurrencyType != "USD" {
		t.Fatalf("dollar row = %+v, want value_cop 4160000.00", usd)
	}

	for _, tc := range []struct {
		query string
		want  string
		total int64
	}{
		{"from=2026-11-21&to=2026-11-21", "501", 1},
		{"from=2026-11-22", "505 502 504 505 503", 5},
		{"currency_type=USD", "504", 1},
		{"payment_method=pse&to=2026-11-22", "501 505 505 503", 4},
		{"ref_payment=PART-2", "502 503", 2},
		{"id_number=99999999", "", 0},
		{"per_page=2&page=2", "502 504", 6},
	} {
		t.Run(tc.query, func(t *testing.T) {
			var page pageJSON[paymentJSON]
			s.adminOK(t, http.MethodGet, "/admin/api/payments?"+tc.query, &page)
			var txs []string
			for _, p := range page.Items {
				txs = append(txs, p.TransactionID)
			}
			if strings.Join(txs, " ") != tc.want || page.Total != tc.total {
				t.Fatalf("got %v (total %d), want %s (total %d)", txs, page.Total, tc.want, tc.total)
			}
		})
	}

	var sum struct {
		Groups []struct {
			Day           string `json:"day"`
			CurrencyType  string `json:"currency_type"`
			PaymentMethod string `json:"payment_method"`
			Payments      int64  `json:"payments"`
			Collected     string `json:"collected"`
			Reversals     int64  `json:"reversals"`
			Net           string `json:"net"`
		} `json:"groups"`
		Totals []struct {
			CurrencyType string `json:"currency_type"`
			Collected    string `json:"collected"`
			Reversed     string `json:"reversed"`
			Net          string `json:"net"`
		} `json:"totals"`
	}
	s.adminOK(t, http.MethodGet, "/admin/api/payments/summary?from=2026-11-21&to=2026-11-22", &sum)
	net := expectedNet(sent)
	if len(sum.Totals) != len(net) {
		t.Fatalf("summary totals = %+v, want %d currencies", sum.Totals, len(net))
	}
	for _, tot := range sum.Totals {
		if tot.Net != report.Money(net[tot.CurrencyType]) {
			t.Fatalf("%s net = %s, want %s", tot.CurrencyType, tot.Net, report.Money(net[tot.CurrencyType]))
		}
	}
	if g := sum.Groups[0]; g.Day != "2026-11-21" || g.CurrencyType != "COP" || g.PaymentMethod != "pse" || g.Payments != 1 || g.Collected != "150000.50" {
		t.Fatalf("first group = %+v, want the 21st's one pse payment", g)
	}
}

func TestPaymentsExportFormats(t *testing.T) {
	s, sent := reportScenario(t, bankSettings)
	net := expectedNet(sent)
	for _, tc := range []struct {
		format, contentType string
		read                func(t *testing.T, body []byte) map[string]decimal.Decimal
	}{
		{"csv", "text/csv", func(t *testing.T, b []byte) map[string]decimal.Decimal { return csvNet(t, b, ',', ".") }},
		{"csv-excel", "text/csv", func(t *testing.T, b []byte) map[string]decimal.Decimal {
			if !bytes.HasPrefix(b, []byte("\uFEFF")) {
				t.Fatal("no byte order mark")
			}
			return csvNet(t, bytes.TrimPrefix(b, []byte("\uFEFF")), ';', ",")
		}},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsxNet},
	} {
		t.Run(tc.format, func(t *testing.T) {
			rec := s.adminDo(t, http.MethodGet, "/admin/api/payments/export?from=2026-11-21&to=2026-11-22&format="+tc.format)
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.contentType) ||
				!strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
				t.Fatalf("status %d, type %q, disposition %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"))
			}
			got := tc.read(t, rec.Body.Bytes())
			for cur, w := range net {
				if !got[cur].Equal(w) {
					t.Fatalf("%s: rows add up to %s, want %s", cur, got[cur], w)
				}
			}
		})
	}

	t.Run("asobancaria2001", func(t *testing.T) {
		rec := s.adminDo(t, http.MethodGet, "/admin/api/payments/export?from=2026-11-21&to=2026-11-22&format=asobancaria2001")
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		lines := strings.Split(strings.TrimSuffix(rec.Body.String(), "\r\n"), "\r\n")
		var kinds []string
		count, total := 0, decimal.Zero
		for _, l := range lines {
			if len(l) != report.RecordLength {
				t.Fatalf("record %q is %d long, want %d", l, len(l), report.RecordLength)
			}
			kinds = append(kinds, l[:2])
			if l[:2] == "06" {
				count++
				total = total.Add(decimal.RequireFromString(l[50:64]).Shift(-2))
			}
		}
		// Payments only (the reversal is not in the file), the dollars by
		// their value in pesos; each Bogota day a batch.
		want := decimal.Zero
		for _, p := range sent {
			if p.row && p.status != "Reversada" {
				want = want.Add(decimal.RequireFromString(p.cop))
			}
		}
		last := lines[len(lines)-1]
		n, _ := strconv.Atoi(last[2:11])
		if strings.Join(kinds, "") != "01050608050606060608"+"09" || count != 5 || n != count ||
			!total.Equal(want) || !decimal.RequireFromString(last[11:29]).Shift(-2).Equal(want) {
			t.Fatalf("records %v, %d details for %s (control %q), want 5 for %s", kinds, count, total, last[:29], want)
		}
	})
}

func csvNet(t *testing.T, body []byte, comma rune, dec string) map[string]decimal.Decimal {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = comma
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	net := map[string]decimal.Decimal{}
	for _, row := range rows[1:] {
		a := decimal.RequireFromString(strings.Replace(row[col["amount"]], dec, ".", 1))
		net[row[col["currency_type"]]] = net[row[col["currency_type"]]].Add(a)
	}
	return net
}

func xlsxNet(t *testing.T, body []byte) map[string]decimal.Decimal {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(report.SheetPayments, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	net := map[string]decimal.Decimal{}
	for _, row := range rows[1:] {
		net[row[10]] = net[row[10]].Add(decimal.RequireFromString(row[9]))
	}
	return net
}

func TestPaymentsBadParameters(t *testing.T) {
	s, _ := reportScenario(t, report.Asobancaria{})
	for _, tc := range []struct{ target, field, rule string }{
		{"/admin/api/payments?from=2026-11-22&to=2026-11-21", "from", "not_after_to"},
		{"/admin/api/payments?from=22/11/2026", "from", "date"},
		{"/admin/api/payments?currency_type=BTC", "currency_type", "one_of"},
		{"/admin/api/payments?sort=amount", "sort", "unknown"},
		{"/admin/api/payments/export?format=pdf", "format", "one_of"},
		{"/admin/api/payments/export", "format", "required"},
		{"/admin/api/payments/export?format=asobancaria2001", "format", "configured"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			rec := s.adminDo(t, http.MethodGet, tc.target)
			body := decodeError(t, rec)
			if rec.Code != http.StatusBadRequest || body.Error.Code != "invalid_parameter" || len(body.Error.Details) == 0 ||
				body.Error.Details[0].Field != tc.field || body.Error.Details[0].Rule != tc.rule {
				t.Fatalf("got %d %+v, want 400 on %s (%s)", rec.Code, body, tc.field, tc.rule)
			}
		})
	}
}

func TestListsAsCSV(t *testing.T) {
	s, _ := reportScenario(t, report.Asobancaria{})
	for _, tc := range []struct {
		path  string
		check func(t *testing.T, rows [][]string)
	}{
		{"/admin/api/charges", nil},
		{"/admin/api/charges?status=paid", nil},
		{"/admin/api/rejections", func(t *testing.T, rows [][]string) {
			if rows[1][0] != `'=cmd|' /C calc'!A0` {
				t.Fatalf("held-back ref = %q, want it escaped with a leading apostrophe", rows[1][0])
			}
		}},
		{"/admin/api/webhooks?outcome=applied", nil},
		{"/admin/api/writebacks", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var page pageJSON[map[string]any]
			s.adminOK(t, http.MethodGet, tc.path, &page)
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			rec := s.adminDo(t, http.MethodGet, tc.path+sep+"format=csv")
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
				t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			rows, err := csv.NewReader(rec.Body).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(rows)-1) != page.Total {
				t.Fatalf("csv has %d rows, want the list's total %d", len(rows)-1, page.Total)
			}
			// The columns are the list's JSON fields.
			if page.Total > 0 {
				for key := range page.Items[0] {
					if !slices.Contains(rows[0], key) {
						t.Fatalf("header %v lacks the list's field %q", rows[0], key)
					}
				}
				if len(rows[0]) != len(page.Items[0]) {
					t.Fatalf("header %v, want the %d fields of the list", rows[0], len(page.Items[0]))
				}
			}
			if tc.check != nil {
				tc.check(t, rows)
			}
		})
	}
	if rec := s.adminDo(t, http.MethodGet, "/admin/api/charges?format=xml"); rec.Code != http.StatusBadRequest {
		t.Fatalf("format=xml: got %d, want 400", rec.Code)
	}
}
