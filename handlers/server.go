// Package handlers is recauda-bridge's HTTP face: Echo routes, middleware and
// the one error handler. Handlers are thin: bind, check, one call to the
// use cases, respond.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/logging"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
)

// Deps is everything the HTTP layer needs, built by main.
type Deps struct {
	Recauda *recauda.Service
	Logger  *slog.Logger
	// EmptyStatus is the status of a lookup answer with no payments (200 or 404).
	EmptyStatus int
	// Ready checks the dependencies (database, ERP source) for /readyz.
	Ready func(ctx context.Context) error
	// BodyLimit caps request bodies, e.g. "1M".
	BodyLimit string
	// WebhookToken keys the HMAC of Efipay's webhooks; empty refuses them all.
	WebhookToken []byte
	// AdminToken guards /admin/api and signs in to the dashboard at /admin;
	// empty turns both off.
	AdminToken string
	// DashboardSessionTTL is how long a dashboard sign-in lasts; 0: 8 h.
	DashboardSessionTTL time.Duration
	// SessionSecret returns the random secret the dashboard's sessions and
	// CSRF tokens are keyed by, the same for every replica and restart
	// (store.SessionSecret); read again every few seconds, so that a new one
	// signs everyone out. nil: a secret of this process's own.
	SessionSecret func(context.Context) ([]byte, error)

	// Protecting the lookup and metrics (protect.go, metrics.go).
	// LookupToken, when set, must come as the path segment
	// /get-recaudas/<token> or in the X-Lookup-Token header.
	LookupToken string
	// LookupAllowCIDRs are the networks that may call the lookup; empty: any.
	LookupAllowCIDRs []netip.Prefix
	// TrustedProxies are the peers whose X-Forwarded-For is believed; the
	// client address (allowlist, rate limit) is read through them.
	TrustedProxies []netip.Prefix
	// LookupRate limits lookups per client; zero: no limit.
	LookupRate Rate
	// IPv6Prefix is how many leading bits of an IPv6 address make one client
	// for the rate limits; 0: DefaultIPv6Prefix. IPv4 counts per address.
	IPv6Prefix int
	// Metrics is the registry the HTTP series are registered on and GET
	// /metrics serves; nil: a registry of the server's own.
	Metrics *prometheus.Registry
	// MetricsToken, when set, guards /metrics (Authorization: Bearer).
	MetricsToken string
	// WritebackStats, when set, reports the write-back queue at scrape time.
	WritebackStats metrics.WritebackStats
	// Now is the clock of the rate limit and the queue age; nil: time.Now.
	Now func() time.Time
}

// New builds the Echo instance with every route and middleware.
func New(d Deps) *echo.Echo {
	if d.EmptyStatus == 0 {
		d.EmptyStatus = http.StatusOK
	}
	if d.BodyLimit == "" {
		d.BodyLimit = "1M"
	}
	if d.Metrics == nil {
		d.Metrics = prometheus.NewRegistry()
	}
	m, err := metrics.New(d.Metrics)
	if err != nil {
		// Only a different collector under one of our names gets here.
		panic(err)
	}
	initSeries(m)
	if d.WritebackStats != nil {
		if err := d.Metrics.Register(metrics.NewWritebackCollector(d.WritebackStats, 2*time.Second, d.Now)); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
		}
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.IPExtractor = clientIP(d.TrustedProxies)
	e.SchemeExtractor = scheme(d.TrustedProxies)
	e.Pre(cleanRequestID)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: newRequestID,
		RequestIDHandler: func(c echo.Context, id string) {
			c.SetRequest(c.Request().WithContext(logging.WithRequestID(c.Request().Context(), id)))
		},
	}))
	e.Use(securityHeaders)
	e.Use(observeRequests(m))
	e.Use(accessLog(d.Logger, d.LookupToken))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		d.Logger.ErrorContext(c.Request().Context(), "panic", "error", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: d.BodyLimit,
		// The webhook reads its own capped body and answers 413 itself.
		Skipper: func(c echo.Context) bool { return c.Path() == "/webhooks/efipay" },
	}))

	// One count of failed credentials per client, whichever it tried.
	creds := newCredentialGuard(d.IPv6Prefix, d.Now, d.Logger)
	lookup := &lookupHandler{svc: d.Recauda, emptyStatus: d.EmptyStatus, metrics: m}
	guards := []echo.MiddlewareFunc{allowFrom(d.LookupAllowCIDRs), rateLimit(d.LookupRate, d.IPv6Prefix, d.Now), requireToken(d.LookupToken, creds)}
	e.GET("/get-recaudas", lookup.get, guards...)
	if d.LookupToken != "" {
		e.GET("/get-recaudas/:token", lookup.get, guards...)
	}
	webhook := &webhookHandler{svc: d.Recauda, token: d.WebhookToken, log: d.Logger, metrics: m}
	e.POST("/webhooks/efipay", webhook.receive)
	health := &healthHandler{ready: d.Ready, log: d.Logger}
	e.GET("/healthz", health.live)
	e.GET("/readyz", health.readiness)
	registerAdmin(e, d, creds)
	registerDashboard(e, d, creds)
	registerOpenAPI(e)
	registerMetrics(e, d.Metrics, d.MetricsToken, d.Logger, creds)
	return e
}

// accessLog writes one line per request. It logs the path, never the query
// string, which carries the customer's ID number; in the path, the lookup
// token is redacted and digit runs are masked (logPath).
func accessLog(log *slog.Logger, lookupToken string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			level := slog.LevelInfo
			if res.Status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(req.Context(), level) {
				return nil
			}
			log.Log(req.Context(), level, "request",
				"method", req.Method, "path", logPath(req.URL.Path, lookupToken), "status", res.Status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes", res.Size)
			return nil
		}
	}
}
