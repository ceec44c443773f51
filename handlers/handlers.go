// Package handlers is recauda-bridge's face to Efipay: the lookup, the
// payment webhook, their protection, health, metrics and the OpenAPI
// document. Handlers are thin: bind, check, one call to the use cases,
// respond. The operator's admin API and dashboard are packages of their own
// (handlers/admin, handlers/dashboard); package server mounts all three.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"recauda-bridge/handlers/throttle"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
)

// Config is what the Efipay-facing routes need, built by the server.
type Config struct {
	Recauda *recauda.Service
	Logger  *slog.Logger
	// EmptyStatus is the status of a lookup answer with no payments (200 or 404).
	EmptyStatus int
	// Ready checks the dependencies (database, ERP source) for /readyz.
	Ready func(ctx context.Context) error
	// WebhookToken keys the HMAC of Efipay's webhooks; empty refuses them all.
	WebhookToken []byte

	// LookupToken, when set, must come as the path segment
	// /get-recaudas/<token> or in the X-Lookup-Token header.
	LookupToken string
	// LookupAllowCIDRs are the networks that may call the lookup; empty: any.
	LookupAllowCIDRs []netip.Prefix
	// LookupRate limits lookups per client; zero: no limit.
	LookupRate throttle.Rate
	// IPv6Prefix is how many leading bits of an IPv6 address make one client
	// for the rate limit; 0: throttle.DefaultIPv6Prefix.
	IPv6Prefix int
	// Credentials counts failed tokens per client, with every other
	// credential the server checks.
	Credentials *throttle.Credentials

	// Metrics are the series the lookup and webhook observe.
	Metrics *metrics.Metrics
	// Registry is what GET /metrics serves.
	Registry *prometheus.Registry
	// MetricsToken, when set, guards /metrics (Authorization: Bearer).
	MetricsToken string
	// Now is the clock of the rate limit; nil: time.Now.
	Now func() time.Time
}

// Register mounts the Efipay-facing routes on e.
func Register(e *echo.Echo, cfg Config) {
	if cfg.EmptyStatus == 0 {
		cfg.EmptyStatus = http.StatusOK
	}
	initSeries(cfg.Metrics)
	lookup := &lookupHandler{svc: cfg.Recauda, emptyStatus: cfg.EmptyStatus, metrics: cfg.Metrics}
	guards := []echo.MiddlewareFunc{allowFrom(cfg.LookupAllowCIDRs), rateLimit(cfg.LookupRate, cfg.IPv6Prefix, cfg.Now), requireToken(cfg.LookupToken, cfg.Credentials)}
	e.GET("/get-recaudas", lookup.get, guards...)
	if cfg.LookupToken != "" {
		e.GET("/get-recaudas/:token", lookup.get, guards...)
	}
	webhook := &webhookHandler{svc: cfg.Recauda, token: cfg.WebhookToken, log: cfg.Logger, metrics: cfg.Metrics}
	e.POST("/webhooks/efipay", webhook.receive)
	health := &healthHandler{ready: cfg.Ready, log: cfg.Logger}
	e.GET("/healthz", health.live)
	e.GET("/readyz", health.readiness)
	registerOpenAPI(e)
	registerMetrics(e, cfg.Registry, cfg.MetricsToken, cfg.Logger, cfg.Credentials)
}
