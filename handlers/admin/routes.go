// Package admin is the operator's JSON API under /admin/api: charges,
// held-back records, webhooks, write-backs and the local ledger, behind a
// bearer token.
package admin

import (
	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/web"
)

// The routes of the admin API. Files by role: auth.go (the bearer token),
// params.go (query parameters), charges.go, heldback.go, webhooks.go,
// writebacks.go and ledger*.go (handlers), dto.go (answers).

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
	// Report serves /admin/api/payments; nil leaves it out.
	Report *report.Service
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
	g.GET("/rejections", h.listHeldBack)
	g.GET("/webhooks", h.listWebhooks)
	g.GET("/webhooks/:id", h.getWebhook)
	g.GET("/writebacks", h.listWritebacks)
	g.POST("/writebacks/:id/retry", h.retryWriteback)
	g.POST("/writebacks/:id/cancel", h.cancelWriteback)
	registerLedger(g, cfg.Recauda)
	if cfg.Report != nil {
		registerPayments(g, cfg.Report)
	}
}
