package sandbox

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/web"
)

// Site is what the pages say about where the sandbox calls.
type Site struct {
	// LookupURL is shown on every page, its token hidden (ShownLookupURL).
	LookupURL string
	// WebhookURL is the --webhook override, "" without one.
	WebhookURL string
	// Remote is set with --allow-remote: every page says so.
	Remote bool
}

// Handler serves the sandbox's pages.
type Handler struct {
	sb    *Sandbox
	pages *web.SandboxPages
	site  Site
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewHandler builds the pages' handler.
func NewHandler(sb *Sandbox, pages *web.SandboxPages, site Site, log *slog.Logger) *Handler {
	h := &Handler{sb: sb, pages: pages, site: site, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /{$}", h.lookup)
	h.mux.HandleFunc("POST /pay", h.pay)
	h.mux.HandleFunc("GET /webhooks", h.webhooks)
	h.mux.HandleFunc("GET /sandbox.css", h.css)
	return h
}

// langCookie remembers the language chosen with ?lang=.
const langCookie = "sandbox_lang"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer the browser sends "Origin: null" on
	// the pages' own forms, which the check below could not tell from another site's.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	// A page of another site must not make this one post signed payments.
	if r.Method == http.MethodPost {
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				http.Error(w, "cross-origin request refused", http.StatusForbidden)
				return
			}
		}
	}
	h.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Text
	Site
	Lang, LangURL, Page, IDNumber, Problem string
	Result                                 *resultView
	Items                                  []itemView
	Deliveries                             []deliveryView
}

func (h *Handler) newPage(w http.ResponseWriter, r *http.Request, name string) page {
	lang := locale.Default
	if ck, err := r.Cookie(langCookie); err == nil && locale.Supported(ck.Value) {
		lang = ck.Value
	}
	if q := r.FormValue("lang"); locale.Supported(q) {
		lang = q
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	other := "en"
	if lang == "en" {
		other = "es"
	}
	q := url.Values{"lang": {other}}
	if id := r.URL.Query().Get("id_number"); id != "" && r.Method == http.MethodGet {
		q.Set("id_number", id)
	}
	path := r.URL.Path
	if r.Method != http.MethodGet {
		path = "/"
	}
	return page{Text: Text{locale.For(lang)}, Site: h.site, Lang: lang, LangURL: path + "?" + q.Encode(), Page: name}
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	if err := h.pages.Render(&b, name, p); err != nil {
		h.log.Error("sandbox page", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

func (h *Handler) lookup(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "lookup")
	id := strings.TrimSpace(r.URL.Query().Get("id_number"))
	if _, asked := r.URL.Query()["id_number"]; asked {
		if id == "" {
			p.Problem = p.T("err_bad_id")
		} else {
			res := h.sb.Lookup(r.Context(), id)
			p.IDNumber = id
			p.Result = &resultView{Took: tookLine(p.Text, res)}
			if res.Problem != "" {
				p.Result.Problem = res.Problem
			}
			for _, it := range res.Items {
				p.Items = append(p.Items, newItemView(p.Text, p.Lang, it))
			}
		}
	}
	h.render(w, http.StatusOK, "lookup", p)
}

func tookLine(t Text, res LookupResult) string {
	took := res.Took.Round(time.Millisecond)
	if res.Took < 10*time.Millisecond {
		took = res.Took.Round(10 * time.Microsecond)
	}
	if res.Status == 0 {
		return t.T("no_answer", "took", took)
	}
	return t.T("took", "took", took, "status", res.Status)
}

func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "paid")
	ref := r.FormValue("ref")
	p.IDNumber = h.sb.Payer(ref)
	sent, err := h.sb.Pay(r.Context(), ref, r.FormValue("kind"), r.FormValue("amount"), r.FormValue("production") == "true")
	if err != nil {
		p.Page, p.Problem = "error", payProblem(p.Text, err)
		status := http.StatusBadRequest
		if errors.Is(err, ErrUnknownRef) {
			status = http.StatusNotFound
		}
		h.render(w, status, "error", p)
		return
	}
	for _, d := range sent {
		p.Deliveries = append(p.Deliveries, newDeliveryView(p.Text, d))
	}
	h.render(w, http.StatusOK, "paid", p)
}

func payProblem(t Text, err error) string {
	for _, e := range []struct {
		err error
		key string
	}{
		{ErrUnknownRef, "err_unknown_ref"}, {ErrNotPayable, "err_not_payable"}, {ErrNoWebhook, "err_no_webhook"},
		{ErrBadAmount, "err_bad_amount"}, {ErrNothingToRev, "err_nothing_to_rev"},
	} {
		if errors.Is(err, e.err) {
			return t.T(e.key)
		}
	}
	return t.T("err_other", "error", err.Error())
}

func (h *Handler) webhooks(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "webhooks")
	for _, d := range h.sb.Deliveries() {
		p.Deliveries = append(p.Deliveries, newDeliveryView(p.Text, d))
	}
	h.render(w, http.StatusOK, "webhooks", p)
}

func (h *Handler) css(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(h.pages.CSS())
}

type resultView struct{ Took, Problem string }

// itemView is an Item in words, in the page's language.
type itemView struct {
	Text
	Item
	Lang, Ref, Description, Amount, Due, Discount, Advance, Delivery, Comments, Picture, Total, Paid string
	Address                                                                                          bool
}

func newItemView(t Text, lang string, it Item) itemView {
	ri := it.Payment.RecaudaInformation
	cur := ri.CurrencyType
	v := itemView{Text: t, Item: it, Lang: lang, Ref: ri.RefPayment, Description: ri.Description,
		Amount: t.l.Money(ri.Amount.Decimal, cur), Total: t.l.Money(it.Total, cur)}
	if it.Paid.IsPositive() {
		v.Paid = t.l.Money(it.Paid, cur)
	}
	if a := ri.Advance; a != nil {
		if a.Type == models.AdvanceMinimumPercent {
			v.Advance = t.T("advance_percent", "percent", a.Value.String())
		} else {
			v.Advance = t.l.Money(a.Value.Decimal, cur)
		}
	}
	ao := it.Payment.AdvancedOptions
	if ao == nil {
		return v
	}
	v.Due, v.Picture = ao.LimitDate, ao.Picture
	if d := ao.Discount; d != nil {
		amount := t.l.Money(d.Value.Decimal, cur)
		if d.Type == models.DiscountPercent {
			amount = d.Value.String() + " %"
		}
		v.Discount = t.T("discount_until", "amount", amount, "day", d.BeforeOn)
	}
	if ds := ao.DeliveryService; ds != nil {
		v.Delivery = t.T("delivery_free")
		if ds.Type == models.DeliveryPaid && ds.Value != nil {
			v.Delivery = t.T("delivery_paid", "amount", t.l.Money(ds.Value.Decimal, cur))
		}
	}
	v.Address = ao.RequestAddressDelivery != nil && *ao.RequestAddressDelivery
	if ao.HasComments != nil && *ao.HasComments {
		v.Comments = ao.CommentsLabel
		if v.Comments == "" {
			v.Comments = t.T("comments")
		}
	}
	return v
}

// deliveryView is a Delivery in words.
type deliveryView struct {
	Text
	ID                                            int
	Ref, Kind, Status, TransactionID, Amount, URL string
	Body, NextRetry                               string
	Production, Delivered                         bool
	Attempts                                      []attemptView
}

type attemptView struct {
	At     string
	Status int
	Answer string
}

func newDeliveryView(t Text, d Delivery) deliveryView {
	v := deliveryView{Text: t, ID: d.ID, Ref: d.RefPayment, Kind: t.T("kind_" + d.Kind), Status: d.Status,
		TransactionID: strconv.FormatInt(d.TransactionID, 10), Amount: t.l.Money(d.Amount, d.Currency),
		URL: d.URL, Body: string(d.Body), Production: d.Production, Delivered: d.Delivered()}
	if !d.NextRetry.IsZero() {
		v.NextRetry = d.NextRetry.In(models.Bogota).Format("15:04:05")
	}
	for _, a := range d.Attempts {
		v.Attempts = append(v.Attempts, attemptView{At: a.At.In(models.Bogota).Format("15:04:05"), Status: a.Status, Answer: a.Answer})
	}
	return v
}
