// Package admin is the operator's JSON API under /admin/api: charges,
// held-back records, webhooks, write-backs and the local ledger, behind a
// bearer token.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/request"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/web"
)

// The operator's admin API under /admin/api: JSON everywhere, bearer token,
// the one error shape. Money travels as exact decimal strings with at least
// two decimals ("150000.50"); times as RFC 3339 in UTC, null when absent.

const adminPrefix = "/admin/api"

// Pagination bounds of every admin list.
const (
	defaultPerPage = 50
	maxPerPage     = 200
)

// Config is what the admin API needs, built by the server.
type Config struct {
	Recauda *recauda.Service
	// AdminToken is the bearer token; empty turns the API off (503).
	AdminToken string
	// Credentials counts failed tokens per client, with every other
	// credential the server checks.
	Credentials *throttle.Credentials
	// Pages renders the printable receipt.
	Pages *web.Pages
}

type adminHandler struct {
	svc   *recauda.Service
	pages *web.Pages
}

// Register mounts the admin API. Without Config.AdminToken every admin
// route answers 503 admin_disabled.
func Register(e *echo.Echo, cfg Config) {
	h := &adminHandler{svc: cfg.Recauda, pages: cfg.Pages}
	// A ref_payment holding "/" (sent as %2F) stays one path segment.
	e.Pre(request.EscapedPaths(adminPrefix + "/"))
	g := e.Group(adminPrefix, adminAuth(cfg.AdminToken, cfg.Credentials))
	g.GET("/charges", h.listCharges)
	g.GET("/charges/:ref", h.getCharge)
	g.POST("/charges/:ref/release", h.release)
	g.POST("/charges/:ref/deactivate", h.deactivate)
	g.POST("/charges/:ref/activate", h.activate)
	g.GET("/charges/:ref/receipt", h.receipt)
	g.GET("/rejections", h.listRejections)
	g.GET("/webhooks", h.listWebhooks)
	g.GET("/webhooks/:id", h.getWebhook)
	g.GET("/writebacks", h.listWritebacks)
	g.POST("/writebacks/:id/retry", h.retryWriteback)
	g.POST("/writebacks/:id/cancel", h.cancelWriteback)
	registerLedger(g, cfg.Recauda)
}

// adminAuth checks the bearer token in constant time. Both sides are hashed
// first, so that neither the comparison nor its length leaks the token's.
func adminAuth(token string, guard *throttle.Credentials) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token == "" {
				return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "admin_disabled",
					Message: "ADMIN_TOKEN is not configured; the admin API is off"}
			}
			if err := guard.Allow(c, throttle.CredentialAdminAPI); err != nil {
				return err
			}
			scheme, cred, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				guard.Failed(c, throttle.CredentialAdminAPI)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="recauda-bridge admin"`)
				return &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
					Message: "missing or wrong credentials: send Authorization: Bearer <ADMIN_TOKEN>"}
			}
			return next(c)
		}
	}
}

// listCharges answers GET /admin/api/charges.
func (h *adminHandler) listCharges(c echo.Context) error {
	p := newParams(c, "status", "id_number", "ref_payment", "from", "to", "page", "per_page")
	q := recauda.ChargeQuery{
		Status: p.oneOf("status", models.Statuses), IDNumber: p.idNumber("id_number"), RefPayment: p.ref("ref_payment"),
		From: p.date("from"), To: p.date("to"),
	}
	q.Page, q.PerPage = p.pagination()
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		p.fail("from", "not_after_to", "from must be on or before to")
	}
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := h.svc.Charges(c.Request().Context(), q)
	if err != nil {
		return err
	}
	today := h.svc.Today()
	return c.JSON(http.StatusOK, newPage(rows, func(r models.ChargeRow) chargeDTO { return chargeFromRow(r, today) }, q.Page, q.PerPage, total))
}

// getCharge answers GET /admin/api/charges/{ref_payment}.
func (h *adminHandler) getCharge(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Charge(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeDetailFrom(d, h.svc.Today()))
}

func (h *adminHandler) release(c echo.Context) error    { return h.operate(c, h.svc.ReleaseCharge) }
func (h *adminHandler) deactivate(c echo.Context) error { return h.operate(c, h.svc.DeactivateCharge) }
func (h *adminHandler) activate(c echo.Context) error   { return h.operate(c, h.svc.ActivateCharge) }

// operate answers POST /admin/api/charges/{ref_payment}/{action}.
func (h *adminHandler) operate(c echo.Context, action func(ctx context.Context, ref string) (models.ChargeRow, error)) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	row, err := action(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, chargeFromRow(row, h.svc.Today()))
}

// receipt answers GET /admin/api/charges/{ref_payment}/receipt: JSON, or a
// printable page for a client that prefers text/html, in the language of
// ?lang= or else of Accept-Language.
func (h *adminHandler) receipt(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Receipt(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	c.Response().Header().Add(echo.HeaderVary, echo.HeaderAccept)
	dto := receiptFrom(r)
	if !prefersHTML(c.Request().Header.Get(echo.HeaderAccept)) {
		return c.JSON(http.StatusOK, dto)
	}
	lang := c.QueryParam("lang")
	if !locale.Supported(lang) {
		lang = locale.Accept(c.Request().Header.Get("Accept-Language"))
	}
	var b strings.Builder
	if err := h.pages.Receipt(&b, locale.For(lang), web.NewReceiptView(r)); err != nil {
		return err
	}
	return c.HTML(http.StatusOK, b.String())
}

// listRejections answers GET /admin/api/rejections.
func (h *adminHandler) listRejections(c echo.Context) error {
	p := newParams(c, "id_number", "ref_payment", "rule", "page", "per_page")
	f := recauda.RejectionFilter{IDNumber: p.idNumber("id_number"), RefPayment: p.ref("ref_payment"), Rule: p.ruleID("rule")}
	f.Page, f.PerPage = p.pagination()
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := h.svc.Rejections(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, rejectionFrom, f.Page, f.PerPage, total))
}

// listWebhooks answers GET /admin/api/webhooks.
func (h *adminHandler) listWebhooks(c echo.Context) error {
	p := newParams(c, "outcome", "page", "per_page")
	f := recauda.WebhookEventFilter{Outcome: p.oneOf("outcome", models.WebhookOutcomes)}
	f.Page, f.PerPage = p.pagination()
	if err := p.err(); err != nil {
		return err
	}
	rows, total, err := h.svc.WebhookEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, webhookFrom, f.Page, f.PerPage, total))
}

// getWebhook answers GET /admin/api/webhooks/{id}, with the raw body.
func (h *adminHandler) getWebhook(c echo.Context) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	ev, err := h.svc.WebhookEvent(c.Request().Context(), id)
	if err != nil {
		return err
	}
	dto := webhookFrom(ev)
	dto.Body = &ev.Body
	if ev.BodyRaw != nil {
		raw := base64.StdEncoding.EncodeToString(ev.BodyRaw)
		dto.BodyBase64 = &raw
	}
	return c.JSON(http.StatusOK, dto)
}

// listWritebacks answers GET /admin/api/writebacks.
func (h *adminHandler) listWritebacks(c echo.Context) error {
	p := newParams(c, "state", "page", "per_page")
	f := recauda.WritebackFilter{State: p.oneOf("state", models.WritebackStates)}
	f.Page, f.PerPage = p.pagination()
	if err := p.err(); err != nil {
		return err
	}
	jobs, total, err := h.svc.Writebacks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(jobs, writebackFrom, f.Page, f.PerPage, total))
}

func (h *adminHandler) retryWriteback(c echo.Context) error {
	return h.writebackAction(c, h.svc.RetryWriteback)
}

func (h *adminHandler) cancelWriteback(c echo.Context) error {
	return h.writebackAction(c, h.svc.CancelWriteback)
}

// writebackAction answers POST /admin/api/writebacks/{id}/{retry,cancel}.
func (h *adminHandler) writebackAction(c echo.Context, action func(ctx context.Context, id int64) (recauda.Writeback, error)) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	w, err := action(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, writebackFrom(w))
}

// --- parameters -------------------------------------------------------------

// params reads query parameters, collecting every problem so that one
// answer names them all. An empty value counts as absent.
type params struct {
	values  url.Values
	details []httperr.Detail
}

func newParams(c echo.Context, known ...string) *params {
	p := &params{}
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		p.fail("query", "query_syntax", "the query string could not be parsed")
		return p
	}
	p.values = values
	for _, name := range slices.Sorted(maps.Keys(values)) {
		switch {
		case !slices.Contains(known, name):
			p.fail(name, "unknown", "is not a parameter of this endpoint; known: "+strings.Join(known, ", "))
		case len(values[name]) > 1:
			p.fail(name, "single_value", "must be given at most once")
		}
	}
	return p
}

func (p *params) fail(field, rule, message string) {
	p.details = append(p.details, httperr.Detail{Field: field, Rule: rule, Message: message})
}

func (p *params) err() error {
	if len(p.details) == 0 {
		return nil
	}
	return httperr.InvalidParameter(p.details...)
}

func (p *params) get(name string) string { return p.values.Get(name) }

func (p *params) oneOf(name string, allowed []string) string {
	v := p.get(name)
	if v != "" && !slices.Contains(allowed, v) {
		p.fail(name, "one_of", "must be one of "+strings.Join(allowed, ", "))
		return ""
	}
	return v
}

func (p *params) idNumber(name string) string {
	v := p.get(name)
	if v != "" && recauda.ValidateIDNumber(v) != nil {
		p.fail(name, "digits_5_20", "must be 5 to 20 ASCII digits")
		return ""
	}
	return v
}

func (p *params) ref(name string) string {
	v := p.get(name)
	if len([]rune(v)) > request.MaxRefLength {
		p.fail(name, "max_length", "must be at most 191 characters")
		return ""
	}
	return v
}

// ruleID is a validation rule id: lower-case ASCII letters, digits and _.
func (p *params) ruleID(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	if !request.ValidRuleID(v) {
		p.fail(name, "rule_id", "must be a rule id: 1 to 64 of a-z, 0-9 and _")
		return ""
	}
	return v
}

// date reads a calendar day, YYYY-MM-DD.
func (p *params) date(name string) time.Time {
	v := p.get(name)
	if v == "" {
		return time.Time{}
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		p.fail(name, "date", "must be a calendar date YYYY-MM-DD")
		return time.Time{}
	}
	return d
}

// pagination reads page (≥ 1, default 1) and per_page (1..200, default 50).
func (p *params) pagination() (page, perPage int) {
	return p.intIn("page", 1, request.MaxPage, 1), p.intIn("per_page", 1, maxPerPage, defaultPerPage)
}

func (p *params) intIn(name string, lo, hi, def int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, "range", fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

// prefersHTML reports whether an Accept header ranks text/html above JSON.
// Without a preference the answer is JSON.
func prefersHTML(accept string) bool {
	html, js := acceptQuality(accept, "text", "html"), acceptQuality(accept, "application", "json")
	return html > 0 && html > js
}

// acceptQuality is the q of the most specific media range of accept that
// matches typ/sub: 1 when accept is empty, 0 when nothing matches.
func acceptQuality(accept, typ, sub string) float64 {
	if strings.TrimSpace(accept) == "" {
		return 1
	}
	best, bestSpec := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		mt, prms, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		t, s, _ := strings.Cut(mt, "/")
		spec := -1
		switch {
		case t == typ && s == sub:
			spec = 2
		case t == typ && s == "*":
			spec = 1
		case t == "*" && s == "*":
			spec = 0
		}
		if spec <= bestSpec {
			continue
		}
		q := 1.0
		if qs, ok := prms["q"]; ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		best, bestSpec = q, spec
	}
	return best
}

// --- DTOs -----------------------------------------------------------------

// pageDTO is one page of a list.
type pageDTO[T any] struct {
	Items   []T   `json:"items"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
}

func newPage[S, T any](rows []S, conv func(S) T, page, perPage int, total int64) pageDTO[T] {
	items := make([]T, len(rows))
	for i, r := range rows {
		items[i] = conv(r)
	}
	return pageDTO[T]{Items: items, Page: page, PerPage: perPage, Total: total}
}

// chargeDTO is a charge as the admin API shows it.
type chargeDTO struct {
	RefPayment     string  `json:"ref_payment"`
	IDNumber       string  `json:"id_number"`
	PayerName      string  `json:"payer_name"`
	Description    string  `json:"description"`
	Status         string  `json:"status"`
	Amount         string  `json:"amount"`
	CurrencyType   string  `json:"currency_type"`
	PaidAmount     string  `json:"paid_amount"`
	Balance        string  `json:"balance"`
	SendCount      int     `json:"send_count"`
	FirstSentAt    *string `json:"first_sent_at"`
	LastSentAt     *string `json:"last_sent_at"`
	PaidAt         *string `json:"paid_at"`
	TransactionID  *string `json:"transaction_id"`
	ParentRef      *string `json:"parent_ref"`
	DueDate        *string `json:"due_date"`
	Overdue        bool    `json:"overdue"`
	OfferedAgainAt *string `json:"offered_again_at"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

// chargeFromRow is r as the admin API shows it on today (Bogota).
func chargeFromRow(r models.ChargeRow, today string) chargeDTO {
	return chargeDTO{
		RefPayment: r.RefPayment, IDNumber: r.IDNumber, PayerName: r.PayerName, Description: r.Description,
		Status: r.Status, Amount: money(r.Amount), CurrencyType: r.CurrencyType, PaidAmount: money(r.PaidAmount),
		Balance: money(r.Amount.Sub(r.PaidAmount)), SendCount: r.SendCount,
		FirstSentAt: timestampOrNil(r.FirstSentAt), LastSentAt: timestampOrNil(r.LastSentAt), PaidAt: timestampOrNil(r.PaidAt),
		TransactionID: stringOrNil(r.TransactionID), ParentRef: stringOrNil(r.ParentRef),
		DueDate: stringOrNil(r.DueDate), Overdue: recauda.ChargeOverdue(r, today),
		OfferedAgainAt: timestampOrNil(recauda.OfferedAgainAt(r)), CreatedAt: timestamp(r.CreatedAt), UpdatedAt: timestamp(r.UpdatedAt),
	}
}

// chargeDetailDTO is a charge with its timeline, webhooks and write-backs.
type chargeDetailDTO struct {
	chargeDTO
	Timeline   []eventDTO     `json:"timeline"`
	Webhooks   []webhookDTO   `json:"webhooks"`
	Writebacks []writebackDTO `json:"writebacks"`
}

func chargeDetailFrom(d recauda.ChargeDetail, today string) chargeDetailDTO {
	out := chargeDetailDTO{chargeDTO: chargeFromRow(d.Charge, today),
		Timeline: make([]eventDTO, len(d.Events)), Webhooks: make([]webhookDTO, len(d.Webhooks)), Writebacks: make([]writebackDTO, len(d.Writebacks))}
	for i, ev := range d.Events {
		out.Timeline[i] = eventFrom(ev)
	}
	for i, w := range d.Webhooks {
		out.Webhooks[i] = webhookFrom(w)
	}
	for i, w := range d.Writebacks {
		out.Writebacks[i] = writebackFrom(recauda.NewWriteback(w))
	}
	return out
}

// eventDTO is one entry of a charge's timeline.
type eventDTO struct {
	Kind       string  `json:"kind"`
	FromStatus *string `json:"from_status"`
	ToStatus   *string `json:"to_status"`
	Detail     string  `json:"detail"`
	At         string  `json:"at"`
}

func eventFrom(r models.ChargeEventRow) eventDTO {
	return eventDTO{Kind: r.Kind, FromStatus: stringOrNil(r.FromStatus), ToStatus: stringOrNil(r.ToStatus), Detail: r.Detail, At: timestamp(r.CreatedAt)}
}

// webhookDTO is a stored webhook event; Body only in the single-event answer.
type webhookDTO struct {
	ID            int64   `json:"id"`
	ReceivedAt    string  `json:"received_at"`
	TransactionID *string `json:"transaction_id"`
	Status        *string `json:"status"`
	Amount        *string `json:"amount"`
	CurrencyType  *string `json:"currency_type"`
	PaymentMethod *string `json:"payment_method"`
	Production    bool    `json:"production"`
	RefPayment    *string `json:"ref_payment"`
	Outcome       string  `json:"outcome"`
	Detail        string  `json:"detail"`
	Body          *string `json:"body,omitempty"`
	// BodyBase64 is the exact body when no text can hold it (Body is then
	// a readable copy).
	BodyBase64 *string `json:"body_base64,omitempty"`
}

func webhookFrom(r models.WebhookEventRow) webhookDTO {
	var amount *string
	if d, err := decimal.NewFromString(r.Amount); err == nil {
		s := money(d)
		amount = &s
	}
	return webhookDTO{
		ID: r.ID, ReceivedAt: timestamp(r.ReceivedAt), TransactionID: stringOrNil(r.TransactionID), Status: stringOrNil(r.Status),
		Amount: amount, CurrencyType: stringOrNil(r.CurrencyType), PaymentMethod: stringOrNil(r.PaymentMethod),
		Production: r.Production, RefPayment: stringOrNil(r.RefPayment), Outcome: r.Outcome, Detail: r.Detail,
	}
}

// writebackDTO is a write-back job with the payment it delivers.
type writebackDTO struct {
	ID            int64   `json:"id"`
	RefPayment    string  `json:"ref_payment"`
	ERPRef        *string `json:"erp_ref_payment"`
	TransactionID string  `json:"transaction_id"`
	Kind          string  `json:"kind"`
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt string  `json:"next_attempt_at"`
	LastError     *string `json:"last_error"`
	Amount        *string `json:"amount"`
	CurrencyType  *string `json:"currency_type"`
	PaymentStatus *string `json:"payment_status"`
	CreatedAt     string  `json:"created_at"`
	UpdatedAt     string  `json:"updated_at"`
	DoneAt        *string `json:"done_at"`
}

func writebackFrom(w recauda.Writeback) writebackDTO {
	out := writebackDTO{
		ID: w.ID, RefPayment: w.RefPayment, TransactionID: w.TransactionID, Kind: w.Kind, State: w.State, Attempts: w.Attempts,
		NextAttemptAt: timestamp(w.NextAttemptAt), LastError: stringOrNil(w.LastError),
		CreatedAt: timestamp(w.CreatedAt), UpdatedAt: timestamp(w.UpdatedAt), DoneAt: timestampOrNil(w.DoneAt),
	}
	if w.Readable {
		amount := money(w.Delivery.Amount)
		out.ERPRef, out.Amount = stringOrNil(w.Delivery.RefPayment), &amount
		out.CurrencyType, out.PaymentStatus = stringOrNil(w.Delivery.Currency), stringOrNil(w.Delivery.Status)
	}
	return out
}

// rejectionDTO is a held-back record.
type rejectionDTO struct {
	RefPayment  string           `json:"ref_payment"`
	IDNumber    string           `json:"id_number"`
	Violations  []httperr.Detail `json:"violations"`
	FirstSeenAt string           `json:"first_seen_at"`
	LastSeenAt  string           `json:"last_seen_at"`
	SeenCount   int              `json:"seen_count"`
}

func rejectionFrom(r recauda.Rejection) rejectionDTO {
	vs := make([]httperr.Detail, len(r.Violations))
	for i, v := range r.Violations {
		vs[i] = httperr.Detail{Field: v.Field, Rule: v.Rule, Message: v.Message}
	}
	return rejectionDTO{RefPayment: r.RefPayment, IDNumber: r.IDNumber, Violations: vs,
		FirstSeenAt: timestamp(r.FirstSeenAt), LastSeenAt: timestamp(r.LastSeenAt), SeenCount: r.SeenCount}
}

// receiptDTO is the JSON receipt of a paid charge.
type receiptDTO struct {
	RefPayment    string   `json:"ref_payment"`
	PayerName     string   `json:"payer_name"`
	IDNumber      string   `json:"id_number"`
	Description   string   `json:"description"`
	Status        string   `json:"status"`
	Amount        string   `json:"amount"`
	PaidAmount    string   `json:"paid_amount"`
	Balance       string   `json:"balance"`
	CurrencyType  string   `json:"currency_type"`
	PaidAt        *string  `json:"paid_at"`
	TransactionID *string  `json:"transaction_id"`
	PaymentMethod *string  `json:"payment_method"`
	References    []string `json:"references"`
}

func receiptFrom(r recauda.Receipt) receiptDTO {
	c := r.Charge
	return receiptDTO{
		RefPayment: c.RefPayment, PayerName: c.PayerName, IDNumber: c.IDNumber, Description: c.Description, Status: c.Status,
		Amount: money(c.Amount), PaidAmount: money(c.PaidAmount), Balance: money(c.Amount.Sub(c.PaidAmount)),
		CurrencyType: c.CurrencyType, PaidAt: timestampOrNil(c.PaidAt), TransactionID: stringOrNil(c.TransactionID),
		PaymentMethod: stringOrNil(r.PaymentMethod), References: r.References,
	}
}

// money is an exact decimal string with at least two decimals: "150000.50",
// "3450000.00"; more decimals only when the value has them.
func money(d decimal.Decimal) string {
	if d.Equal(d.Truncate(2)) {
		return d.StringFixed(2)
	}
	return d.String()
}

// timestamp is t in RFC 3339, UTC, to the second.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timestampOrNil(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := timestamp(*t)
	return &s
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
