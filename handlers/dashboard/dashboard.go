// Package dashboard is the operator dashboard under /admin: server-rendered
// HTML pages over the same use cases as the admin API, for a person with a
// browser.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/request"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/locale"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/store"
	"recauda-bridge/web"
)

// The operator dashboard under /admin: server-rendered HTML pages over the
// same use cases as the admin API, for a person with a browser. Sign-in
// takes ADMIN_TOKEN and hands out a session cookie (session.go);
// every form carries a CSRF token. Pages need no JavaScript and load
// nothing from elsewhere.

const (
	dashPrefix = "/admin"
	dashStatic = "/admin/static/dashboard.css"
	dashLogin  = "/admin/login"
)

// Context keys of the dashboard's middleware.
const (
	ctxLang    = "dashboard.lang"
	ctxSession = "dashboard.session"
)

// dashCSP is the Content-Security-Policy of every dashboard page: our own
// stylesheet and nothing else; no script at all.
const dashCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type dashboard struct {
	svc      *recauda.Service
	pages    *web.Pages
	sessions *sessions
	// tokenHash is SHA-256 of ADMIN_TOKEN; enabled is false without one.
	tokenHash [32]byte
	enabled   bool
	now       func() time.Time
	log       *slog.Logger
	css       []byte
	cssURL    string
	// receiptCSP lets the printable receipt keep its inline style and its
	// one inline handler, the print button's.
	receiptCSP string
	// guard throttles clients whose sign-ins fail.
	guard *throttle.Credentials
	// report serves the reconciliation page; nil: no such page.
	report *report.Service
}

// Config is what the dashboard needs, built by the server.
type Config struct {
	Recauda *recauda.Service
	// Pages renders the pages; parsed once, by the server.
	Pages  *web.Pages
	Logger *slog.Logger
	// AdminToken signs in; empty turns the dashboard off (503).
	AdminToken string
	// SessionTTL is how long a sign-in lasts; 0: 8 h.
	SessionTTL time.Duration
	// SessionSecret returns the random secret sessions and CSRF tokens are
	// keyed by, the same for every replica and restart
	// (store.SessionSecret); read again every few seconds, so that a new one
	// signs everyone out. nil: a secret of this process's own.
	SessionSecret func(context.Context) ([]byte, error)
	// Credentials counts failed sign-ins per client, with every other
	// credential the server checks.
	Credentials *throttle.Credentials
	// Now is the clock of sessions; nil: time.Now.
	Now func() time.Time
	// Report serves the reconciliation page; nil leaves it out.
	Report *report.Service
}

// Register mounts the dashboard. Without Config.AdminToken every page
// explains that it is off (503).
func Register(e *echo.Echo, d Config) {
	pages := d.Pages
	now := d.Now
	if now == nil {
		now = time.Now
	}
	ttl := d.SessionTTL
	if ttl <= 0 {
		ttl = defaultSessionTTL
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secret := d.SessionSecret
	if secret == nil {
		// No store to keep one: a secret of this process's own.
		own := make([]byte, 32)
		_, _ = rand.Read(own)
		secret = func(context.Context) ([]byte, error) { return own, nil }
	}
	css, version := pages.DashboardCSS()
	printHash := sha256.Sum256([]byte("window.print()"))
	h := &dashboard{
		svc: d.Recauda, pages: pages, sessions: newSessions(secret, d.AdminToken, ttl, now),
		tokenHash: sha256.Sum256([]byte(d.AdminToken)), enabled: d.AdminToken != "", now: now, log: log,
		css: css, cssURL: dashStatic + "?v=" + version, guard: d.Credentials,
		receiptCSP: "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-hashes' 'sha256-" +
			base64.StdEncoding.EncodeToString(printHash[:]) + "'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
	}
	// A ref holding "/" (sent as %2F) stays one path segment.
	e.Pre(request.EscapedPaths(dashPrefix + "/charges/"))
	e.GET(dashStatic, h.stylesheet)

	g := e.Group(dashPrefix, h.headers, h.language, h.pageErrors, h.requireEnabled, h.sessionKey, h.requireSession, h.checkCSRF)
	g.GET("", h.overview)
	g.GET("/", h.slash)
	g.GET("/login", h.loginForm)
	g.POST("/login", h.login)
	g.POST("/logout", h.logout)
	g.GET("/logout", h.slash) // a followed link, not a sign-out: that takes the form
	g.GET("/charges", h.charges)
	g.GET("/charges/:ref", h.charge)
	g.POST("/charges/:ref/:action", h.chargeAction)
	g.GET("/charges/:ref/receipt", h.receipt)
	g.GET("/held-back", h.heldBack)
	g.GET("/webhooks", h.webhooks)
	g.GET("/webhooks/:id", h.webhook)
	g.GET("/writebacks", h.writebacks)
	g.POST("/writebacks/:id/:action", h.writebackAction)
	if d.Report != nil {
		h.report = d.Report
		g.GET("/reconciliation", h.reconciliation)
		g.GET("/reconciliation/export", h.reconciliationExport)
	}
}

// stylesheet serves the dashboard's CSS. Its URL names its version, so it
// may be cached for good.
func (h *dashboard) stylesheet(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", h.css)
}

// headers sets what every dashboard answer carries: no caching (pages show
// people's debts), no framing, no referrer, and a CSP without scripts.
func (h *dashboard) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		hd.Set(echo.HeaderCacheControl, "no-store")
		hd.Set("Content-Security-Policy", dashCSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set(echo.HeaderXContentTypeOptions, "nosniff")
		return next(c)
	}
}

// language picks the page's language: ?lang= one of locale.Langs
// (remembered in a cookie for a year), else the cookie, else Spanish.
func (h *dashboard) language(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		lang := locale.Default
		if ck, err := c.Cookie(langCookie); err == nil && locale.Supported(ck.Value) {
			lang = ck.Value
		}
		if q := c.QueryParam("lang"); locale.Supported(q) {
			lang = q
			c.SetCookie(&http.Cookie{Name: langCookie, Value: q, Path: dashPrefix, MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
		}
		c.Set(ctxLang, lang)
		return next(c)
	}
}

// requireEnabled answers every page with an explanation while ADMIN_TOKEN
// is not set.
func (h *dashboard) requireEnabled(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.enabled {
			return h.render(c, http.StatusServiceUnavailable, "disabled", "disabled_title", nil)
		}
		return next(c)
	}
}

// sessionKey brings the session key up to date (a rotated secret signs
// everyone out); without it no session can be checked: 503.
func (h *dashboard) sessionKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h.sessions.refresh(c.Request().Context()); err != nil {
			return err
		}
		return next(c)
	}
}

// requireSession sends a visitor without a valid session to the sign-in
// page, remembering where they were going.
func (h *dashboard) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == dashLogin {
			return next(c)
		}
		ck, err := c.Cookie(sessionCookie)
		if err == nil {
			if sess, ok := h.sessions.check(ck.Value); ok {
				c.Set(ctxSession, sess)
				return next(c)
			}
		}
		target := dashLogin
		q := url.Values{}
		if c.Request().Method == http.MethodGet && c.Request().URL.RequestURI() != dashPrefix {
			q.Set("next", c.Request().URL.RequestURI())
		}
		if err == nil {
			q.Set("m", "expired")
			h.clearCookie(c, sessionCookie, dashPrefix)
		}
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// checkCSRF refuses a POST whose form lacks the session's CSRF token, or
// that the browser says comes from another site. Sign-in has its own token.
func (h *dashboard) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			return next(c)
		}
		if site := req.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
			return errForbidden
		}
		if c.Path() == dashLogin {
			return next(c)
		}
		sess, _ := c.Get(ctxSession).(session)
		// The form body only: a token in the URL would end up in logs.
		if !validToken(req.PostFormValue("csrf"), h.sessions.csrf(sess)) {
			return errForbidden
		}
		return next(c)
	}
}

// errForbidden is a form without a valid CSRF token.
var errForbidden = &httperr.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "missing or wrong CSRF token"}

// pageErrors renders the errors of dashboard pages as pages, with the
// status of the one error table (httperr.From). The cause of a 5xx is
// logged here, once; the page never shows it.
func (h *dashboard) pageErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		apiErr := httperr.From(err)
		key := "error_bad_request"
		switch {
		case apiErr.Status == http.StatusConflict:
			key = "error_conflict"
		case apiErr.Status == http.StatusNotFound:
			key = "error_not_found"
		case apiErr.Status == http.StatusForbidden:
			key = "error_forbidden"
		case errors.Is(err, store.ErrUnavailable):
			key = "error_unavailable"
		case apiErr.Status >= 500:
			key = "error_internal"
		}
		if apiErr.Status >= 500 {
			h.log.ErrorContext(c.Request().Context(), "dashboard page failed", "path", c.Path(), "status", apiErr.Status, "error", err)
		}
		if apiErr.RetryAfter != "" {
			c.Response().Header().Set("Retry-After", apiErr.RetryAfter)
		}
		return h.render(c, apiErr.Status, "error", "error_title", errorView{Message: key})
	}
}

type errorView struct{ Message string }

// slash sends /admin/ to /admin.
func (h *dashboard) slash(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, dashPrefix)
}

// loginView is the sign-in page.
type loginView struct {
	Next, CSRF string
}

// loginForm answers GET /admin/login: the form, bound to a fresh nonce
// cookie. A visitor already signed in goes on.
func (h *dashboard) loginForm(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if _, ok := h.sessions.check(ck.Value); ok {
			return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
		}
	}
	msg := map[string]string{"expired": "login_expired", "signed_out": "login_signed_out"}[c.QueryParam("m")]
	return h.showLogin(c, http.StatusOK, msg, "")
}

func (h *dashboard) showLogin(c echo.Context, status int, info, problem string) error {
	nonce := loginNonce()
	c.SetCookie(&http.Cookie{Name: loginCookie, Value: nonce, Path: dashLogin, MaxAge: int(loginFormTTL.Seconds()),
		Expires: h.now().Add(loginFormTTL), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
	c.Set(ctxFlash, info)
	c.Set(ctxProblem, problem)
	return h.render(c, status, "login", "login_title", loginView{Next: safeNext(c.FormValue("next")), CSRF: h.sessions.loginCSRF(nonce)})
}

// login answers POST /admin/login: a right token starts a session; a wrong
// one shows the form again (401) and sets no session.
func (h *dashboard) login(c echo.Context) error {
	ck, err := c.Cookie(loginCookie)
	req := c.Request()
	if err != nil || !validToken(req.PostFormValue("csrf"), h.sessions.loginCSRF(ck.Value)) {
		return h.showLogin(c, http.StatusForbidden, "", "login_form_stale")
	}
	if err := h.guard.Allow(c, throttle.CredentialDashboard); err != nil {
		c.Response().Header().Set("Retry-After", httperr.From(err).RetryAfter)
		return h.showLogin(c, http.StatusTooManyRequests, "", "login_throttled")
	}
	got := sha256.Sum256([]byte(req.PostFormValue("token")))
	if subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) != 1 {
		h.guard.Failed(c, throttle.CredentialDashboard)
		return h.showLogin(c, http.StatusUnauthorized, "", "login_wrong")
	}
	sess, value := h.sessions.issue()
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: value, Path: dashPrefix, Expires: sess.expires,
		MaxAge: int(h.sessions.ttl / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
	h.clearCookie(c, loginCookie, dashLogin)
	h.log.InfoContext(c.Request().Context(), "dashboard sign-in")
	return c.Redirect(http.StatusSeeOther, safeNext(req.PostFormValue("next")))
}

// logout answers POST /admin/logout.
func (h *dashboard) logout(c echo.Context) error {
	if sess, ok := c.Get(ctxSession).(session); ok {
		h.sessions.revoke(sess)
	}
	h.clearCookie(c, sessionCookie, dashPrefix)
	return c.Redirect(http.StatusSeeOther, dashLogin+"?m=signed_out")
}

func (h *dashboard) clearCookie(c echo.Context, name, path string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
}

// safeNext is where to go after signing in: a dashboard page of this site,
// never elsewhere; /admin when next is anything else.
func safeNext(next string) string {
	u, err := url.Parse(next)
	switch {
	case next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil,
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "//"),
		u.Path != dashPrefix && !strings.HasPrefix(u.Path, dashPrefix+"/"),
		strings.HasPrefix(u.Path, dashPrefix+"/api"), strings.HasPrefix(u.Path, dashLogin):
		return dashPrefix
	}
	return next
}
