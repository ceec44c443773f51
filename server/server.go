// Package server builds recauda-bridge's HTTP server: one Echo instance with
// the middleware every answer goes through and the one error handler, on
// which it mounts the three audiences: Efipay's routes (handlers), the
// operator's admin API (handlers/admin) and dashboard (handlers/dashboard).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/handlers"
	"recauda-bridge/handlers/admin"
	"recauda-bridge/handlers/dashboard"
	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/logging"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/web"
)

// Config is everything the HTTP layer needs, built by main.
type Config struct {
	Recauda *recauda.Service
	// Report serves /admin/api/payments and the reconciliation page; nil
	// leaves them out.
	Report *report.Service
	Logger *slog.Logger
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
	// CSRF tokens are keyed by (dashboard.Config.SessionSecret).
	SessionSecret func(context.Context) ([]byte, error)

	// LookupToken, when set, must come as the path segment
	// /get-recaudas/<token> or in the X-Lookup-Token header.
	LookupToken string
	// LookupAllowCIDRs are the networks that may call the lookup; empty: any.
	LookupAllowCIDRs []netip.Prefix
	// TrustedProxies are the peers whose X-Forwarded-For is believed; the
	// client address (allowlist, rate limit) is read through them.
	TrustedProxies []netip.Prefix
	// LookupRate limits lookups per client; zero: no limit.
	LookupRate throttle.Rate
	// IPv6Prefix is how many leading bits of an IPv6 address make one client
	// for the rate limits; 0: throttle.DefaultIPv6Prefix. IPv4 counts per
	// address.
	IPv6Prefix int
	// Metrics is the registry the HTTP series are registered on and GET
	// /metrics serves; nil: a registry of the server's own.
	Metrics *prometheus.Registry
	// MetricsToken, when set, guards /metrics (Authorization: Bearer).
	MetricsToken string
	// WritebackStats, when set, reports the write-back queue at scrape time.
	WritebackStats metrics.WritebackStats
	// Now is the clock of the rate limits, sessions and the queue age; nil:
	// time.Now.
	Now func() time.Time
}

// New builds the Echo instance with every route and middleware.
func New(d Config) *echo.Echo {
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
	if d.WritebackStats != nil {
		if err := d.Metrics.Register(metrics.NewWritebackCollector(d.WritebackStats, 2*time.Second, d.Now)); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
		}
	}
	pages, err := web.New()
	if err != nil {
		// The templates are embedded at build time; a test parses them.
		panic(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = httperr.Handler(d.Logger)
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
	creds := throttle.NewCredentials(d.IPv6Prefix, d.Now, d.Logger)
	handlers.Register(e, handlers.Config{
		Recauda: d.Recauda, Logger: d.Logger, EmptyStatus: d.EmptyStatus, Ready: d.Ready, WebhookToken: d.WebhookToken,
		LookupToken: d.LookupToken, LookupAllowCIDRs: d.LookupAllowCIDRs, LookupRate: d.LookupRate, IPv6Prefix: d.IPv6Prefix,
		Credentials: creds, Metrics: m, Registry: d.Metrics, MetricsToken: d.MetricsToken, Now: d.Now,
	})
	admin.Register(e, admin.Config{Recauda: d.Recauda, AdminToken: d.AdminToken, Credentials: creds, Pages: pages, Report: d.Report})
	dashboard.Register(e, dashboard.Config{
		Recauda: d.Recauda, Pages: pages, Logger: d.Logger, AdminToken: d.AdminToken, SessionTTL: d.DashboardSessionTTL,
		SessionSecret: d.SessionSecret, Credentials: creds, Now: d.Now, Report: d.Report,
	})
	return e
}
