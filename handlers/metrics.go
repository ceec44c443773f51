package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/metrics"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// The HTTP side of metrics: the middleware counting every answer, GET
// /metrics, and what the lookup and webhook handlers observe. The series
// themselves are defined in package metrics.

// Webhook outcomes that are not stored events, for recauda_webhooks_total.
const (
	webhookInvalidSignature = "invalid_signature"
	webhookRejected         = "rejected" // unreadable or too large
	webhookDisabled         = "disabled" // EFIPAY_WEBHOOK_TOKEN unset
	webhookError            = "error"    // could not be stored; Efipay retries
)

// lookupDecisions are the values of recauda_lookup_items_total's decision.
var lookupDecisions = [...]recauda.Decision{recauda.DecisionSend, recauda.DecisionHeldBack, recauda.DecisionWithheld}

// overdueDecisions are the values of recauda_lookup_overdue_items_total's
// decision: what a lookup did with an overdue charge it mapped (one withheld
// as already sent is not mapped, so not known to be overdue).
var overdueDecisions = [...]recauda.Decision{recauda.DecisionSend, recauda.DecisionHeldBack}

// initSeries creates the series of every known label value, so that a
// dashboard sees 0 rather than nothing before the first event.
func initSeries(m *metrics.Metrics) {
	for _, d := range lookupDecisions {
		m.AddLookupItems(string(d), 0)
	}
	for _, d := range overdueDecisions {
		m.AddOverdueItems(string(d), 0)
	}
	for _, o := range append(slices.Clone(models.WebhookOutcomes), webhookInvalidSignature, webhookRejected, webhookDisabled, webhookError) {
		m.AddWebhooks(o, 0)
	}
}

// observeLookup counts what a lookup did with each charge, and each rule
// that held one back (once per charge).
func observeLookup(m *metrics.Metrics, items []recauda.Item) {
	// Every lookup passes here: counted without maps, which a steady-state
	// lookup (all withheld) would allocate for nothing.
	var counts [len(lookupDecisions)]int
	var overdue [len(overdueDecisions)]int
	var rules map[string]int
	for _, it := range items {
		if k := slices.Index(lookupDecisions[:], it.Decision); k >= 0 {
			counts[k]++
		}
		if k := slices.Index(overdueDecisions[:], it.Decision); k >= 0 && it.Due.Overdue {
			overdue[k]++
		}
		if it.Decision != recauda.DecisionHeldBack {
			continue
		}
		if rules == nil {
			rules = map[string]int{}
		}
		seen := make([]string, 0, len(it.Violations))
		for _, v := range it.Violations {
			if !slices.Contains(seen, v.Rule) {
				seen = append(seen, v.Rule)
				rules[v.Rule]++
			}
		}
	}
	for k, n := range counts {
		if n > 0 {
			m.AddLookupItems(string(lookupDecisions[k]), n)
		}
	}
	for k, n := range overdue {
		if n > 0 {
			m.AddOverdueItems(string(overdueDecisions[k]), n)
		}
	}
	for r, n := range rules {
		m.AddHeldBack(r, n)
	}
}

// registerMetrics serves reg at GET /metrics, behind a bearer token when
// token is set.
func registerMetrics(e *echo.Echo, reg *prometheus.Registry, token string, log *slog.Logger, guard *throttle.Credentials) {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
		Timeout:       10 * time.Second,
	})
	e.GET("/metrics", echo.WrapHandler(h), bearerToken(token, "recauda-bridge metrics", "METRICS_TOKEN", throttle.CredentialMetrics, guard))
}

// bearerToken answers 401 unless Authorization is "Bearer <token>"; an empty
// token lets everyone in. The comparison is of hashes, in constant time.
func bearerToken(token, realm, variable, credential string, guard *throttle.Credentials) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if token == "" {
			return next
		}
		return func(c echo.Context) error {
			if err := guard.Allow(c, credential); err != nil {
				return err
			}
			scheme, cred, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
			if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				guard.Failed(c, credential)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="`+realm+`"`)
				return &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
					Message: "missing or wrong credentials: send Authorization: Bearer <" + variable + ">"}
			}
			return next(c)
		}
	}
}
