package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"recauda-bridge/efipay"
	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

const metricsToken = "metrics-token-for-tests"

// queueStats is a fake write-back queue for the scrape-time collector.
type queueStats struct {
	fn func(ctx context.Context) (int64, time.Time, error)
}

func (q queueStats) WritebackStats(ctx context.Context) (int64, time.Time, error) { return q.fn(ctx) }

// operatorQueue also counts the jobs waiting for the operator.
type operatorQueue struct {
	queueStats
	n   int64
	err error
}

func (q operatorQueue) WritebacksNeedingOperator(context.Context) (int64, error) { return q.n, q.err }

func TestMetricsCountJobsForTheOperator(t *testing.T) {
	pending := func(context.Context) (int64, time.Time, error) { return 0, time.Time{}, nil }
	tests := []struct {
		name  string
		queue operatorQueue
		want  string
		gone  bool
	}{
		{"counted", operatorQueue{queueStats{pending}, 2, nil}, "recauda_writeback_needs_operator 2", false},
		{"unreadable", operatorQueue{queueStats{pending}, 0, errors.New("database is locked")}, "recauda_writeback_queue_depth 0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := protectedStack(t, func(d *server.Config) { d.WritebackStats = tt.queue })
			rec := s.get(t, "/metrics")
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), tt.want) {
				t.Fatalf("/metrics = %d, lacks %q:\n%s", rec.Code, tt.want, rec.Body)
			}
			if got := strings.Contains(rec.Body.String(), "recauda_writeback_needs_operator "); got == tt.gone {
				t.Errorf("needs_operator series present: got %v, want %v", got, !tt.gone)
			}
		})
	}
}

func TestMetricsEndpointNeedsItsToken(t *testing.T) {
	s := protectedStack(t, func(d *server.Config) { d.MetricsToken = metricsToken })
	wantError(t, s.request(t, http.MethodGet, "/metrics", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.request(t, http.MethodGet, "/metrics", "", "Authorization", "Bearer nope"), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.request(t, http.MethodGet, "/metrics", "", "Authorization", "Basic "+metricsToken), http.StatusUnauthorized, "unauthorized")
	rec := s.request(t, http.MethodGet, "/metrics", "", "Authorization", "Bearer "+metricsToken)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "recauda_http_requests_total") {
		t.Fatalf("with the token = %d %s, want 200 and the series", rec.Code, rec.Body)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("the metrics answer has no security headers")
	}

	open := protectedStack(t, func(d *server.Config) {})
	if rec := open.get(t, "/metrics"); rec.Code != http.StatusOK {
		t.Fatalf("without METRICS_TOKEN = %d, want 200", rec.Code)
	}
}

func TestMetricsCount(t *testing.T) {
	bad := charge("M-BAD", "12345678")
	bad.Amount = decimal.RequireFromString("18333.333")
	other := charge("M-OTHER", "99999999")
	other.Amount = decimal.RequireFromString("1.999")
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("M-1", "12345678"), charge("M-2", "12345678"), bad, other},
	})}
	reg := prometheus.NewRegistry()
	s := newStack(t, src, func(_ *recauda.Config, d *server.Config) {
		d.Metrics, d.WebhookToken, d.LookupToken = reg, webhookToken, lookupToken
		d.Now = func() time.Time { return fixedNow }
		d.WritebackStats = queueStats{func(context.Context) (int64, time.Time, error) {
			return 3, fixedNow.Add(-90 * time.Second), nil
		}}
	})
	path := "/get-recaudas/" + lookupToken + "?id_number=12345678"
	decodePayments(t, s.get(t, path))
	decodePayments(t, s.get(t, path)) // M-1, M-2 withheld now
	wantError(t, s.get(t, "/get-recaudas?id_number=12345678"), http.StatusUnauthorized, "unauthorized")
	body := webhookBody("7001", "Aprobada", "150000.50", "COP", true, "M-1")
	if rec := s.postWebhook(t, body, efipay.Sign(body, webhookToken)); rec.Code != http.StatusOK {
		t.Fatalf("webhook = %d %s", rec.Code, rec.Body)
	}
	if rec := s.postWebhook(t, body, strings.Repeat("0", 64)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("badly signed webhook = %d, want 401", rec.Code)
	}
	s.get(t, "/no/such/route")

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"lookups answered", value(t, reg, "recauda_http_requests_total", "method", "GET", "route", "/get-recaudas/:token", "status", "200"), 2},
		{"lookups refused", value(t, reg, "recauda_http_requests_total", "method", "GET", "route", "/get-recaudas", "status", "401"), 1},
		{"unmatched", value(t, reg, "recauda_http_requests_total", "method", "GET", "route", "unmatched", "status", "404"), 1},
		{"webhooks answered", value(t, reg, "recauda_http_requests_total", "method", "POST", "route", "/webhooks/efipay", "status", "200"), 1},
		{"sent", value(t, reg, "recauda_lookup_items_total", "decision", "send"), 2},
		{"withheld", value(t, reg, "recauda_lookup_items_total", "decision", "withheld"), 2},
		{"held back", value(t, reg, "recauda_lookup_items_total", "decision", "held_back"), 4},
		{"held back: decimals", value(t, reg, "recauda_held_back_total", "rule", "decimal_places"), 4},
		{"held back: other customer", value(t, reg, "recauda_held_back_total", "rule", recauda.RuleIDMismatch), 2},
		{"webhook applied", value(t, reg, "recauda_webhooks_total", "outcome", "applied"), 1},
		{"webhook badly signed", value(t, reg, "recauda_webhooks_total", "outcome", "invalid_signature"), 1},
		{"webhook unmatched", value(t, reg, "recauda_webhooks_total", "outcome", "unmatched"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}

	text := s.request(t, http.MethodGet, "/metrics", "").Body.String()
	for _, want := range []string{
		"recauda_writeback_queue_depth 3",
		"recauda_writeback_oldest_pending_age_seconds 90",
		`recauda_http_request_duration_seconds_count{method="GET",route="/get-recaudas/:token"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, lookupToken) || strings.Contains(text, "12345678") {
		t.Fatal("/metrics shows the lookup token or an ID number")
	}
}

func TestMetricsSurviveAFailingQueue(t *testing.T) {
	s := protectedStack(t, func(d *server.Config) {
		d.WritebackStats = queueStats{func(ctx context.Context) (int64, time.Time, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("the queue is asked without a deadline")
			}
			return 0, time.Time{}, errors.New("database is locked")
		}}
	})
	rec := s.get(t, "/metrics")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "recauda_lookup_items_total") ||
		strings.Contains(rec.Body.String(), "recauda_writeback_queue_depth") {
		t.Fatalf("/metrics = %d %s, want 200 with every series but the queue's", rec.Code, rec.Body)
	}
}

// value is the counter of name with exactly the given label pairs in reg, 0
// when there is none.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
