package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/request"
	"recauda-bridge/models"
	"recauda-bridge/report"
)

// The payments report under /admin/api/payments, and format=csv on the
// other lists.

type paymentsHandler struct {
	svc *report.Service
}

// registerPayments mounts the report's routes on the admin group.
func registerPayments(g *echo.Group, svc *report.Service) {
	h := &paymentsHandler{svc: svc}
	g.GET("/payments", h.list)
	g.GET("/payments/summary", h.summary)
	g.GET("/payments/export", h.export)
}

// paymentFilters are the parameters every payments route reads.
var paymentFilters = []string{"from", "to", "currency_type", "payment_method", "id_number", "ref_payment"}

// paymentQuery reads the filters of p into a report query.
func paymentQuery(p *params) report.Query {
	q := report.Query{
		From: p.date("from"), To: p.date("to"), Currency: p.oneOf("currency_type", models.Currencies),
		PaymentMethod: p.text("payment_method", 64), IDNumber: p.idNumber("id_number"), RefPayment: p.ref("ref_payment"),
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		p.fail("from", "not_after_to", "from must be on or before to")
	}
	return q
}

// text reads free text of at most max characters.
func (p *params) text(name string, max int) string {
	v := p.get(name)
	if len([]rune(v)) > max {
		p.fail(name, "max_length", fmt.Sprintf("must be at most %d characters", max))
		return ""
	}
	return v
}

// list answers GET /admin/api/payments.
func (h *paymentsHandler) list(c echo.Context) error {
	p := newParams(c, append(paymentFilters, "page", "per_page")...)
	q := paymentQuery(p)
	page, perPage := p.pagination()
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := h.svc.Page(c.Request().Context(), q, page, perPage)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, paymentFrom, page, perPage, total))
}

// summary answers GET /admin/api/payments/summary.
func (h *paymentsHandler) summary(c echo.Context) error {
	p := newParams(c, paymentFilters...)
	q := paymentQuery(p)
	if err := p.err(); err != nil {
		return err
	}
	s, err := h.svc.Summary(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, summaryFrom(q, s))
}

// export answers GET /admin/api/payments/export: the file is streamed, so
// everything that can be refused is refused before its first byte.
func (h *paymentsHandler) export(c echo.Context) error {
	p := newParams(c, append(paymentFilters, "format")...)
	q := paymentQuery(p)
	format := p.oneOf("format", report.Formats)
	if format == "" && p.get("format") == "" {
		p.fail("format", "required", "is required: one of "+strings.Join(report.Formats, ", "))
	}
	if err := p.err(); err != nil {
		return err
	}
	if err := h.svc.CheckFormat(format); err != nil {
		return httperr.InvalidParameter(httperr.Detail{Field: "format", Rule: "configured", Message: err.Error()})
	}
	return request.Attachment(c, report.ContentType(format), report.FileName(format, q), func(w *echo.Response) error {
		return h.svc.Export(c.Request().Context(), w, format, q)
	})
}

// paymentDTO is a payment as the admin API shows it.
type paymentDTO struct {
	EventID        int64   `json:"event_id"`
	Kind           string  `json:"kind"`
	Day            string  `json:"day"`
	ApprovedAt     string  `json:"approved_at"`
	DatedBy        string  `json:"dated_by"`
	TransactionID  string  `json:"transaction_id"`
	RefPayment     string  `json:"ref_payment"`
	ERPRefPayment  string  `json:"erp_ref_payment"`
	Derived        bool    `json:"derived"`
	IDNumber       string  `json:"id_number"`
	PayerName      string  `json:"payer_name"`
	Amount         string  `json:"amount"`
	CurrencyType   string  `json:"currency_type"`
	ValueCOP       *string `json:"value_cop"`
	PaymentMethod  string  `json:"payment_method"`
	PaymentSource  string  `json:"payment_method_source"`
	EfipayStatus   string  `json:"efipay_status"`
	StatusAfter    string  `json:"status_after"`
	WritebackState *string `json:"writeback_state"`
	ReceivedAt     string  `json:"received_at"`
}

func paymentFrom(p report.Payment) paymentDTO {
	d := paymentDTO{
		EventID: p.EventID, Kind: p.Kind, Day: p.Day, ApprovedAt: timestamp(p.At), DatedBy: p.DatedBy,
		TransactionID: p.TransactionID, RefPayment: p.RefPayment, ERPRefPayment: p.ERPRef, Derived: p.Derived(),
		IDNumber: p.IDNumber, PayerName: p.PayerName, Amount: report.Money(p.Amount), CurrencyType: p.Currency,
		PaymentMethod: p.PaymentMethod, PaymentSource: p.PaymentSource, EfipayStatus: p.EfipayStatus,
		StatusAfter: p.StatusAfter, WritebackState: stringOrNil(p.WritebackState), ReceivedAt: timestamp(p.ReceivedAt),
	}
	if p.ValueCOP != nil {
		v := report.Money(*p.ValueCOP)
		d.ValueCOP = &v
	}
	return d
}

// totalsDTO are exact sums of a set of payments.
type totalsDTO struct {
	Payments  int64  `json:"payments"`
	Collected string `json:"collected"`
	Reversals int64  `json:"reversals"`
	Reversed  string `json:"reversed"`
	Net       string `json:"net"`
	ValueCOP  string `json:"value_cop"`
}

func totalsFrom(t report.Totals) totalsDTO {
	return totalsDTO{Payments: t.Payments, Collected: report.Money(t.Collected), Reversals: t.Reversals,
		Reversed: report.Money(t.Reversed), Net: report.Money(t.Net), ValueCOP: report.Money(t.ValueCOP)}
}

type groupDTO struct {
	Day           string `json:"day"`
	CurrencyType  string `json:"currency_type"`
	PaymentMethod string `json:"payment_method"`
	totalsDTO
}

type currencyTotalsDTO struct {
	CurrencyType string `json:"currency_type"`
	totalsDTO
}

type summaryDTO struct {
	From     *string             `json:"from"`
	To       *string             `json:"to"`
	Groups   []groupDTO          `json:"groups"`
	Totals   []currencyTotalsDTO `json:"totals"`
	ValueCOP string              `json:"value_cop"`
}

func summaryFrom(q report.Query, s report.Summary) summaryDTO {
	day := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		d := t.Format(time.DateOnly)
		return &d
	}
	out := summaryDTO{From: day(q.From), To: day(q.To), Groups: make([]groupDTO, len(s.Groups)),
		Totals: make([]currencyTotalsDTO, len(s.Totals)), ValueCOP: report.Money(s.ValueCOP)}
	for i, g := range s.Groups {
		out.Groups[i] = groupDTO{Day: g.Day, CurrencyType: g.Currency, PaymentMethod: g.PaymentMethod, totalsDTO: totalsFrom(g.Totals)}
	}
	for i, t := range s.Totals {
		out.Totals[i] = currencyTotalsDTO{CurrencyType: t.Currency, totalsDTO: totalsFrom(t.Totals)}
	}
	return out
}

// --- format=csv on the lists --------------------------------------------------

// csvPageSize is how many rows a CSV export of a list reads at a time.
const csvPageSize = 500

// listFormat reads format (json, the default, or csv) of a list.
func listFormat(p *params) string { return p.oneOf("format", []string{"json", "csv"}) }

// writeListCSV answers a list as one CSV file of every row its filters
// select, read a page at a time: rows become the DTO's JSON fields, text
// escaped against formulas as the payments export does.
func writeListCSV[S, T any](c echo.Context, name string, read func(ctx context.Context, page, perPage int) ([]S, int64, error), conv func(S) T) error {
	ctx := c.Request().Context()
	// The first page is read before answering, so that a failing database
	// is still an error answer.
	rows, total, err := read(ctx, 1, csvPageSize)
	if err != nil {
		return err
	}
	return request.Attachment(c, report.ContentType(report.FormatCSV), name+".csv", func(w *echo.Response) error {
		cw, err := report.NewCSVWriter(w, false)
		if err != nil {
			return err
		}
		var zero T
		if err := cw.Write(csvHeader(reflect.TypeOf(zero))); err != nil {
			return err
		}
		for page := 1; ; page++ {
			if page > 1 {
				if rows, _, err = read(ctx, page, csvPageSize); err != nil {
					return err
				}
			}
			for _, r := range rows {
				if err := cw.Write(csvCells(cw, reflect.ValueOf(conv(r)))); err != nil {
					return err
				}
			}
			if err := cw.Flush(); err != nil {
				return err
			}
			if int64(page)*csvPageSize >= total || len(rows) == 0 {
				return nil
			}
		}
	})
}

// csvFields are the exported fields of a DTO with a JSON name, in order;
// the raw body of a webhook (only in its detail) is not among them.
func csvFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" || strings.Contains(f.Tag.Get("json"), "omitempty") {
			continue
		}
		out = append(out, f)
	}
	return out
}

func csvHeader(t reflect.Type) []string {
	var h []string
	for _, f := range csvFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		h = append(h, name)
	}
	return h
}

// csvCells are v's fields as CSV cells: text escaped, numbers and bools as
// written, nil as empty, anything else (a list of violations) as its JSON.
func csvCells(cw *report.CSVWriter, v reflect.Value) []string {
	var cells []string
	for _, f := range csvFields(v.Type()) {
		fv := v.FieldByIndex(f.Index)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				cells = append(cells, "")
				continue
			}
			fv = fv.Elem()
		}
		switch fv.Kind() {
		case reflect.String:
			cells = append(cells, cw.Text(fv.String()))
		case reflect.Bool:
			cells = append(cells, strconv.FormatBool(fv.Bool()))
		case reflect.Int, reflect.Int64, reflect.Int32:
			cells = append(cells, strconv.FormatInt(fv.Int(), 10))
		default:
			b, err := jsonText(fv.Interface())
			if err != nil {
				b = ""
			}
			cells = append(cells, cw.Text(b))
		}
	}
	return cells
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
