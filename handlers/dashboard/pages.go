package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"recauda-bridge/handlers/request"
	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/web"
)

// The dashboard's pages: each handler reads its parameters leniently (a
// form sends empty fields; a bad value is ignored with a notice rather than
// refused), makes one call to the use cases and renders a view built from
// the answer. Views hold display strings only, formatted for the language.

// Page sizes of the dashboard's lists.
const (
	dashPerPage         = 25
	dashHeldBackShown   = 200
	dashWebhooksPerPage = 50
)

// Context keys for messages a handler hands to the layout.
const (
	ctxFlash   = "dashboard.flash"
	ctxProblem = "dashboard.problem"
)

// dashPage is what the layout renders around a page's Data, in the
// reader's language (T, Lang, Label, … of the embedded Locale).
type dashPage struct {
	*locale.Locale
	Title    string
	CSS      string
	Langs    []langLink
	SignedIn bool
	CSRF     string
	Nav      []navItem
	Flash    string
	Problem  string
	Data     any
}

// langLink is one language of the switch: the page again in it.
type langLink struct {
	Code, Label, URL string
	Current          bool
}

// tableData is what a table shared by several pages (webhooks, write-backs)
// gets: the page's words and CSRF token, its rows, and where its forms go
// back to.
type tableData struct {
	dashPage
	Rows any
	Next string
}

// Table hands rows to a shared table template.
func (p dashPage) Table(rows any, next string) tableData {
	return tableData{dashPage: p, Rows: rows, Next: next}
}

type navItem struct {
	Label, URL string
	Current    bool
}

// dashNav lists the sections; pages name the one they belong to.
var dashNav = []struct{ key, url, section string }{
	{"nav_overview", dashPrefix, "overview"},
	{"nav_charges", dashPrefix + "/charges", "charges"},
	{"nav_heldback", dashPrefix + "/held-back", "heldback"},
	{"nav_webhooks", dashPrefix + "/webhooks", "webhooks"},
	{"nav_writebacks", dashPrefix + "/writebacks", "writebacks"},
	{"nav_reconciliation", dashPrefix + "/reconciliation", "reconciliation"},
}

// pageSection is the section of each page.
var pageSection = map[string]string{
	"overview": "overview", "charges": "charges", "charge": "charges", "heldback": "heldback",
	"webhooks": "webhooks", "webhook": "webhooks", "writebacks": "writebacks", "reconciliation": "reconciliation",
}

// flashes are the outcomes an action may report through ?done= or ?failed=.
var flashes = []string{"release", "deactivate", "activate", "retry", "cancel"}

func (h *dashboard) tr(c echo.Context) *locale.Locale {
	lang, _ := c.Get(ctxLang).(string)
	return locale.For(lang)
}

// render writes page with data in the layout.
func (h *dashboard) render(c echo.Context, status int, page, title string, data any) error {
	tr := h.tr(c)
	p := dashPage{Locale: tr, Title: tr.T(title), CSS: h.cssURL, Data: data}
	if t, ok := c.Get(ctxTitle).(string); ok {
		p.Title = t
	}
	for _, lang := range locale.Langs() {
		u := *c.Request().URL
		q := url.Values{}
		if c.Request().Method == http.MethodGet {
			q = u.Query()
		}
		q.Set("lang", lang)
		u.RawQuery = q.Encode()
		p.Langs = append(p.Langs, langLink{Code: lang, Label: strings.ToUpper(lang), URL: u.RequestURI(), Current: lang == tr.Lang()})
	}
	if sess, ok := c.Get(ctxSession).(session); ok {
		p.SignedIn, p.CSRF = true, h.sessions.csrf(sess)
		for _, n := range dashNav {
			p.Nav = append(p.Nav, navItem{Label: tr.T(n.key), URL: n.url, Current: n.section == pageSection[page]})
		}
	}
	if done := c.QueryParam("done"); slices.Contains(flashes, done) {
		p.Flash = tr.T("done_" + done)
	}
	if failed := c.QueryParam("failed"); slices.Contains(flashes, failed) {
		p.Problem = tr.T("failed_" + failed)
	}
	if k, _ := c.Get(ctxFlash).(string); k != "" {
		p.Flash = tr.T(k)
	}
	if k, _ := c.Get(ctxProblem).(string); k != "" {
		p.Problem = tr.T(k)
	}
	var b bytes.Buffer
	if err := h.pages.Dashboard(&b, page, p); err != nil {
		return err
	}
	return c.HTMLBlob(status, b.Bytes())
}

// ctxTitle overrides a page's title with text already translated.
const ctxTitle = "dashboard.title"

// --- overview ---------------------------------------------------------------

type overviewView struct {
	Cards     []cardView
	Collected []string
	Chart     chartView
}

type cardView struct {
	Label, Value, Note, URL, Kind string
}

// overview answers GET /admin.
func (h *dashboard) overview(c echo.Context) error {
	o, err := h.svc.Overview(c.Request().Context())
	if err != nil {
		return err
	}
	tr := h.tr(c)
	return h.render(c, http.StatusOK, "overview", "overview_title", newOverviewView(tr, o))
}

func newOverviewView(tr *locale.Locale, o recauda.Overview) overviewView {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	list := func(status string) string { return dashPrefix + "/charges?status=" + status }
	s := o.ByStatus
	v := overviewView{Chart: newChart(tr, o.Days), Cards: []cardView{
		{Label: tr.T("card_offered"), Value: n(o.Offered), Note: tr.T("card_offered_note"), URL: dashPrefix + "/charges", Kind: "offered"},
		{Label: tr.T("card_sent"), Value: n(s[models.StatusSent]), URL: list(models.StatusSent), Kind: "sent"},
		{Label: tr.T("card_in_progress"), Value: n(s[models.StatusInProgress]), URL: list(models.StatusInProgress), Kind: "progress"},
		{Label: tr.T("card_paid"), Value: n(s[models.StatusPaid]), Note: tr.T("card_partial_note", locale.Params{"n": s[models.StatusPartiallyPaid]}),
			URL: list(models.StatusPaid), Kind: "paid"},
		{Label: tr.T("card_failed"), Value: n(s[models.StatusFailed]), Note: tr.T("card_reversed_note", locale.Params{"n": s[models.StatusReversed]}),
			URL: list(models.StatusFailed), Kind: "failed"},
		{Label: tr.T("card_inactive"), Value: n(s[models.StatusInactive]), URL: list(models.StatusInactive), Kind: "inactive"},
		{Label: tr.T("card_heldback"), Value: n(o.HeldBack), Note: tr.T("card_heldback_note"), URL: dashPrefix + "/held-back", Kind: "held"},
	}}
	if o.NeedsOperator > 0 {
		v.Cards = append(v.Cards, cardView{Label: tr.T("card_needs_operator"), Value: n(o.NeedsOperator), Note: tr.T("card_needs_operator_note"),
			URL: dashPrefix + "/writebacks?state=" + models.WritebackNeedsOperator, Kind: "operator"})
	}
	for _, a := range o.Collected {
		v.Collected = append(v.Collected, tr.Money(a.Amount, a.Currency))
	}
	return v
}

// --- charges ----------------------------------------------------------------

type chargesView struct {
	Q, Status, From, To string
	States              []optionView
	Heading             string
	Notices             []string
	Rows                []chargeRowView
	Pager               pagerView
}

type optionView struct {
	Value, Label string
	Selected     bool
}

type chargeRowView struct {
	Ref, URL, IDNumber, Payer, Description, Amount, Status, StatusLabel, Updated string
	// DueDate is the ERP's due date ("—" when none); Overdue marks a debt
	// still owed past it.
	DueDate string
	Overdue bool
}

type pagerView struct {
	Total, Label, Aria, Prev, Next string
	PrevURL, NextURL               string
	Show                           bool
}

// charges answers GET /admin/charges: search by ID number or ref, filter by
// state and days of last activity, one page.
func (h *dashboard) charges(c echo.Context) error {
	tr := h.tr(c)
	v, q := h.chargesQuery(c, tr)
	rows, total, err := h.searchCharges(c.Request().Context(), v.Q, &q)
	if err != nil {
		return err
	}
	switch {
	case q.IDNumber != "":
		v.Heading = tr.T("results_id", locale.Params{"id_number": q.IDNumber})
	case q.RefPayment != "":
		v.Heading = tr.T("results_ref", locale.Params{"ref": q.RefPayment})
	}
	today := h.svc.Today()
	for _, r := range rows {
		v.Rows = append(v.Rows, newChargeRow(tr, r, today))
	}
	v.Pager = newPager(tr, c, q.Page, dashPerPage, total)
	return h.render(c, http.StatusOK, "charges", "charges_title", v)
}

// chargesQuery reads the charges page's form.
func (h *dashboard) chargesQuery(c echo.Context, tr *locale.Locale) (chargesView, recauda.ChargeQuery) {
	v := chargesView{Q: strings.TrimSpace(c.QueryParam("q")), Status: c.QueryParam("status"), From: c.QueryParam("from"), To: c.QueryParam("to")}
	if !slices.Contains(models.Statuses, v.Status) {
		v.Status = ""
	}
	if len([]rune(v.Q)) > request.MaxRefLength {
		v.Q = string([]rune(v.Q)[:request.MaxRefLength])
	}
	q := recauda.ChargeQuery{Status: v.Status, Page: pageParam(c), PerPage: dashPerPage}
	day := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			v.Notices = append(v.Notices, tr.T("bad_date", locale.Params{"field": tr.T(field)}))
		}
		return d
	}
	q.From, q.To = day("from", v.From), day("to", v.To)
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		v.Notices = append(v.Notices, tr.T("bad_range"))
		q.From, q.To = time.Time{}, time.Time{}
	}
	v.States = []optionView{{Value: "", Label: tr.T("all_states"), Selected: v.Status == ""}}
	for _, s := range models.Statuses {
		v.States = append(v.States, optionView{Value: s, Label: tr.Label("status", s), Selected: s == v.Status})
	}
	return v, q
}

// searchCharges looks term up as an ID number when it is one, and as a
// ref_payment otherwise or when no charge has that ID number (a ref may be
// all digits too).
func (h *dashboard) searchCharges(ctx context.Context, term string, q *recauda.ChargeQuery) ([]models.TrackedCharge, int64, error) {
	if term != "" && recauda.ValidateIDNumber(term) == nil {
		q.IDNumber = term
		rows, total, err := h.svc.Charges(ctx, *q)
		if err != nil || total > 0 {
			return rows, total, err
		}
		q.IDNumber = ""
	}
	q.RefPayment = term
	return h.svc.Charges(ctx, *q)
}

func newChargeRow(tr *locale.Locale, r models.TrackedCharge, today string) chargeRowView {
	due := r.DueDate
	if due == "" {
		due = "—"
	}
	return chargeRowView{
		DueDate: due, Overdue: recauda.ChargeOverdue(r, today),
		Ref: r.RefPayment, URL: chargeURL(r.RefPayment), IDNumber: r.IDNumber, Payer: r.PayerName, Description: r.Description,
		Amount: tr.Money(r.Amount, r.CurrencyType), Status: r.Status, StatusLabel: tr.Label("status", r.Status),
		Updated: tr.When(&r.UpdatedAt),
	}
}

func chargeURL(ref string) string { return dashPrefix + "/charges/" + url.PathEscape(ref) }

// pageParam is the page number asked for: 1 unless a number from 1 to
// request.MaxPage.
func pageParam(c echo.Context) int {
	n, err := strconv.Atoi(c.QueryParam("page"))
	if err != nil || n < 1 || n > request.MaxPage {
		return 1
	}
	return n
}

// newPager links the pages before and after page, keeping the other
// parameters of the request.
func newPager(tr *locale.Locale, c echo.Context, page, perPage int, total int64) pagerView {
	pages := int((total + int64(perPage) - 1) / int64(perPage))
	v := pagerView{Total: tr.T("total", locale.Params{"n": total}), Label: tr.T("page_of", locale.Params{"page": page, "pages": max(pages, 1)}),
		Aria: tr.T("pagination"), Prev: tr.T("previous"), Next: tr.T("next"), Show: pages > 1 || page > 1}
	link := func(p int) string {
		u := *c.Request().URL
		q := u.Query()
		q.Del("done")
		q.Del("failed")
		q.Del("lang")
		q.Set("page", strconv.Itoa(p))
		u.RawQuery = q.Encode()
		return u.RequestURI()
	}
	if page > 1 {
		v.PrevURL = link(min(page-1, max(pages, 1)))
	}
	if page < pages {
		v.NextURL = link(page + 1)
	}
	return v
}

// --- one charge -------------------------------------------------------------

type chargeView struct {
	chargeRowView
	Paid, Balance                                      string
	SendCount                                          int
	FirstSent, LastSent, OfferedAgain, PaidAt, Created string
	TransactionID, ParentRef, ParentURL, ReceiptURL    string
	Actions                                            []actionView
	Timeline                                           []eventView
	Webhooks                                           []webhookRowView
	Writebacks                                         []writebackRowView
	WritebacksNext                                     string
}

type actionView struct {
	Name, Label, Help, URL string
}

type eventView struct {
	When, Label, Change, Detail string
}

// charge answers GET /admin/charges/{ref}.
func (h *dashboard) charge(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Charge(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	tr := h.tr(c)
	c.Set(ctxTitle, tr.T("charge_title", locale.Params{"ref": ref}))
	return h.render(c, http.StatusOK, "charge", "", newChargeView(tr, d, h.svc.Today()))
}

func newChargeView(tr *locale.Locale, d recauda.ChargeDetail, today string) chargeView {
	r := d.Charge
	v := chargeView{
		chargeRowView: newChargeRow(tr, r, today), Paid: tr.Money(r.PaidAmount, r.CurrencyType),
		Balance: tr.Money(r.Amount.Sub(r.PaidAmount), r.CurrencyType), SendCount: r.SendCount,
		FirstSent: tr.When(r.FirstSentAt), LastSent: tr.When(r.LastSentAt), PaidAt: tr.When(r.PaidAt), Created: tr.When(&r.CreatedAt),
		OfferedAgain: "—", TransactionID: r.TransactionID, WritebacksNext: chargeURL(r.RefPayment),
	}
	if at := recauda.OfferedAgainAt(r); at != nil {
		v.OfferedAgain = tr.When(r.OfferAfter)
	}
	if r.ParentRef != "" {
		v.ParentRef, v.ParentURL = r.ParentRef, chargeURL(r.ParentRef)
	}
	action := func(name string) actionView {
		return actionView{Name: name, Label: tr.T(name), Help: tr.T(name + "_help"), URL: chargeURL(r.RefPayment) + "/" + name}
	}
	switch s := r.Status; {
	case models.OfferableStatus(s):
		v.Actions = []actionView{action("release"), action("deactivate")}
	case s == models.StatusInactive:
		v.Actions = []actionView{action("activate")}
	case s == models.StatusPaid, s == models.StatusPartiallyPaid:
		v.ReceiptURL = chargeURL(r.RefPayment) + "/receipt"
	}
	for _, ev := range d.Events {
		e := eventView{When: tr.When(&ev.CreatedAt), Label: tr.Label("event", ev.Kind), Detail: entryText(tr, ev.Detail)}
		if ev.FromStatus != "" && ev.ToStatus != "" && ev.FromStatus != ev.ToStatus {
			e.Change = tr.Label("status", ev.FromStatus) + " → " + tr.Label("status", ev.ToStatus)
		}
		v.Timeline = append(v.Timeline, e)
	}
	for _, w := range d.Webhooks {
		v.Webhooks = append(v.Webhooks, newWebhookRow(tr, w))
	}
	for _, w := range d.Writebacks {
		v.Writebacks = append(v.Writebacks, newWritebackRow(tr, recauda.NewWriteback(w)))
	}
	return v
}

// chargeAction answers POST /admin/charges/{ref}/{release,deactivate,activate}
// and goes back to the charge's page, which says how it went.
func (h *dashboard) chargeAction(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	act := c.Param("action")
	do := map[string]func(context.Context, string) (models.TrackedCharge, error){
		"release": h.svc.ReleaseCharge, "deactivate": h.svc.DeactivateCharge, "activate": h.svc.ActivateCharge,
	}[act]
	if do == nil {
		return echo.ErrNotFound
	}
	_, err = do(c.Request().Context(), ref)
	return h.afterAction(c, chargeURL(ref), act, err)
}

// afterAction redirects to target saying done=action, or failed=action when
// the state did not allow it; any other error is the page's error.
func (h *dashboard) afterAction(c echo.Context, target, action string, err error) error {
	var ce *recauda.ConflictError
	outcome := "done"
	switch {
	case errors.As(err, &ce):
		outcome = "failed"
	case err != nil:
		return err
	}
	u, _ := url.Parse(target)
	q := u.Query()
	q.Del("done")
	q.Del("failed")
	q.Set(outcome, action)
	u.RawQuery = q.Encode()
	return c.Redirect(http.StatusSeeOther, u.RequestURI())
}

// receipt answers GET /admin/charges/{ref}/receipt: the printable receipt.
func (h *dashboard) receipt(c echo.Context) error {
	ref, err := request.Ref(c)
	if err != nil {
		return err
	}
	r, err := h.svc.Receipt(c.Request().Context(), ref)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := h.pages.Receipt(&b, h.tr(c), web.NewReceiptView(r)); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", h.receiptCSP)
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}

// --- held back --------------------------------------------------------------

type heldBackView struct {
	Rule, AllURL string
	Groups       []ruleGroupView
	Shown        string
}

type ruleGroupView struct {
	Rule, Count, OnlyURL string
	Items                []heldItemView
}

type heldItemView struct {
	Ref, IDNumber, Field, Message, LastSeen, Seen string
}

// heldBack answers GET /admin/held-back: the records held back, grouped by
// the rule they break, each with the field and the reason.
func (h *dashboard) heldBack(c echo.Context) error {
	f := recauda.HeldBackFilter{Page: 1, PerPage: dashHeldBackShown}
	if rule := c.QueryParam("rule"); request.ValidRuleID(rule) {
		f.Rule = rule
	}
	rows, total, err := h.svc.HeldBack(c.Request().Context(), f)
	if err != nil {
		return err
	}
	tr := h.tr(c)
	return h.render(c, http.StatusOK, "heldback", "heldback_title", newHeldBackView(tr, f.Rule, rows, total))
}

func newHeldBackView(tr *locale.Locale, rule string, rows []recauda.HeldBackRecord, total int64) heldBackView {
	v := heldBackView{Rule: rule, AllURL: dashPrefix + "/held-back"}
	if int64(len(rows)) < total {
		v.Shown = tr.T("heldback_shown", locale.Params{"shown": len(rows), "total": total})
	}
	index := map[string]int{}
	for _, r := range rows {
		for _, vi := range r.Violations {
			if rule != "" && vi.Rule != rule {
				continue
			}
			i, ok := index[vi.Rule]
			if !ok {
				i = len(v.Groups)
				index[vi.Rule] = i
				v.Groups = append(v.Groups, ruleGroupView{Rule: vi.Rule, OnlyURL: dashPrefix + "/held-back?rule=" + url.QueryEscape(vi.Rule)})
			}
			v.Groups[i].Items = append(v.Groups[i].Items, heldItemView{
				Ref: r.RefPayment, IDNumber: r.IDNumber, Field: vi.Field, Message: violationText(tr, vi),
				LastSeen: tr.When(&r.LastSeenAt), Seen: strconv.Itoa(r.SeenCount),
			})
		}
	}
	slices.SortStableFunc(v.Groups, func(a, b ruleGroupView) int {
		if d := len(b.Items) - len(a.Items); d != 0 {
			return d
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	for i := range v.Groups {
		key := "records"
		if len(v.Groups[i].Items) == 1 {
			key = "records_one"
		}
		v.Groups[i].Count = tr.T(key, locale.Params{"n": len(v.Groups[i].Items)})
	}
	return v
}

// --- webhooks ---------------------------------------------------------------

type webhooksView struct {
	Outcome  string
	Outcomes []optionView
	Rows     []webhookRowView
	Pager    pagerView
}

type webhookRowView struct {
	ID, URL, Received, TransactionID, Status, Amount, Outcome, OutcomeLabel, Ref, RefURL, Detail string
}

type webhookView struct {
	webhookRowView
	Method, Production, Body string
}

// webhooks answers GET /admin/webhooks: the log, newest first.
func (h *dashboard) webhooks(c echo.Context) error {
	tr := h.tr(c)
	v := webhooksView{Outcome: c.QueryParam("outcome")}
	if !slices.Contains(models.WebhookOutcomes, v.Outcome) {
		v.Outcome = ""
	}
	f := recauda.WebhookEventFilter{Outcome: v.Outcome, Page: pageParam(c), PerPage: dashWebhooksPerPage}
	rows, total, err := h.svc.WebhookEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	v.Outcomes = []optionView{{Value: "", Label: tr.T("all_outcomes"), Selected: v.Outcome == ""}}
	for _, o := range models.WebhookOutcomes {
		v.Outcomes = append(v.Outcomes, optionView{Value: o, Label: tr.Label("outcome", o), Selected: o == v.Outcome})
	}
	for _, r := range rows {
		v.Rows = append(v.Rows, newWebhookRow(tr, r))
	}
	v.Pager = newPager(tr, c, f.Page, f.PerPage, total)
	return h.render(c, http.StatusOK, "webhooks", "webhooks_title", v)
}

// webhook answers GET /admin/webhooks/{id}, with the body as received.
func (h *dashboard) webhook(c echo.Context) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	ev, err := h.svc.WebhookEvent(c.Request().Context(), id)
	if err != nil {
		return err
	}
	tr := h.tr(c)
	v := webhookView{webhookRowView: newWebhookRow(tr, ev), Method: ev.PaymentMethod, Production: tr.T("no"), Body: ev.Body}
	if ev.Production {
		v.Production = tr.T("yes")
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(ev.Body), "", "  ") == nil {
		v.Body = pretty.String()
	}
	c.Set(ctxTitle, tr.T("webhook_title", locale.Params{"id": id}))
	return h.render(c, http.StatusOK, "webhook", "", v)
}

func newWebhookRow(tr *locale.Locale, r models.WebhookEvent) webhookRowView {
	id := strconv.FormatInt(r.ID, 10)
	v := webhookRowView{
		ID: id, URL: dashPrefix + "/webhooks/" + id, Received: tr.When(&r.ReceivedAt), TransactionID: r.TransactionID,
		Status: r.Status, Outcome: r.Outcome, OutcomeLabel: tr.Label("outcome", r.Outcome), Ref: r.RefPayment, Detail: decisionText(tr, r.Detail),
	}
	if d, err := decimal.NewFromString(r.Amount); err == nil {
		v.Amount = tr.Money(d, r.CurrencyType)
	}
	if r.RefPayment != "" && r.Matched {
		v.RefURL = chargeURL(r.RefPayment)
	}
	return v
}

// --- write-backs ------------------------------------------------------------

type writebacksView struct {
	State  string
	States []optionView
	Rows   []writebackRowView
	Pager  pagerView
	Next   string
}

type writebackRowView struct {
	ID, Ref, RefURL, TransactionID, State, StateLabel, Attempts, NextAttempt, LastError, Amount, Done string
	RetryURL, CancelURL                                                                               string
	// KindLabel names a job that is not a payment (a reversal).
	KindLabel string
}

// writebacks answers GET /admin/writebacks: the queue, newest first.
func (h *dashboard) writebacks(c echo.Context) error {
	tr := h.tr(c)
	v := writebacksView{State: c.QueryParam("state"), Next: c.Request().URL.RequestURI()}
	if !slices.Contains(models.WritebackStates, v.State) {
		v.State = ""
	}
	f := recauda.WritebackFilter{State: v.State, Page: pageParam(c), PerPage: dashWebhooksPerPage}
	jobs, total, err := h.svc.Writebacks(c.Request().Context(), f)
	if err != nil {
		return err
	}
	v.States = []optionView{{Value: "", Label: tr.T("all_states"), Selected: v.State == ""}}
	for _, s := range models.WritebackStates {
		v.States = append(v.States, optionView{Value: s, Label: tr.Label("wb", s), Selected: s == v.State})
	}
	for _, j := range jobs {
		v.Rows = append(v.Rows, newWritebackRow(tr, j))
	}
	v.Pager = newPager(tr, c, f.Page, f.PerPage, total)
	return h.render(c, http.StatusOK, "writebacks", "writebacks_title", v)
}

func newWritebackRow(tr *locale.Locale, w recauda.Writeback) writebackRowView {
	id := strconv.FormatInt(w.ID, 10)
	v := writebackRowView{
		ID: id, Ref: w.RefPayment, RefURL: chargeURL(w.RefPayment), TransactionID: w.TransactionID, State: w.State,
		StateLabel: tr.Label("wb", w.State), Attempts: strconv.Itoa(w.Attempts), LastError: w.LastError, Done: tr.When(w.DoneAt),
		NextAttempt: "—",
	}
	if w.State == models.WritebackPending {
		v.NextAttempt = tr.When(&w.NextAttemptAt)
	}
	if w.State == models.WritebackPending || w.State == models.WritebackNeedsOperator {
		v.CancelURL = dashPrefix + "/writebacks/" + id + "/cancel"
	}
	if w.Kind == models.WritebackReversal {
		v.KindLabel = tr.Label("wb_kind", w.Kind)
	}
	if w.State != models.WritebackDone {
		v.RetryURL = dashPrefix + "/writebacks/" + id + "/retry"
	}
	if w.Readable {
		v.Amount = tr.Money(w.Delivery.Amount, w.Delivery.Currency)
	}
	return v
}

// writebackAction answers POST /admin/writebacks/{id}/{retry,cancel} and
// goes back to the page the form names in next (a dashboard page).
func (h *dashboard) writebackAction(c echo.Context) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	act := c.Param("action")
	do := map[string]func(context.Context, int64) (recauda.Writeback, error){
		"retry": h.svc.RetryWriteback, "cancel": h.svc.CancelWriteback,
	}[act]
	if do == nil {
		return echo.ErrNotFound
	}
	_, err = do(c.Request().Context(), id)
	next := dashPrefix + "/writebacks"
	if n := c.Request().PostFormValue("next"); n != "" {
		next = safeNext(n)
	}
	return h.afterAction(c, next, act, err)
}
