package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
)

// The reconciliation page: the payments of a range of Bogota days, their
// totals per day, currency and method with a chart, and the files to
// download.

const (
	// reconDefaultDays is the range shown without one: the last week.
	reconDefaultDays = 7
	// reconMaxDays bounds the chart's range.
	reconMaxDays = 93
	// reconShown is how many payments the page lists; the files hold all.
	reconShown = 200
)

type reconView struct {
	From, To  string
	BadRange  bool
	Totals    []reconTotalsView
	Groups    []reconGroupView
	Chart     chartView
	Payments  []reconPaymentView
	MoreShown bool
	Downloads []reconDownload
}

type reconTotalsView struct {
	Currency, Payments, Collected, Reversals, Reversed, Net string
}

type reconGroupView struct {
	Day, Method string
	reconTotalsView
}

type reconPaymentView struct {
	Time, Kind, TransactionID, Ref, ERPRef, IDNumber, Payer, Amount, Method, State string
	Reversal, ByReceipt                                                            bool
}

type reconDownload struct {
	Label, URL string
}

// reconRange reads from and to leniently: a missing, malformed or reversed
// range, or one longer than reconMaxDays, is the last week (bad says so).
func reconRange(c echo.Context, today time.Time) (from, to time.Time, bad bool) {
	from, to = today.AddDate(0, 0, -(reconDefaultDays-1)), today
	f, t := c.QueryParam("from"), c.QueryParam("to")
	if f == "" && t == "" {
		return from, to, false
	}
	pf, errF := time.Parse(time.DateOnly, f)
	pt, errT := time.Parse(time.DateOnly, t)
	if t == "" {
		pt, errT = pf, errF
	}
	if errF != nil || errT != nil || pt.Before(pf) || pt.Sub(pf) > reconMaxDays*24*time.Hour {
		return from, to, true
	}
	return pf, pt, false
}

// reconciliation answers GET /admin/reconciliation.
func (h *dashboard) reconciliation(c echo.Context) error {
	y, m, d := h.now().In(models.Bogota).Date()
	from, to, bad := reconRange(c, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	q := report.Query{From: from, To: to}
	ctx := c.Request().Context()
	sum, err := h.report.Summary(ctx, q)
	if err != nil {
		return err
	}
	rows, total, err := h.report.Page(ctx, q, 1, reconShown)
	if err != nil {
		return err
	}
	tr := h.tr(c)
	if bad {
		c.Set(ctxProblem, "recon_bad_range")
	}
	return h.render(c, http.StatusOK, "reconciliation", "reconciliation_title", newReconView(tr, h.report, q, sum, rows, total, bad))
}

func newReconView(tr *locale.Locale, svc *report.Service, q report.Query, sum report.Summary, rows []report.Payment, total int64, bad bool) reconView {
	v := reconView{From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), BadRange: bad, MoreShown: total > int64(len(rows))}
	totals := func(cur string, t report.Totals) reconTotalsView {
		return reconTotalsView{Currency: cur, Payments: strconv.FormatInt(t.Payments, 10), Collected: tr.Money(t.Collected, cur),
			Reversals: strconv.FormatInt(t.Reversals, 10), Reversed: tr.Money(t.Reversed, cur), Net: tr.Money(t.Net, cur)}
	}
	for _, t := range sum.Totals {
		v.Totals = append(v.Totals, totals(t.Currency, t.Totals))
	}
	perDay := map[string]recauda.DayCount{}
	for _, g := range sum.Groups {
		v.Groups = append(v.Groups, reconGroupView{Day: g.Day, Method: g.PaymentMethod, reconTotalsView: totals(g.Currency, g.Totals)})
		dc := perDay[g.Day]
		dc.Sent += g.Payments
		dc.Paid += g.Reversals
		perDay[g.Day] = dc
	}
	var days []recauda.DayCount
	for day := q.From; !day.After(q.To); day = day.AddDate(0, 0, 1) {
		dc := perDay[day.Format(time.DateOnly)]
		dc.Day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, models.Bogota)
		days = append(days, dc)
	}
	v.Chart = newChartOf(tr, chartWords{"recon-chart", "recon_chart_title", "recon_chart_desc", "recon_payments", "recon_reversals"}, days)
	for _, p := range rows {
		pv := reconPaymentView{
			Time: tr.When(&p.At), Kind: tr.T("recon_kind_" + p.Kind), TransactionID: p.TransactionID, Ref: p.RefPayment,
			IDNumber: p.IDNumber, Payer: p.PayerName, Amount: tr.Money(p.Amount, p.Currency), Method: p.PaymentMethod,
			State: tr.Label("status", p.StatusAfter), Reversal: p.Kind == report.KindReversal, ByReceipt: p.DatedBy == report.DatedByReceipt,
		}
		if p.Derived() {
			pv.ERPRef = p.ERPRef
		}
		v.Payments = append(v.Payments, pv)
	}
	labels := map[string]string{report.FormatCSV: "CSV", report.FormatCSVExcel: "CSV (Excel)", report.FormatXLSX: "XLSX", report.FormatAsobancaria: "Asobancaria 2001"}
	for _, f := range report.Formats {
		if svc.CheckFormat(f) != nil {
			continue // the Asobancaria file without its settings
		}
		qs := url.Values{"from": {v.From}, "to": {v.To}, "format": {f}}
		v.Downloads = append(v.Downloads, reconDownload{Label: labels[f], URL: dashPrefix + "/reconciliation/export?" + qs.Encode()})
	}
	return v
}

// reconciliationExport answers GET /admin/reconciliation/export: the file
// of a range, as the admin API's export writes it.
func (h *dashboard) reconciliationExport(c echo.Context) error {
	format := c.QueryParam("format")
	from, errF := time.Parse(time.DateOnly, c.QueryParam("from"))
	to, errT := time.Parse(time.DateOnly, c.QueryParam("to"))
	if !slices.Contains(report.Formats, format) || errF != nil || errT != nil || to.Before(from) || h.report.CheckFormat(format) != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	q := report.Query{From: from, To: to}
	return request.Attachment(c, report.ContentType(format), report.FileName(format, q), func(w *echo.Response) error {
		return h.report.Export(c.Request().Context(), w, format, q)
	})
}
