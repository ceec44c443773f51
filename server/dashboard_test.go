package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

// dashClock is the dashboard's settable clock: sessions expire by it.
type dashClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dashClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *dashClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dashStack is the real stack with the admin token, webhooks and a
// dashboard clock of its own, whose ERP lists charges.
func dashStack(t *testing.T, charges map[string][]erp.Charge) (*stack, *dashClock) {
	t.Helper()
	clk := &dashClock{t: time.Now().UTC()}
	src := &erptest.Source{PendingChargesFunc: erptest.Static(charges)}
	s := newStack(t, src, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken, d.WebhookToken, d.Now = adminToken, webhookToken, clk.now
	})
	return s, clk
}

// dashClient is a browser without a browser: it keeps cookies between
// requests to the stack.
type dashClient struct {
	t   *testing.T
	s   *stack
	jar *cookiejar.Jar
}

var errERPDown = errors.New("ERP down")

var siteURL, _ = url.Parse("http://example.com/admin")

func newDashClient(t *testing.T, s *stack) *dashClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &dashClient{t: t, s: s, jar: jar}
}

// do sends a request with the client's cookies and keeps the cookies of the
// answer; form, when not nil, is the POST body. Extra headers come as name,
// value pairs.
func (c *dashClient) do(method, target string, form url.Values, header ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	site := siteURL.ResolveReference(&url.URL{Path: req.URL.Path})
	for _, ck := range c.jar.Cookies(site) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.s.e.ServeHTTP(rec, req)
	c.jar.SetCookies(site, rec.Result().Cookies())
	return rec
}

// get wants 200 and returns the page.
func (c *dashClient) get(target string) string {
	c.t.Helper()
	rec := c.do(http.MethodGet, target, nil)
	if rec.Code != http.StatusOK {
		c.t.Fatalf("GET %s = %d %s, want 200", target, rec.Code, rec.Header().Get("Location"))
	}
	return rec.Body.String()
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the CSRF token in a page's forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// signIn signs the client in and returns the CSRF token of its session.
func (c *dashClient) signIn() string {
	c.t.Helper()
	form := c.get("/admin/login")
	rec := c.do(http.MethodPost, "/admin/login", url.Values{"csrf": {csrfOf(c.t, form)}, "token": {adminToken}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin" {
		c.t.Fatalf("sign-in = %d to %q, want 303 to /admin; body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	return csrfOf(c.t, c.get("/admin"))
}

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

func wantRedirect(t *testing.T, rec *httptest.ResponseRecorder, prefix string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), prefix) {
		t.Fatalf("got %d to %q, want 303 to %s…", rec.Code, rec.Header().Get("Location"), prefix)
	}
}

func TestDashboardSignInOut(t *testing.T) {
	s, clk := dashStack(t, nil)
	c := newDashClient(t, s)

	wantRedirect(t, c.do(http.MethodGet, "/admin", nil), "/admin/login")
	wantRedirect(t, c.do(http.MethodGet, "/admin/charges?status=paid", nil), "/admin/login?next=%2Fadmin%2Fcharges%3Fstatus%3Dpaid")
	form := c.get("/admin/login")
	for _, want := range []string{`<html lang="es">`, `<label for="token">Token de administración</label>`, `type="password"`, `name="viewport"`} {
		if !strings.Contains(form, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}

	t.Run("wrong token", func(t *testing.T) {
		rec := c.do(http.MethodPost, "/admin/login", url.Values{"csrf": {csrfOf(t, form)}, "token": {adminToken + "x"}})
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "El token no es correcto.") {
			t.Fatalf("wrong token = %d, want 401 with the error shown", rec.Code)
		}
		if ck := cookieNamed(rec, "recauda_session"); ck != nil {
			t.Fatalf("a wrong token got a session cookie %v", ck)
		}
	})

	form = c.get("/admin/login?next=/admin/webhooks")
	rec := c.do(http.MethodPost, "/admin/login", url.Values{"csrf": {csrfOf(t, form)}, "token": {adminToken}, "next": {"/admin/webhooks"}})
	wantRedirect(t, rec, "/admin/webhooks")
	ck := cookieNamed(rec, "recauda_session")
	switch {
	case ck == nil:
		t.Fatal("no session cookie after signing in")
	case !ck.HttpOnly, ck.SameSite != http.SameSiteStrictMode, ck.Path != "/admin":
		t.Fatalf("session cookie %v: want HttpOnly, SameSite=Strict, Path=/admin", ck)
	case ck.MaxAge != 8*3600:
		t.Fatalf("session cookie Max-Age = %d, want %d", ck.MaxAge, 8*3600)
	case ck.Expires.Sub(clk.now()) < 8*time.Hour-2*time.Second || ck.Expires.Sub(clk.now()) > 8*time.Hour:
		t.Fatalf("session cookie expires %v, want 8 h after %v", ck.Expires, clk.now())
	}
	page := c.get("/admin")
	if !strings.Contains(page, "Resumen") || !strings.Contains(page, `id="sign-out"`) {
		t.Fatal("the overview does not show after signing in")
	}
	// Signed in, the sign-in page goes on to the dashboard.
	wantRedirect(t, c.do(http.MethodGet, "/admin/login", nil), "/admin")

	stolen := ck.Value
	rec = c.do(http.MethodPost, "/admin/logout", url.Values{"csrf": {csrfOf(t, page)}})
	wantRedirect(t, rec, "/admin/login?m=signed_out")
	if out := cookieNamed(rec, "recauda_session"); out == nil || out.MaxAge >= 0 {
		t.Fatalf("sign-out cookie %v, want the session cookie deleted", out)
	}
	wantRedirect(t, c.do(http.MethodGet, "/admin", nil), "/admin/login")
	if !strings.Contains(c.get("/admin/login?m=signed_out"), "Sesión cerrada.") {
		t.Error("the sign-in page does not say the session was closed")
	}
	// The cookie of a session signed out is refused even if kept.
	req := httptest.NewRequest(http.MethodGet, "/admin", nil)
	req.AddCookie(&http.Cookie{Name: "recauda_session", Value: stolen})
	rec = httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	wantRedirect(t, rec, "/admin/login?m=expired")
}

func TestDashboardSignInFormCSRF(t *testing.T) {
	s, _ := dashStack(t, nil)
	tests := []struct {
		name  string
		fetch bool // GET the form first (nonce cookie)
		csrf  string
	}{
		{"no form cookie", false, "anything"},
		{"no token", true, ""},
		{"wrong token", true, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newDashClient(t, s)
			if tc.fetch {
				c.get("/admin/login")
			}
			rec := c.do(http.MethodPost, "/admin/login", url.Values{"csrf": {tc.csrf}, "token": {adminToken}})
			if rec.Code != http.StatusForbidden || cookieNamed(rec, "recauda_session") != nil {
				t.Fatalf("got %d, session cookie %v; want 403 and none", rec.Code, cookieNamed(rec, "recauda_session"))
			}
		})
	}
}

func TestDashboardSessionExpiresAndTampering(t *testing.T) {
	s, clk := dashStack(t, nil)
	c := newDashClient(t, s)
	c.signIn()
	clk.add(8*time.Hour - time.Second)
	c.get("/admin")
	clk.add(time.Second)
	rec := c.do(http.MethodGet, "/admin/charges", nil)
	wantRedirect(t, rec, "/admin/login?")
	if loc := rec.Header().Get("Location"); !strings.Contains(loc, "m=expired") {
		t.Fatalf("expired session goes to %q, want the sign-in page saying it expired", loc)
	}
	if !strings.Contains(c.get("/admin/login?m=expired"), "Su sesión terminó.") {
		t.Error("the sign-in page does not say the session ended")
	}

	c2 := newDashClient(t, s)
	c2.signIn()
	var value string
	for _, ck := range c2.jar.Cookies(siteURL) {
		if ck.Name == "recauda_session" {
			value = ck.Value
		}
	}
	// Pushing the expiry forward breaks the signature.
	parts := strings.Split(value, ".")
	payload := []byte(parts[1])
	payload[len(payload)-2] ^= 1
	for _, forged := range []string{"v1." + string(payload) + "." + parts[2], value + "x", "v2" + value[2:], "", "garbage"} {
		req := httptest.NewRequest(http.MethodGet, "/admin", nil)
		req.AddCookie(&http.Cookie{Name: "recauda_session", Value: forged})
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, req)
		wantRedirect(t, rec, "/admin/login")
	}
}

func TestDashboardCSRF(t *testing.T) {
	s, _ := dashStack(t, map[string][]erp.Charge{"12345678": {charge("FAC-1", "12345678")}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	c := newDashClient(t, s)
	token := c.signIn()
	other := newDashClient(t, s).signIn()

	tests := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"missing", url.Values{}, nil},
		{"empty", url.Values{"csrf": {""}}, nil},
		{"wrong", url.Values{"csrf": {strings.Repeat("A", len(token))}}, nil},
		{"another session's", url.Values{"csrf": {other}}, nil},
		{"in the query, not the form", nil, nil},
		{"cross-site", url.Values{"csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "/admin/charges/FAC-1/deactivate"
			form := tc.form
			if form == nil {
				target += "?csrf=" + url.QueryEscape(token)
				form = url.Values{}
			}
			rec := c.do(http.MethodPost, target, form, tc.header...)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("got %d, want 403", rec.Code)
			}
			if status, _ := s.charge(t, "FAC-1"); status != models.StatusSent {
				t.Fatalf("charge is %s after a refused form, want sent", status)
			}
		})
	}
	for _, target := range []string{"/admin/writebacks/1/retry", "/admin/logout"} {
		if rec := c.do(http.MethodPost, target, url.Values{}); rec.Code != http.StatusForbidden {
			t.Fatalf("POST %s without CSRF = %d, want 403", target, rec.Code)
		}
	}

	rec := c.do(http.MethodPost, "/admin/charges/FAC-1/deactivate", url.Values{"csrf": {token}}, "Sec-Fetch-Site", "same-origin")
	wantRedirect(t, rec, "/admin/charges/FAC-1?done=deactivate")
	if status, _ := s.charge(t, "FAC-1"); status != models.StatusInactive {
		t.Fatalf("charge is %s, want inactive", status)
	}
	page := c.get(rec.Header().Get("Location"))
	for _, want := range []string{"Listo: el cobro quedó inactivo.", `id="charge-status">Inactivo<`, "Desactivado", `id="action-activate"`} {
		if !strings.Contains(page, want) {
			t.Errorf("charge page after deactivating lacks %q", want)
		}
	}
	// Deactivating again changes nothing; releasing an inactive charge is
	// refused and said so.
	rec = c.do(http.MethodPost, "/admin/charges/FAC-1/release", url.Values{"csrf": {token}})
	wantRedirect(t, rec, "/admin/charges/FAC-1?failed=release")
	if page := c.get(rec.Header().Get("Location")); !strings.Contains(page, "No se pudo ofrecer") {
		t.Error("the refused release is not explained")
	}
	if rec := c.do(http.MethodPost, "/admin/charges/FAC-1/explode", url.Values{"csrf": {token}}); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown action = %d, want 404", rec.Code)
	}
}

func TestDashboardEscapesERPText(t *testing.T) {
	evil := charge(`<img src=x onerror=alert(1)>/1`, "12345678")
	evil.Description = `<script>alert("description")</script>`
	evil.PayerName = `Ana "><svg onload=alert(2)>`
	s, _ := dashStack(t, map[string][]erp.Charge{"12345678": {evil}})
	if n := len(decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678")).Payments); n != 1 {
		t.Fatalf("setup sent %d payments, want 1", n)
	}
	c := newDashClient(t, s)
	c.signIn()
	list := c.get("/admin/charges?q=12345678")
	detailURL := "/admin/charges/" + url.PathEscape(evil.RefPayment)
	if !strings.Contains(list, `href="`+detailURL+`"`) {
		t.Fatalf("the list does not link %s:\n%s", detailURL, list)
	}
	for name, page := range map[string]string{"list": list, "detail": c.get(detailURL)} {
		for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload"} {
			if strings.Contains(page, raw) {
				t.Errorf("%s page holds raw %q", name, raw)
			}
		}
		for _, escaped := range []string{"&lt;script&gt;alert(&#34;description&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;/1"} {
			if name == "detail" || !strings.Contains(escaped, "img") {
				if !strings.Contains(page, escaped) {
					t.Errorf("%s page lacks the escaped text %q", name, escaped)
				}
			}
		}
	}
	rec := c.do(http.MethodGet, detailURL, nil)
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Fatalf("CSP %q, want no script allowed", csp)
	}
}

func TestDashboardLanguage(t *testing.T) {
	s, _ := dashStack(t, nil)
	c := newDashClient(t, s)
	if page := c.get("/admin/login?lang=en"); !strings.Contains(page, `<html lang="en">`) || !strings.Contains(page, "Admin token") {
		t.Fatal("?lang=en does not switch the sign-in page to English")
	}
	c.signIn()
	rec := c.do(http.MethodGet, "/admin", nil)
	page := rec.Body.String()
	for _, want := range []string{`<html lang="en">`, "Overview", "Sign out", "Charges sent and paid per day", `hreflang="es"`} {
		if !strings.Contains(page, want) {
			t.Errorf("English overview lacks %q", want)
		}
	}
	rec = c.do(http.MethodGet, "/admin/charges?lang=es", nil)
	if ck := cookieNamed(rec, "recauda_lang"); ck == nil || ck.Value != "es" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Fatalf("language cookie %v, want es, HttpOnly, SameSite=Strict", ck)
	}
	if page := c.get("/admin"); !strings.Contains(page, `<html lang="es">`) || !strings.Contains(page, "Cerrar sesión") {
		t.Fatal("?lang=es is not remembered")
	}
	if page := c.get("/admin?lang=fr"); !strings.Contains(page, `<html lang="es">`) {
		t.Fatal("an unknown language does not fall back to Spanish")
	}
}

var cardValue = regexp.MustCompile(`card-(\w+)"><a[^>]*>\s*<span class="card-label">[^<]*</span>\s*<span class="card-value">(\d+)</span>`)

func TestDashboardOverviewShowsJobsForTheOperator(t *testing.T) {
	s, _ := dashStack(t, map[string][]erp.Charge{"11111111": {charge("A-1", "11111111")}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	c := newDashClient(t, s)
	c.signIn()
	if page := c.get("/admin"); strings.Contains(page, "card-operator") {
		t.Fatal("overview shows the operator's card with no job waiting, want it hidden")
	}
	s.pay(t, "801", "A-1")
	s.signedWebhook(t, webhookBody("801", "Reversada", "150000.50", "COP", true, "A-1"))
	// The test ERP records payments, not reversals: the reversal waits.
	drain(t, recauda.NewWorker(s.store, s.source, recauda.WorkerConfig{}, func() time.Time { return fixedNow }, slog.New(slog.DiscardHandler)))
	page := c.get("/admin")
	got := map[string]string{}
	for _, m := range cardValue.FindAllStringSubmatch(page, -1) {
		got[m[1]] = m[2]
	}
	if got["operator"] != "1" || !strings.Contains(page, `href="/admin/writebacks?state=needs_operator"`) {
		t.Fatalf("operator card = %q, want 1 linking to the jobs; page:\n%s", got["operator"], page)
	}
	list := c.get("/admin/writebacks?state=needs_operator")
	for _, w := range []string{"Requiere al operador", "Reverso", "/cancel"} {
		if !strings.Contains(list, w) {
			t.Errorf("write-back page lacks %q", w)
		}
	}
}

func TestDashboardOverview(t *testing.T) {
	usd := charge("B-1", "22222222")
	usd.Amount, usd.Currency = decimal.RequireFromString("149.99"), "USD"
	bad := charge("A-BAD", "11111111")
	bad.Amount = decimal.RequireFromString("18333.333")
	s, _ := dashStack(t, map[string][]erp.Charge{
		"11111111": {charge("A-1", "11111111"), charge("A-2", "11111111"), charge("A-3", "11111111"), charge("A-4", "11111111"), bad},
		"22222222": {usd},
	})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	decodePayments(t, s.get(t, "/get-recaudas?id_number=22222222"))
	s.pay(t, "701", "A-1")
	if ans := s.signedWebhook(t, webhookBody("702", "Aprobada", "149.99", "USD", true, "B-1")); ans.Outcome != "applied" {
		t.Fatalf("paying B-1: %s", ans.Outcome)
	}
	s.signedWebhook(t, webhookBody("703", "Pendiente", "150000.50", "COP", true, "A-2"))
	s.signedWebhook(t, webhookBody("704", "Rechazada", "150000.50", "COP", true, "A-3"))

	c := newDashClient(t, s)
	c.signIn()
	page := c.get("/admin")
	got := map[string]string{}
	for _, m := range cardValue.FindAllStringSubmatch(page, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{"offered": "5", "sent": "1", "progress": "1", "paid": "2", "failed": "1", "inactive": "0", "held": "1"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("card %s = %q, want %s", k, got[k], w)
		}
	}
	for _, w := range []string{
		"$ 150.000,50 COP", "$ 149,99 USD",
		`<svg viewBox="0 0 760 260" role="img"`,
		"del 24/10 al 22/11: enviados 5 en total, pagados 2 en total.",
		`<title>22/11: Enviados 5</title>`, `<title>22/11: Pagados 2</title>`,
	} {
		if !strings.Contains(page, w) {
			t.Errorf("overview lacks %q", w)
		}
	}
	if n := strings.Count(page, "<rect "); n != 2 {
		t.Errorf("chart has %d bars, want 2 (sent and paid today)", n)
	}
}

// rawTimeline are what a Spanish timeline must not show: the store's
// English lines and the keys of words.
var rawTimeline = []string{"send #", "webhook applied", "write-back #", "queued for", "writeback_", "event_", "entry_", "decision_"}

func TestDashboardPages(t *testing.T) {
	bad := charge("A-BAD", "11111111")
	bad.Amount = decimal.RequireFromString("18333.333")
	s, _ := dashStack(t, map[string][]erp.Charge{
		"11111111": {charge("A-1", "11111111"), charge("A-2", "11111111"), bad},
		"22222222": {charge("11111111", "22222222")}, // a ref that looks like an ID number
	})
	s.source.RecordPaymentFunc = func(context.Context, erp.Payment) error { return errERPDown }
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	decodePayments(t, s.get(t, "/get-recaudas?id_number=22222222"))
	s.pay(t, "801", "A-1")
	c := newDashClient(t, s)
	token := c.signIn()

	tests := []struct {
		name, target string
		want, not    []string
	}{
		{"search by ID number", "/admin/charges?q=11111111", []string{"Cobros del número de identificación 11111111", ">A-1<", ">A-2<"}, []string{">11111111</a>"}},
		{"search by ref", "/admin/charges?q=A-2", []string{"Cobro con referencia A-2", ">A-2<"}, []string{">A-1<"}},
		{"a ref of digits", "/admin/charges?q=11111111&status=sent", []string{">A-2<"}, []string{">A-1<"}},
		{"state filter", "/admin/charges?status=paid", []string{">A-1<", "1 en total"}, []string{">A-2<"}},
		{"bad date is a notice", "/admin/charges?from=2026-02-30", []string{"Fecha no válida"}, nil},
		{"dates", "/admin/charges?from=2026-11-22&to=2026-11-22", []string{"3 en total"}, nil},
		{"no match", "/admin/charges?q=NOPE", []string{"No hay cobros que coincidan."}, nil},
		{"charge", "/admin/charges/A-1", []string{"Pagado", "Enviado a Efipay", "Enviado → Pagado", "Imprimir comprobante", `href="/admin/webhooks/1"`, "Pendiente"}, []string{`id="action-deactivate"`}},
		{"held back by rule", "/admin/held-back", []string{"<code>decimal_places</code>", "recauda_information.amount", "A-BAD", "1 registro<"}, nil},
		{"held back, one rule", "/admin/held-back?rule=decimal_places", []string{"A-BAD", "Todas las reglas"}, nil},
		{"timeline in Spanish", "/admin/charges/A-1", []string{"Envío n.º 1", "Webhook Aplicado: transacción 801, Aprobada, $ 150.000,50 COP",
			"Registro en el ERP n.º 1 en cola para la transacción 801"}, rawTimeline},
		{"held-back reason in Spanish", "/admin/held-back", []string{"recauda_information.amount debe tener como máximo 2 decimales; tiene 3"},
			[]string{"must have at most", "violation_"}},
		{"webhook log", "/admin/webhooks", []string{"Aplicado", "801", `href="/admin/charges/A-1"`}, nil},
		{"webhook log filtered", "/admin/webhooks?outcome=unmatched", []string{"Sin webhooks."}, nil},
		{"webhook", "/admin/webhooks/1", []string{"Webhook #1", "&#34;transaction_id&#34;: 801"}, nil},
		{"write-backs", "/admin/writebacks", []string{"Pendiente", "Reintentar", "Cancelar", ">A-1<"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := c.get(tc.target)
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(page, n) {
					t.Errorf("page holds %q", n)
				}
			}
		})
	}

	// The same pages for a reader who chose English.
	en := newDashClient(t, s)
	en.signIn()
	english := []struct {
		name, target string
		want, not    []string
	}{
		{"timeline in English", "/admin/charges/A-1?lang=en", []string{"Send #1", "Webhook Applied: transaction 801, Aprobada, $150,000.50 COP",
			"Write-back #1 queued for transaction 801"}, []string{"send #", "webhook applied", "event_", "entry_"}},
		{"held-back reason in English", "/admin/held-back", []string{"recauda_information.amount must have at most 2 decimal places; it has 3"},
			[]string{"debe tener", "violation_"}},
		{"receipt in English", "/admin/charges/A-1/receipt", []string{"Payment receipt", "$150,000.50 COP"}, []string{"Comprobante", "receipt_"}},
	}
	for _, tc := range english {
		t.Run(tc.name, func(t *testing.T) {
			page := en.get(tc.target)
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(page, n) {
					t.Errorf("page holds %q", n)
				}
			}
		})
	}

	rec := c.do(http.MethodGet, "/admin/charges/A-1/receipt", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Comprobante de pago") {
		t.Fatalf("receipt = %d, want the printable page", rec.Code)
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "'unsafe-hashes' 'sha256-") {
		t.Fatalf("receipt CSP %q, want the print button's hash", csp)
	}
	if rec := c.do(http.MethodGet, "/admin/charges/A-2/receipt", nil); rec.Code != http.StatusConflict {
		t.Fatalf("receipt of an unpaid charge = %d, want 409", rec.Code)
	}
	for _, target := range []string{"/admin/charges/NOPE", "/admin/webhooks/99", "/admin/nope"} {
		rec := c.do(http.MethodGet, target, nil)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "No existe lo que busca.") {
			t.Fatalf("GET %s = %d, want the 404 page", target, rec.Code)
		}
	}

	// Cancel, then retry, the write-back, going back to the list.
	rec = c.do(http.MethodPost, "/admin/writebacks/1/cancel", url.Values{"csrf": {token}, "next": {"/admin/writebacks?state=pending"}})
	wantRedirect(t, rec, "/admin/writebacks?done=cancel&state=pending")
	if page := c.get("/admin/writebacks"); !strings.Contains(page, "Cancelado") {
		t.Fatal("the write-back is not cancelled")
	}
	rec = c.do(http.MethodPost, "/admin/writebacks/1/retry", url.Values{"csrf": {token}, "next": {"https://evil.example/"}})
	wantRedirect(t, rec, "/admin?done=retry")
	if n := s.count(t, `SELECT COUNT(*) FROM writebacks WHERE state = 'pending'`); n != 1 {
		t.Fatalf("%d pending write-backs after retry, want 1", n)
	}
}

func TestDashboardDisabledWithoutToken(t *testing.T) {
	s := newStack(t, &erptest.Source{}, nil)
	for _, target := range []string{"/admin", "/admin/login", "/admin/charges"} {
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "ADMIN_TOKEN") {
			t.Fatalf("GET %s without ADMIN_TOKEN = %d, want 503 explaining it", target, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader("token=")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("POST /admin/login without ADMIN_TOKEN = %d, want 503", rec.Code)
	}
}

func TestDashboardStylesheet(t *testing.T) {
	s, _ := dashStack(t, nil)
	c := newDashClient(t, s)
	page := c.get("/admin/login")
	m := regexp.MustCompile(`href="(/admin/static/dashboard\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page does not link the stylesheet")
	}
	rec := c.do(http.MethodGet, html.UnescapeString(m[1]), nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") || !strings.Contains(rec.Body.String(), "@media") {
		t.Fatalf("stylesheet = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("stylesheet Cache-Control %q, want immutable", cc)
	}
}

// TestDashboardSecureCookieOnlyFromTrustedProxies: the cookies are marked
// Secure over TLS, or when a trusted proxy says the browser used https;
// anyone else's X-Forwarded-Proto is ignored.
func TestDashboardSecureCookieOnlyFromTrustedProxies(t *testing.T) {
	s := newStack(t, &erptest.Source{PendingChargesFunc: erptest.Static(nil)}, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken = adminToken
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	tests := []struct {
		name       string
		peer       string
		tls        bool
		proto      []string
		wantSecure bool
	}{
		{"plain http", "198.51.100.9:1", false, nil, false},
		{"TLS", "198.51.100.9:1", true, nil, true},
		{"untrusted peer claims https", "198.51.100.9:1", false, []string{"https"}, false},
		{"untrusted private peer claims https", "192.168.1.5:1", false, []string{"https"}, false},
		{"untrusted loopback peer claims https", "127.0.0.1:1", false, []string{"https"}, false},
		{"trusted proxy says https", "10.0.0.2:1", false, []string{"https"}, true},
		{"trusted proxy says http", "10.0.0.2:1", false, []string{"http"}, false},
		{"trusted proxy appends http to a forged https", "10.0.0.2:1", false, []string{"https", "http"}, false},
		{"trusted proxy without the header", "10.0.0.2:1", false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/admin/login", nil)
			req.RemoteAddr = tt.peer
			if !tt.tls {
				req.TLS = nil
			} else if req.TLS == nil {
				req.TLS = &tls.ConnectionState{}
			}
			for _, p := range tt.proto {
				req.Header.Add("X-Forwarded-Proto", p)
			}
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, req)
			ck := cookieNamed(rec, "recauda_login")
			if rec.Code != http.StatusOK || ck == nil {
				t.Fatalf("GET /admin/login = %d, cookie %v; want 200 with the form's cookie", rec.Code, ck)
			}
			if ck.Secure != tt.wantSecure {
				t.Fatalf("got Secure=%v, want %v", ck.Secure, tt.wantSecure)
			}
		})
	}
}

// secretBox is a session secret kept outside the stack, as the database
// keeps it for every replica; rotate replaces it.
type secretBox struct {
	mu     sync.Mutex
	secret []byte
}

func newSecretBox(b byte) *secretBox { return &secretBox{secret: bytes.Repeat([]byte{b}, 32)} }

func (s *secretBox) get(context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.secret, nil
}

func (s *secretBox) rotate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = bytes.Repeat([]byte{s.secret[0] + 1}, 32)
}

// secretStack is dashStack with its session secret from box and its token.
func secretStack(t *testing.T, box *secretBox, token string, clk *dashClock) *stack {
	t.Helper()
	return newStack(t, &erptest.Source{PendingChargesFunc: erptest.Static(nil)}, func(_ *recauda.Config, d *server.Config) {
		d.AdminToken, d.Now, d.SessionSecret = token, clk.now, box.get
	})
}

// TestDashboardSessionSecret: sessions are keyed by the stored secret, so
// they survive a restart and work on every replica, and rotating the secret
// (or changing ADMIN_TOKEN) signs everyone out.
func TestDashboardSessionSecret(t *testing.T) {
	clk := &dashClock{t: time.Now().UTC()}
	box := newSecretBox(1)
	a := newDashClient(t, secretStack(t, box, adminToken, clk))
	a.signIn()
	on := func(s *stack) *dashClient { return &dashClient{t: t, s: s, jar: a.jar} }

	// A restart or another replica: the same secret, the same token.
	replica := on(secretStack(t, box, adminToken, clk))
	if rec := replica.do(http.MethodGet, "/admin", nil); rec.Code != http.StatusOK {
		t.Fatalf("another replica = %d %s, want 200 with the same session", rec.Code, rec.Header().Get("Location"))
	}
	// A new ADMIN_TOKEN signs everyone out.
	wantRedirect(t, on(secretStack(t, box, adminToken+"-new", clk)).do(http.MethodGet, "/admin", nil), "/admin/login?m=expired")

	// A rotation signs everyone out once each replica reads the secret again.
	a.signIn()
	box.rotate()
	clk.add(11 * time.Second)
	wantRedirect(t, a.do(http.MethodGet, "/admin", nil), "/admin/login?m=expired")
	wantRedirect(t, replica.do(http.MethodGet, "/admin", nil), "/admin/login")
	a.signIn() // and signing in again works
}

// TestDashboardSignInFormRevealsNothingAboutTheToken: the sign-in form's
// CSRF token was an HMAC chain keyed by ADMIN_TOKEN alone, so one GET gave a
// value to test guesses of the token against, offline. Now it depends on the
// stored secret too.
func TestDashboardSignInFormRevealsNothingAboutTheToken(t *testing.T) {
	clk := &dashClock{t: time.Now().UTC()}
	s := secretStack(t, newSecretBox(1), adminToken, clk)
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/login", nil))
	nonce := cookieNamed(rec, "recauda_login")
	if rec.Code != http.StatusOK || nonce == nil {
		t.Fatalf("GET /admin/login = %d, cookie %v", rec.Code, nonce)
	}
	csrf := csrfOf(t, rec.Body.String())
	// What an attacker computes for a guess of the token, as the form was
	// derived before.
	guess := func(token string) string {
		k := hmac.New(sha256.New, []byte(token))
		k.Write([]byte("recauda-bridge dashboard session key v1"))
		m := hmac.New(sha256.New, k.Sum(nil))
		m.Write([]byte("login|" + nonce.Value))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	if guess(adminToken) == csrf {
		t.Fatal("the sign-in form's CSRF token is computable from ADMIN_TOKEN alone: a right guess can be confirmed offline")
	}
	// The same token and nonce on a bridge with another secret: the form's
	// token does not carry over.
	other := secretStack(t, newSecretBox(9), adminToken, clk)
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"csrf": {csrf}, "token": {adminToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(nonce)
	rec = httptest.NewRecorder()
	other.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("a form of a bridge with another secret = %d, want 403", rec.Code)
	}
}

func TestDashboardReconciliation(t *testing.T) {
	s, _ := dashStack(t, map[string][]erp.Charge{"79845123": {charge("APTO-301", "79845123")}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=79845123"))
	s.pay(t, "9001", "APTO-301")
	c := newDashClient(t, s)
	c.signIn()
	page := c.get("/admin/reconciliation?from=2026-11-22&to=2026-11-22")
	for _, want := range []string{"Conciliación de pagos", "APTO-301", "150.000,50", "/admin/reconciliation/export?format=csv&amp;from=2026-11-22&amp;to=2026-11-22", "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "asobancaria2001") {
		t.Error("page offers the Asobancaria file without its settings")
	}
	if page := c.get("/admin/reconciliation?from=2026-11-23&to=2026-11-01"); !strings.Contains(page, "se muestran los últimos 7 días") {
		t.Error("a reversed range does not say it shows the last week")
	}
	rec := c.do(http.MethodGet, "/admin/reconciliation/export?format=csv&from=2026-11-22&to=2026-11-22", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") || !strings.Contains(rec.Body.String(), "APTO-301") {
		t.Fatalf("export = %d %q, want the CSV with APTO-301", rec.Code, rec.Header().Get("Content-Type"))
	}
	if rec := c.do(http.MethodGet, "/admin/reconciliation/export?format=asobancaria2001&from=2026-11-22&to=2026-11-22", nil); rec.Code != http.StatusBadRequest {
		t.Fatalf("Asobancaria without settings = %d, want 400", rec.Code)
	}
}
