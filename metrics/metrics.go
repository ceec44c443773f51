// Package metrics defines recauda-bridge's own Prometheus series: HTTP
// requests, what lookups did with each charge, webhooks by outcome and the
// write-back queue. It knows nothing of HTTP frameworks or of the use cases:
// handlers observe and call the methods here, and everything is registered on
// the registry main builds (never the global one).
//
// The series:
//
//	recauda_http_requests_total{method,route,status}        counter
//	recauda_http_request_duration_seconds{method,route}     histogram
//	recauda_lookup_items_total{decision}                    counter: send, held_back, withheld
//	recauda_lookup_overdue_items_total{decision}            counter: overdue charges sent or held back
//	recauda_held_back_total{rule}                           counter: held-back charges by broken rule
//	recauda_webhooks_total{outcome}                         counter
//	recauda_writeback_queue_depth                           gauge, read at scrape time
//	recauda_writeback_oldest_pending_age_seconds            gauge, read at scrape time
//	recauda_writeback_needs_operator                        gauge, read at scrape time
//	recauda_ready                                           gauge, asked at scrape time (health.go)
//	recauda_store_fsync_failed                              gauge, read at scrape time (health.go)
//
// route is the route template ("/admin/api/charges/:ref"), never the URL, so
// that the number of series stays bounded; "unmatched" when no route matched.
// The ERP series (recauda_erp_*) are erp/guard's.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors the HTTP layer reports to. A nil *Metrics
// records nothing. It is safe for concurrent use.
type Metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lookupItems *prometheus.CounterVec
	overdue     *prometheus.CounterVec
	heldBack    *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
}

// New builds the collectors and registers them on reg. Calling it again with
// the same reg returns collectors that share the ones already registered.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_http_requests_total",
			Help: "HTTP requests answered, by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "recauda_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method and route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		lookupItems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_lookup_items_total",
			Help: "Charges returned by the ERP to lookups, by what the lookup did: send, held_back or withheld.",
		}, []string{"decision"}),
		overdue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_lookup_overdue_items_total",
			Help: "Overdue charges (the ERP's due date before today in Bogota) that lookups sent (OVERDUE_POLICY offer or extend, re-issues included) or held back (hold); each is counted in recauda_lookup_items_total too.",
		}, []string{"decision"}),
		heldBack: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_held_back_total",
			Help: "Charges held back by lookups, by broken rule (a charge breaking two rules counts once under each).",
		}, []string{"rule"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "recauda_webhooks_total",
			Help: "Efipay webhooks received, by outcome.",
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = Register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.lookupItems, err = Register(reg, m.lookupItems); err != nil {
		return nil, err
	}
	if m.overdue, err = Register(reg, m.overdue); err != nil {
		return nil, err
	}
	if m.heldBack, err = Register(reg, m.heldBack); err != nil {
		return nil, err
	}
	if m.webhooks, err = Register(reg, m.webhooks); err != nil {
		return nil, err
	}
	return m, nil
}

// Register registers c on reg, or returns the identical collector already
// registered there, so that building metrics twice on one registry is safe.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("metrics: register: %w", err)
}

// knownMethods bounds the method label: anything else is "other".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveRequest records one answered request. route must be a route
// template, never a raw path; "" becomes "unmatched".
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if !knownMethods[method] {
		method = "other"
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// AddLookupItems counts n charges a lookup decided decision for. n = 0
// creates the series, so that it shows 0 before the first one.
func (m *Metrics) AddLookupItems(decision string, n int) {
	if m == nil {
		return
	}
	m.lookupItems.WithLabelValues(decision).Add(float64(n))
}

// AddOverdueItems counts n overdue charges a lookup decided decision for
// (send or held_back). n = 0 creates the series.
func (m *Metrics) AddOverdueItems(decision string, n int) {
	if m == nil {
		return
	}
	m.overdue.WithLabelValues(decision).Add(float64(n))
}

// AddHeldBack counts n charges held back for breaking rule.
func (m *Metrics) AddHeldBack(rule string, n int) {
	if m == nil {
		return
	}
	m.heldBack.WithLabelValues(rule).Add(float64(n))
}

// AddWebhooks counts n webhooks with outcome; n = 0 creates the series.
func (m *Metrics) AddWebhooks(outcome string, n int) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Add(float64(n))
}

// WritebackStats reports the write-back queue: how many jobs are pending and
// when the oldest of them was created (zero when none). It must honour ctx's
// deadline; it is called at every scrape. *store.Store implements it.
type WritebackStats interface {
	WritebackStats(ctx context.Context) (pending int64, oldestPending time.Time, err error)
}

// OperatorStats is the optional ability of a WritebackStats to count the
// write-back jobs waiting for the operator (a reversal the ERP source cannot
// record). *store.Store has it.
type OperatorStats interface {
	WritebacksNeedingOperator(ctx context.Context) (int64, error)
}

// NewWritebackCollector reports the write-back queue's depth and the age of
// its oldest pending job, and, when src is an OperatorStats, the jobs
// waiting for the operator, asking src at scrape time under timeout. now is the
// clock (nil: time.Now). A failing src makes the scrape report an error for
// these two series only.
func NewWritebackCollector(src WritebackStats, timeout time.Duration, now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &writebackCollector{
		src: src, timeout: timeout, now: now,
		depth: prometheus.NewDesc("recauda_writeback_queue_depth",
			"Write-back jobs pending (payments not yet recorded in the ERP).", nil, nil),
		age: prometheus.NewDesc("recauda_writeback_oldest_pending_age_seconds",
			"Age of the oldest pending write-back job; 0 when none is pending.", nil, nil),
		operator: prometheus.NewDesc("recauda_writeback_needs_operator",
			"Write-back jobs waiting for the operator (reversals the ERP source cannot record); never retried on their own.", nil, nil),
	}
}

type writebackCollector struct {
	src                  WritebackStats
	timeout              time.Duration
	now                  func() time.Time
	depth, age, operator *prometheus.Desc
}

func (c *writebackCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.age
	if _, ok := c.src.(OperatorStats); ok {
		ch <- c.operator
	}
}

func (c *writebackCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	pending, oldest, err := c.src.WritebackStats(ctx)
	if err != nil {
		err = fmt.Errorf("metrics: write-back queue: %w", err)
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		ch <- prometheus.NewInvalidMetric(c.age, err)
		return
	}
	age := 0.0
	if pending > 0 && !oldest.IsZero() {
		age = max(c.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
	if op, ok := c.src.(OperatorStats); ok {
		n, err := op.WritebacksNeedingOperator(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.operator, fmt.Errorf("metrics: write-back queue: %w", err))
			return
		}
		ch <- prometheus.MustNewConstMetric(c.operator, prometheus.GaugeValue, float64(n))
	}
}
