// Package handlers is recauda-bridge's HTTP face: Echo routes, middleware and
// the one error handler. Handlers are thin: bind, check, one call to the
// use cases, respond.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"recauda-bridge/logging"
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
	// AdminToken guards /admin/api; empty turns the admin API off.
	AdminToken string
}

// New builds the Echo instance with every route and middleware.
func New(d Deps) *echo.Echo {
	if d.EmptyStatus == 0 {
		d.EmptyStatus = http.StatusOK
	}
	if d.BodyLimit == "" {
		d.BodyLimit = "1M"
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Logger)
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		RequestIDHandler: func(c echo.Context, id string) {
			c.SetRequest(c.Request().WithContext(logging.WithRequestID(c.Request().Context(), id)))
		},
	}))
	e.Use(accessLog(d.Logger))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		d.Logger.ErrorContext(c.Request().Context(), "panic", "error", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit: d.BodyLimit,
		// The webhook reads its own capped body and answers 413 itself.
		Skipper: func(c echo.Context) bool { return c.Path() == "/webhooks/efipay" },
	}))

	lookup := &lookupHandler{svc: d.Recauda, emptyStatus: d.EmptyStatus}
	e.GET("/get-recaudas", lookup.get)
	webhook := &webhookHandler{svc: d.Recauda, token: d.WebhookToken, log: d.Logger}
	e.POST("/webhooks/efipay", webhook.receive)
	health := &healthHandler{ready: d.Ready, log: d.Logger}
	e.GET("/healthz", health.live)
	e.GET("/readyz", health.readiness)
	registerAdmin(e, d)
	registerOpenAPI(e)
	return e
}

// accessLog writes one line per request. It logs the path, never the query
// string, which carries the customer's ID number.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
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
			log.Log(req.Context(), level, "request",
				"method", req.Method, "path", req.URL.Path, "status", res.Status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes", res.Size)
			return nil
		}
	}
}
