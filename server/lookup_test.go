package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/erp/guard"
	"recauda-bridge/handlers/httperr"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// fixedNow is the test clock: 22 Nov 2026, 10:00 in Bogotá.
var fixedNow = time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)

type stack struct {
	dbPath string
	e      *echo.Echo
	store  *store.Store
	source *erptest.Source
	svc    *recauda.Service
}

func newStack(t testing.TB, src *erptest.Source, mod func(*recauda.Config, *server.Config)) *stack {
	t.Helper()
	return newStackAt(t, src, func() time.Time { return fixedNow }, mod)
}

// newStackAt is newStack with the clock now.
func newStackAt(t testing.TB, src *erptest.Source, now func() time.Time, mod func(*recauda.Config, *server.Config)) *stack {
	t.Helper()
	return newStackWith(t, src, now, 500*time.Millisecond, mod)
}

// newStackWith is newStackAt with the ERP timeout erpTimeout. The source is
// wrapped in erp/guard, as the bridge always wraps it.
func newStackWith(t testing.TB, src *erptest.Source, now func() time.Time, erpTimeout time.Duration, mod func(*recauda.Config, *server.Config)) *stack {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "bridge.db")
	st, err := store.Open(ctx, models.DialectSQLite, dbPath, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := recauda.Config{ResendAfter: 24 * time.Hour, WebhookURL: "https://bridge.example.co/webhooks/efipay"}
	log := slog.New(slog.DiscardHandler)
	deps := server.Config{Logger: log}
	if mod != nil {
		mod(&cfg, &deps)
	}
	svc := recauda.New(guard.New(src, guard.Options{CallTimeout: erpTimeout}), st, validation.New(now), cfg, now, deps.Logger)
	deps.Recauda = svc
	if deps.Report == nil {
		deps.Report = report.New(st, now, report.Asobancaria{})
	}
	return &stack{dbPath: dbPath, e: server.New(deps), store: st, source: src, svc: svc}
}

func charge(ref, id string) erp.Charge {
	return erp.Charge{
		RefPayment: ref, IDNumber: id, PayerName: "María Fernanda Gómez", Description: "Cuota de administración " + ref,
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", LimitDate: "2026-12-15",
	}
}

func (s *stack) get(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func decodePayments(t *testing.T, rec *httptest.ResponseRecorder) models.PaymentsResponse {
	t.Helper()
	var resp models.PaymentsResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("body %q is not a payments answer: %v", rec.Body.String(), err)
	}
	return resp
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) httperr.Body {
	t.Helper()
	var body httperr.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("body %q is not the error shape: %v", rec.Body.String(), err)
	}
	return body
}

func TestLookupOffersEachChargeOnce(t *testing.T) {
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("FAC-1", "12345678"), charge("FAC-2", "12345678")},
	})}
	s := newStack(t, src, nil)

	rec := s.get(t, "/get-recaudas?id_number=12345678")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type = %q, want application/json", ct)
	}
	resp := decodePayments(t, rec)
	if len(resp.Payments) != 2 {
		t.Fatalf("got %d payments, want 2", len(resp.Payments))
	}
	p := resp.Payments[0]
	if p.RecaudaInformation.RefPayment != "FAC-1" || !p.RecaudaInformation.Amount.Equal(decimal.RequireFromString("150000.5")) {
		t.Fatalf("first payment = %+v, want FAC-1 for 150000.50", p.RecaudaInformation)
	}
	if p.AdvancedOptions == nil || len(p.AdvancedOptions.References) != 1 || p.AdvancedOptions.References[0] != "FAC-1" {
		t.Fatalf("references = %+v, want [FAC-1] for webhook correlation", p.AdvancedOptions)
	}
	if p.AdvancedOptions.ResultURLs == nil || p.AdvancedOptions.ResultURLs.Webhook != "https://bridge.example.co/webhooks/efipay" {
		t.Fatalf("result_urls = %+v, want the webhook URL", p.AdvancedOptions.ResultURLs)
	}
	if p.AdvancedOptions.HasComments == nil {
		t.Fatal("has_comments missing; Efipay requires it")
	}

	rec = s.get(t, "/get-recaudas?id_number=12345678")
	if rec.Code != http.StatusOK || rec.Body.String() != `{"payments":[]}` {
		t.Fatalf("second lookup = %d %s, want 200 {\"payments\":[]}", rec.Code, rec.Body)
	}
	tracked, err := s.store.Tracked(context.Background(), []string{"FAC-1", "FAC-2"})
	if err != nil || len(tracked) != 2 || tracked["FAC-1"].SendCount != 1 {
		t.Fatalf("tracked = %+v (err %v), want both sent once", tracked, err)
	}
}

func TestLookupEmptyStatus404(t *testing.T) {
	s := newStack(t, &erptest.Source{}, func(_ *recauda.Config, d *server.Config) { d.EmptyStatus = http.StatusNotFound })
	rec := s.get(t, "/get-recaudas?id_number=12345678")
	if rec.Code != http.StatusNotFound || rec.Body.String() != `{"payments":[]}` {
		t.Fatalf("got %d %s, want 404 {\"payments\":[]}", rec.Code, rec.Body)
	}
}

func TestLookupHoldsBackBadRecords(t *testing.T) {
	bad := charge("BAD-1", "12345678")
	bad.Amount = decimal.RequireFromString("18333.333")
	other := charge("OTHER-1", "99999999") // the ERP answered another customer's debt
	dup1, dup2 := charge("DUP", "12345678"), charge("DUP", "12345678")
	unreadable := charge("UNR-1", "12345678")
	unreadable.Defects = []erp.Defect{{Field: "recauda_information.amount", Message: `"abc" is not a number`}}
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("GOOD-1", "12345678"), bad, other, dup1, dup2, unreadable},
	})}
	s := newStack(t, src, nil)

	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 1 || resp.Payments[0].RecaudaInformation.RefPayment != "GOOD-1" {
		t.Fatalf("payments = %+v, want only GOOD-1", resp.Payments)
	}
	l, err := s.svc.Preview(context.Background(), "12345678")
	if err != nil {
		t.Fatal(err)
	}
	wantRules := map[string]string{"BAD-1": "decimal_places", "OTHER-1": recauda.RuleIDMismatch, "DUP": recauda.RuleDuplicateRef, "UNR-1": recauda.RuleUnreadable}
	for _, it := range l.Items {
		want, ok := wantRules[it.RefPayment]
		if !ok {
			continue
		}
		if it.Decision != recauda.DecisionHeldBack || !hasRule(it.Violations, want) {
			t.Errorf("%s: decision %s violations %+v, want held back for %s", it.RefPayment, it.Decision, it.Violations, want)
		}
	}
}

func TestLookupHoldsBackRefOwnedByAnotherCustomer(t *testing.T) {
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"11111111": {charge("SHARED", "11111111")},
		"22222222": {charge("SHARED", "22222222")},
	})}
	s := newStack(t, src, nil)
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111")); len(resp.Payments) != 1 {
		t.Fatalf("first customer got %d payments, want 1", len(resp.Payments))
	}
	if resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=22222222")); len(resp.Payments) != 0 {
		t.Fatalf("second customer got %+v, want another customer's ref held back", resp.Payments)
	}
	l, _ := s.svc.Preview(context.Background(), "22222222")
	if l.Items[0].Decision != recauda.DecisionHeldBack || !hasRule(l.Items[0].Violations, recauda.RuleRefOwnedByOther) {
		t.Fatalf("item = %+v, want held back for %s", l.Items[0], recauda.RuleRefOwnedByOther)
	}
}

func hasRule(vs []validation.Violation, rule string) bool {
	for _, v := range vs {
		if v.Rule == rule {
			return true
		}
	}
	return false
}

func TestLookupBadInput(t *testing.T) {
	s := newStack(t, &erptest.Source{}, nil)
	tests := []struct {
		name, query string
		status      int
		code        string
	}{
		{"missing", "", 400, "invalid_id_number"},
		{"empty", "id_number=", 400, "invalid_id_number"},
		{"too short", "id_number=1234", 400, "invalid_id_number"},
		{"too long", "id_number=123456789012345678901", 400, "invalid_id_number"},
		{"letters", "id_number=12345a78", 400, "invalid_id_number"},
		{"space", "id_number=1234%205678", 400, "invalid_id_number"},
		{"leading plus", "id_number=%2B12345678", 400, "invalid_id_number"},
		{"minus", "id_number=-12345678", 400, "invalid_id_number"},
		{"arabic-indic digits", "id_number=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5", 400, "invalid_id_number"},
		{"fullwidth digits", "id_number=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95", 400, "invalid_id_number"},
		{"repeated different", "id_number=12345678&id_number=87654321", 400, "invalid_id_number"},
		{"bad escape", "id_number=%zz", 400, "invalid_id_number"},
		{"huge query", "id_number=" + strings.Repeat("1", 100000), 414, "query_too_long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := s.get(t, "/get-recaudas?"+tc.query)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			body := decodeError(t, rec)
			if body.Error.Code != tc.code {
				t.Fatalf("code = %q, want %q", body.Error.Code, tc.code)
			}
			if len(body.Error.Details) == 0 || body.Error.Details[0].Field != "id_number" {
				t.Fatalf("details = %+v, want the id_number field named", body.Error.Details)
			}
		})
	}
	if s.source.Calls() != 0 {
		t.Fatalf("ERP called %d times for bad input, want 0", s.source.Calls())
	}
	if rec := s.get(t, "/get-recaudas?id_number=12345678&id_number=12345678"); rec.Code != http.StatusOK {
		t.Fatalf("repeated identical id_number = %d, want 200", rec.Code)
	}
}

func TestLookupERPUnavailable(t *testing.T) {
	tests := []struct {
		name string
		fn   func(ctx context.Context, id string) ([]erp.Charge, error)
	}{
		{"down", func(context.Context, string) ([]erp.Charge, error) {
			return nil, fmt.Errorf("dial: %w", erp.ErrUnavailable)
		}},
		{"other error", func(context.Context, string) ([]erp.Charge, error) { return nil, errors.New("boom") }},
		{"hangs past its context", func(ctx context.Context, _ string) ([]erp.Charge, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		{"panics", func(context.Context, string) ([]erp.Charge, error) { panic("adapter bug") }},
		{"ignores its context", func(context.Context, string) ([]erp.Charge, error) {
			time.Sleep(2 * time.Second)
			return []erp.Charge{charge("LATE", "12345678")}, nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStackWith(t, &erptest.Source{PendingChargesFunc: tc.fn}, func() time.Time { return fixedNow }, 100*time.Millisecond, nil)
			start := time.Now()
			rec := s.get(t, "/get-recaudas?id_number=12345678")
			if rec.Code != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503; body %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("Retry-After") == "" {
				t.Fatal("no Retry-After header")
			}
			if code := decodeError(t, rec).Error.Code; code != "erp_unavailable" {
				t.Fatalf("code = %q, want erp_unavailable", code)
			}
			if strings.Contains(rec.Body.String(), "boom") {
				t.Fatal("503 body leaks the internal error text")
			}
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Fatalf("answered after %s, want within the ERP timeout", elapsed)
			}
		})
	}
}

func TestConcurrentLookupsOfferEachRefExactlyOnce(t *testing.T) {
	var charges []erp.Charge
	for i := 1; i <= 5; i++ {
		charges = append(charges, charge(fmt.Sprintf("CONC-%d", i), "12345678"))
	}
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{"12345678": charges})}
	s := newStack(t, src, nil)

	const callers = 100
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec := httptest.NewRecorder()
			s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number=12345678", nil))
			if rec.Code != http.StatusOK {
				t.Errorf("status %d: %s", rec.Code, rec.Body)
				return
			}
			var resp models.PaymentsResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			for _, p := range resp.Payments {
				got[p.RecaudaInformation.RefPayment]++
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if len(got) != 5 {
		t.Fatalf("refs returned = %v, want all 5", got)
	}
	for ref, n := range got {
		if n != 1 {
			t.Errorf("%s returned %d times, want exactly 1", ref, n)
		}
	}
}

// failingWriter is a client that has gone away: every write fails.
type failingWriter struct {
	header http.Header
	status int
}

func (w *failingWriter) Header() http.Header       { return w.header }
func (w *failingWriter) WriteHeader(status int)    { w.status = status }
func (w *failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestLookupReleasesClaimsWhenAnswerIsNotDelivered(t *testing.T) {
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("REL-1", "12345678"), charge("REL-2", "12345678")},
	})}
	s := newStack(t, src, nil)

	s.e.ServeHTTP(&failingWriter{header: http.Header{}}, httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number=12345678", nil))

	tracked, err := s.store.Tracked(context.Background(), []string{"REL-1", "REL-2"})
	if err != nil || len(tracked) != 0 {
		t.Fatalf("tracked after failed write = %+v (err %v), want nothing claimed", tracked, err)
	}
	resp := decodePayments(t, s.get(t, "/get-recaudas?id_number=12345678"))
	if len(resp.Payments) != 2 {
		t.Fatalf("next lookup got %d payments, want both offered again", len(resp.Payments))
	}
}

func TestLookupReleasesClaimsWhenClientIsGone(t *testing.T) {
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("GONE-1", "12345678")},
	})}
	s := newStack(t, src, nil)
	ctx, cancel := context.WithCancel(context.Background())
	src.PendingChargesFunc = func(_ context.Context, id string) ([]erp.Charge, error) {
		cancel() // the client hangs up while the ERP answers
		return []erp.Charge{charge("GONE-1", id)}, nil
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/get-recaudas?id_number=12345678", nil).WithContext(ctx))
	tracked, _ := s.store.Tracked(context.Background(), []string{"GONE-1"})
	if len(tracked) != 0 {
		t.Fatalf("GONE-1 still claimed after the client left: %+v", tracked)
	}
}

func TestHealthEndpoints(t *testing.T) {
	s := newStack(t, &erptest.Source{}, func(_ *recauda.Config, d *server.Config) {
		d.Ready = func(context.Context) error { return errors.New("db down") }
	})
	if rec := s.get(t, "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz = %d, want 200", rec.Code)
	}
	rec := s.get(t, "/readyz")
	if rec.Code != http.StatusServiceUnavailable || decodeError(t, rec).Error.Code != "not_ready" {
		t.Fatalf("readyz = %d %s, want 503 not_ready", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "db down") {
		t.Fatal("readyz leaks internal error text")
	}
	rec = s.get(t, "/nope")
	if rec.Code != http.StatusNotFound || decodeError(t, rec).Error.Code != "not_found" {
		t.Fatalf("unknown route = %d %s, want 404 not_found", rec.Code, rec.Body)
	}
}
