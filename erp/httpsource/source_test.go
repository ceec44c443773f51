package httpsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"recauda-bridge/erp"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "httpsource", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// flatConfig is a minimal config whose records use the flat field names.
func flatConfig(url string) Config {
	return Config{
		URL:     url + "/charges?id={id_number}",
		Mapping: FlatMapping().Paths,
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

type want struct {
	ref, desc, payer, amount, currency, limit string
	refs                                      []string
}

func checkCharges(t *testing.T, got []erp.Charge, idNumber string, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d charges, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		c := got[i]
		if len(c.Defects) > 0 {
			t.Errorf("charge %d: got defects %+v, want none", i, c.Defects)
		}
		if c.RefPayment != w.ref || c.Description != w.desc || c.PayerName != w.payer ||
			c.Currency != w.currency || c.LimitDate != w.limit || c.IDNumber != idNumber {
			t.Errorf("charge %d: got %+v, want %+v (id %s)", i, c, w, idNumber)
		}
		if !c.Amount.Equal(dec(w.amount)) {
			t.Errorf("charge %d: got amount %s, want %s", i, c.Amount, w.amount)
		}
		if w.refs != nil && !reflect.DeepEqual(c.References, w.refs) {
			t.Errorf("charge %d: got references %q, want %q", i, c.References, w.refs)
		}
	}
}

func TestAlegraPreset(t *testing.T) {
	t.Setenv("ALEGRA_USER", "pagos@merchant.example")
	t.Setenv("ALEGRA_TOKEN", "s3cr3t")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/invoices" {
			t.Errorf("got %s %s, want GET /api/v1/invoices", r.Method, r.URL.Path)
		}
		q := r.URL.Query()
		if q.Get("client_identification") != "900123456" || q.Get("status") != "open" {
			t.Errorf("got query %s, want client_identification=900123456 and status=open", r.URL.RawQuery)
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != "pagos@merchant.example" || pass != "s3cr3t" {
			t.Errorf("got basic auth %q/%q (%v), want the configured ones", user, pass, ok)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, "alegra-invoices.json"))
	}))
	defer srv.Close()

	s := newSource(t, Config{
		Preset: "alegra",
		URL:    srv.URL + "/api/v1/invoices?client_identification={id_number}&status=open",
		Auth:   Auth{Username: "${ALEGRA_USER}", Password: "${ALEGRA_TOKEN}"},
	})
	got, err := s.PendingCharges(context.Background(), "900123456")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	// FE1063 has balance 0 and is filtered out; the amount is the balance.
	checkCharges(t, got, "900123456", []want{
		{ref: "1042", desc: "Factura FE1042", payer: "Distribuidora Andina SAS", amount: "69000", currency: "COP", limit: "2026-04-01", refs: []string{"FE1042"}},
		{ref: "1057", desc: "Factura FE1057", payer: "Distribuidora Andina SAS", amount: "250000.00", currency: "COP", limit: "2026-04-14", refs: []string{"FE1057"}},
	})
	if calls.Load() != 1 {
		t.Errorf("got %d calls, want 1", calls.Load())
	}
}

func TestSiigoPreset(t *testing.T) {
	t.Setenv("SIIGO_USER", "api@merchant.example")
	t.Setenv("SIIGO_KEY", `k"ey`)
	var logins, invoiceCalls atomic.Int32
	var reject401 atomic.Bool
	const token = "eyJhbGciOiJSUzI1NiJ9.fixture.signature"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Partner-Id") != "RecaudaBridge" {
			t.Errorf("%s: got Partner-Id %q, want RecaudaBridge", r.URL.Path, r.Header.Get("Partner-Id"))
		}
		switch r.URL.Path {
		case "/auth":
			logins.Add(1)
			var body map[string]string
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("login body: %v", err)
			}
			if body["username"] != "api@merchant.example" || body["access_key"] != `k"ey` {
				t.Errorf("got login body %v, want the configured credentials", body)
			}
			w.Write(fixture(t, "siigo-auth.json"))
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+token {
			t.Errorf("%s: got Authorization %q, want the login token", r.URL.Path, got)
		}
		switch r.URL.Path {
		case "/v1/invoices":
			invoiceCalls.Add(1)
			if reject401.CompareAndSwap(true, false) {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if got := r.URL.Query().Get("customer_identification"); got != "1020304050" {
				t.Errorf("got customer_identification %q, want 1020304050", got)
			}
			w.Write(fixture(t, "siigo-invoices.json"))
		case "/v1/customers":
			if got := r.URL.Query().Get("identification"); got != "1020304050" {
				t.Errorf("got identification %q, want 1020304050", got)
			}
			w.Write(fixture(t, "siigo-customers.json"))
		default:
			t.Errorf("unexpected request %s", r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	s := newSource(t, Config{
		Preset:          "siigo",
		URL:             srv.URL + "/v1/invoices?customer_identification={id_number}",
		Headers:         map[string]string{"Partner-Id": "RecaudaBridge"},
		Auth:            Auth{Username: "${SIIGO_USER}", Password: "${SIIGO_KEY}", LoginURL: srv.URL + "/auth"},
		PayerNameLookup: Lookup{URL: srv.URL + "/v1/customers?identification={id_number}"},
	})
	wants := []want{
		{ref: "FV-1-1022", desc: "Factura FV-1-1022", payer: "Ana María Pérez Gómez", amount: "357000", currency: "COP", limit: "2026-04-04"},
		// Cash invoice: no due date in payments, so the invoice date; no
		// currency, so the preset's default; the amount is the balance.
		{ref: "FV-1-1030", desc: "Factura FV-1-1030", payer: "Ana María Pérez Gómez", amount: "20000.5", currency: "COP", limit: "2026-03-18"},
	}
	for i := range 2 {
		got, err := s.PendingCharges(context.Background(), "1020304050")
		if err != nil {
			t.Fatalf("lookup %d: %v", i, err)
		}
		checkCharges(t, got, "1020304050", wants)
	}
	if logins.Load() != 1 {
		t.Errorf("got %d logins for two lookups, want 1 (token cached)", logins.Load())
	}

	// A refused token logs in again once and the lookup goes through.
	reject401.Store(true)
	if _, err := s.PendingCharges(context.Background(), "1020304050"); err != nil {
		t.Fatalf("lookup after 401: %v", err)
	}
	if logins.Load() != 2 {
		t.Errorf("got %d logins after a 401, want 2", logins.Load())
	}
}

func TestAuthHeaders(t *testing.T) {
	t.Setenv("ERP_TOKEN", "tok123")
	tests := []struct {
		name   string
		auth   Auth
		header string
		want   string
	}{
		{"none", Auth{}, "Authorization", ""},
		{"bearer", Auth{Type: "bearer", Token: "${ERP_TOKEN}"}, "Authorization", "Bearer tok123"},
		{"basic", Auth{Type: "basic", Username: "u", Password: "${ERP_TOKEN}"}, "Authorization", "Basic dTp0b2sxMjM="},
		{"api_key", Auth{Type: "api_key", Header: "X-API-Key", Token: "${ERP_TOKEN}"}, "X-API-Key", "tok123"},
		{"erpnext", Auth{Type: "api_key", Header: "Authorization", Token: "token key:${ERP_TOKEN}"}, "Authorization", "token key:tok123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get(tt.header); got != tt.want {
					t.Errorf("got %s %q, want %q", tt.header, got, tt.want)
				}
				if got := r.Header.Get("X-Tenant"); got != "acme" {
					t.Errorf("got X-Tenant %q, want acme", got)
				}
				w.Write([]byte(`[]`))
			}))
			defer srv.Close()
			cfg := flatConfig(srv.URL)
			cfg.Auth = tt.auth
			cfg.Headers = map[string]string{"X-Tenant": "acme"}
			got, err := newSource(t, cfg).PendingCharges(context.Background(), "123456")
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != 0 {
				t.Errorf("got %v, want an empty non-nil slice", got)
			}
		})
	}
}

func TestIDNumberEscaping(t *testing.T) {
	const id = `12 34/&?x="y`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.Query().Get("id"); got != id {
			t.Errorf("got query id %q, want %q", got, id)
		}
		if got, want := r.URL.EscapedPath(), "/customers/12%2034%2F%26%3Fx%3D%22y/charges"; got != want {
			t.Errorf("got path %q, want %q", got, want)
		}
		var body struct{ ID string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.ID != id {
			t.Errorf("got body id %q (%v), want %q", body.ID, err, id)
		}
		w.Write([]byte(`{"data":[]}`))
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.URL = srv.URL + "/customers/{id_number}/charges?id={id_number}"
	cfg.Method = "POST"
	cfg.Body = `{"id":"{id_number}"}`
	cfg.ItemsPath = "data"
	if _, err := newSource(t, cfg).PendingCharges(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		idempotent bool
		wantCalls  int32
		wantErr    bool
	}{
		{"GET retried until success", "GET", false, 3, false},
		{"POST not retried", "POST", false, 1, true},
		{"idempotent POST retried", "POST", true, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= 2 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Write([]byte(`[{"ref_payment":"A1","amount":1000}]`))
			}))
			defer srv.Close()
			cfg := flatConfig(srv.URL)
			cfg.Method = tt.method
			cfg.Idempotent = tt.idempotent
			cfg.Retries = 3
			cfg.RetryBackoff = time.Millisecond
			got, err := newSource(t, cfg).PendingCharges(context.Background(), "123456")
			if tt.wantErr {
				if !errors.Is(err, erp.ErrUnavailable) {
					t.Errorf("got error %v, want ErrUnavailable", err)
				}
			} else if err != nil || len(got) != 1 {
				t.Errorf("got %v, %v; want one charge", got, err)
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("got %d calls, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

func TestLookupFailures(t *testing.T) {
	big := `[` + strings.Repeat(`{"ref_payment":"A","amount":1},`, 100) + `{"ref_payment":"A","amount":1}]`
	tests := []struct {
		name      string
		status    int
		body      string
		itemsPath string
	}{
		{"server error", 500, `{"error":"boom"}`, ""},
		{"client error", 400, `{"error":"bad"}`, ""},
		{"not found", 404, `{}`, ""},
		{"bad JSON", 200, `<html>maintenance</html>`, ""},
		{"truncated JSON", 200, `[{"ref_payment":"A","amount":1`, ""},
		{"items path missing", 200, `{"error":"session expired"}`, "results"},
		{"items not a list", 200, `{"results":{"a":1}}`, "results"},
		{"oversize", 200, big, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			cfg := flatConfig(srv.URL)
			cfg.ItemsPath = tt.itemsPath
			cfg.MaxResponseBytes = 1024
			got, err := newSource(t, cfg).PendingCharges(context.Background(), "123456")
			if !errors.Is(err, erp.ErrUnavailable) {
				t.Errorf("got %v, %v; want ErrUnavailable", got, err)
			}
			if err != nil && strings.Contains(err.Error(), "123456") {
				t.Errorf("error %q shows the ID number", err)
			}
		})
	}
}

func TestNotFoundIsEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.NotFoundIsEmpty = true
	got, err := newSource(t, cfg).PendingCharges(context.Background(), "123456")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %v, %v; want an empty list", got, err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.Timeout = 100 * time.Millisecond
	cfg.Retries = 1
	cfg.RetryBackoff = time.Millisecond
	start := time.Now()
	_, err := newSource(t, cfg).PendingCharges(context.Background(), "123456")
	if !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about 200ms (two attempts of 100ms)", d)
	}

	// The caller's deadline wins over the configured timeout.
	cfg.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = newSource(t, cfg).PendingCharges(ctx, "123456")
	if !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s, want about 100ms", d)
	}
}

func TestDefectsAndOtherCustomers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"data":[
			{"ref_payment":"A1","id_number":"900.123.456-7","amount":"12,5 mil","payer_name":"Andina SAS","has_comments":"maybe"},
			{"ref_payment":"A2","id_number":"800999888","amount":5000},
			{"ref_payment":"A3","amount":{"value":1}},
			{"ref_payment":"A4","id_number":"9001234567","amount":"1500.50"}
		]}`)
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.ItemsPath = "data"
	got, err := newSource(t, cfg).PendingCharges(context.Background(), "900123456")
	if err != nil {
		t.Fatal(err)
	}
	// A2 belongs to another customer and is dropped.
	if len(got) != 3 {
		t.Fatalf("got %d charges, want 3: %+v", len(got), got)
	}
	wantDefects := [][]erp.Defect{
		{
			{Field: "recauda_information.amount", Message: `amount is not a number: "12,5 mil"`},
			{Field: "advanced_options.has_comments", Message: `has_comments is not true or false: "maybe"`},
		},
		{{Field: "recauda_information.amount", Message: `amount is not a number: {"value":1}`}},
		nil,
	}
	for i, c := range got {
		if !reflect.DeepEqual(c.Defects, wantDefects[i]) {
			t.Errorf("charge %s: got defects %+v, want %+v", c.RefPayment, c.Defects, wantDefects[i])
		}
		if c.IDNumber != "900123456" {
			t.Errorf("charge %s: got id_number %q, want the asked one", c.RefPayment, c.IDNumber)
		}
	}
	if !got[2].Amount.Equal(dec("1500.50")) {
		t.Errorf("got amount %s, want 1500.50", got[2].Amount)
	}
}

func TestWriteback(t *testing.T) {
	t.Setenv("ERP_TOKEN", "tok")
	type seen struct {
		method, path, idem, auth, ctype string
		body                            map[string]any
	}
	got := make(chan seen, 10)
	var status atomic.Int32
	status.Store(201)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("write-back body is not JSON: %v", err)
		}
		got <- seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()

	cfg := flatConfig(srv.URL)
	cfg.Auth = Auth{Type: "bearer", Token: "${ERP_TOKEN}"}
	cfg.Retries = 3
	cfg.Writeback = Writeback{
		URL:  srv.URL + "/invoices/{ref_payment}/payments",
		Body: `{"amount":{amount},"currency":"{currency}","reference":"{transaction_id}","date":"{paid_date}","note":"Efipay {payment_method} \"{status}\""}`,
	}
	s := newSource(t, cfg)
	if !s.CanRecord() {
		t.Fatal("got CanRecord false, want true")
	}
	p := erp.Payment{
		RefPayment:    "FE/1042",
		IDNumber:      "900123456",
		Amount:        dec("69000.50"),
		Currency:      "COP",
		TransactionID: "tx-\"77\"",
		PaidAt:        time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC), // 1 April in Bogotá
		Status:        "paid",
		PaymentMethod: "PSE",
	}
	if err := s.RecordPayment(context.Background(), p); err != nil {
		t.Fatalf("RecordPayment: %v", err)
	}
	r := <-got
	if r.method != "POST" || r.path != "/invoices/FE%2F1042/payments" {
		t.Errorf("got %s %s, want POST /invoices/FE%%2F1042/payments", r.method, r.path)
	}
	if r.idem != `tx-"77"` || r.auth != "Bearer tok" || r.ctype != "application/json" {
		t.Errorf("got Idempotency-Key %q, Authorization %q, Content-Type %q", r.idem, r.auth, r.ctype)
	}
	wantBody := map[string]any{"amount": 69000.5, "currency": "COP", "reference": `tx-"77"`, "date": "2026-04-01", "note": `Efipay PSE "paid"`}
	if !reflect.DeepEqual(r.body, wantBody) {
		t.Errorf("got body %v, want %v", r.body, wantBody)
	}

	tests := []struct {
		status      int
		unavailable bool
		notFound    bool
	}{
		{503, true, false},
		{429, true, false},
		{404, false, true},
		{422, false, false},
	}
	for _, tt := range tests {
		status.Store(int32(tt.status))
		err := s.RecordPayment(context.Background(), p)
		<-got
		if err == nil || errors.Is(err, erp.ErrUnavailable) != tt.unavailable || errors.Is(err, erp.ErrNotFound) != tt.notFound {
			t.Errorf("status %d: got %v, want unavailable=%v notFound=%v", tt.status, err, tt.unavailable, tt.notFound)
		}
	}
	// Never retried, whatever Retries says.
	if n := len(got); n != 0 {
		t.Errorf("got %d extra write-back calls, want none (write-back is never retried)", n)
	}
}

// TestReversal runs a payment and its reversal against a fake ERP that
// keeps balances and, like the APIs the presets name, answers a repeated
// Idempotency-Key with the first answer without doing anything again.
func TestReversal(t *testing.T) {
	var mu sync.Mutex
	balance := map[string]decimal.Decimal{"FE-1042": dec("69000.50")}
	paid := map[string]decimal.Decimal{} // amount by transaction
	seenKeys := map[string]bool{}
	var reversalBodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet { // the lookup: open invoices
			var items []string
			for ref, b := range balance {
				if b.IsPositive() {
					items = append(items, `{"ref_payment":"`+ref+`","description":"Factura","amount":`+b.String()+`,"currency_type":"COP","payer_name":"Ferretería","id_number":"900123456"}`)
				}
			}
			w.Write([]byte("[" + strings.Join(items, ",") + "]"))
			return
		}
		key := r.Header.Get("Idempotency-Key")
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		}
		if seenKeys[key] {
			w.WriteHeader(http.StatusOK)
			return
		}
		seenKeys[key] = true
		amount := dec(fmt.Sprint(body["amount"]))
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/payments"):
			ref := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/invoices/"), "/payments")
			paid[fmt.Sprint(body["reference"])] = amount
			balance[ref] = balance[ref].Sub(amount)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reversal"):
			tx := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/payments/"), "/reversal")
			reversalBodies = append(reversalBodies, body)
			if _, ok := paid[tx]; ok {
				delete(paid, tx)
				balance[fmt.Sprint(body["invoice"])] = balance[fmt.Sprint(body["invoice"])].Add(amount)
			}
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()

	cfg := flatConfig(srv.URL)
	cfg.Writeback = Writeback{
		URL:  srv.URL + "/invoices/{ref_payment}/payments",
		Body: `{"amount":{amount},"currency":"{currency}","reference":"{transaction_id}","date":"{paid_date}"}`,
	}
	cfg.Reversal = Writeback{
		URL:  srv.URL + "/payments/{transaction_id}/reversal",
		Body: `{"invoice":"{ref_payment}","amount":{amount},"status":"{status}","date":"{reversed_date}","at":"{reversed_at}"}`,
	}
	s := newSource(t, cfg)
	if !s.CanReverse() {
		t.Fatal("got CanReverse false, want true")
	}
	ctx := context.Background()
	if err := s.RecordPayment(ctx, erp.Payment{RefPayment: "FE-1042", IDNumber: "900123456", Amount: dec("69000.50"), Currency: "COP",
		TransactionID: "tx-77", PaidAt: time.Date(2026, 4, 2, 3, 0, 0, 0, time.UTC), Status: "paid"}); err != nil {
		t.Fatalf("RecordPayment: %v", err)
	}
	if got, err := s.PendingCharges(ctx, "900123456"); err != nil || len(got) != 0 {
		t.Fatalf("after the payment: got %+v (%v), want nothing owed", got, err)
	}
	rev := erp.Reversal{RefPayment: "FE-1042", IDNumber: "900123456", Amount: dec("69000.50"), Currency: "COP",
		TransactionID: "tx-77", ReversedAt: time.Date(2026, 4, 3, 2, 30, 0, 0, time.UTC)}
	for i := range 2 { // the worker may deliver it twice
		if err := s.RecordReversal(ctx, rev); err != nil {
			t.Fatalf("RecordReversal %d: %v", i+1, err)
		}
	}
	got, err := s.PendingCharges(ctx, "900123456")
	if err != nil || len(got) != 1 || got[0].RefPayment != "FE-1042" || !got[0].Amount.Equal(dec("69000.50")) {
		t.Fatalf("after the reversal: got %+v (%v), want FE-1042 owing 69000.50 once", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]any{"invoice": "FE-1042", "amount": 69000.5, "status": "reversed", "date": "2026-04-02", "at": "2026-04-03T02:30:00Z"}
	if len(reversalBodies) != 1 || !reflect.DeepEqual(reversalBodies[0], want) {
		t.Errorf("reversal bodies: got %v, want one %v", reversalBodies, want)
	}
	if !seenKeys["tx-77"] || !seenKeys["tx-77-reversal"] {
		t.Errorf("idempotency keys: got %v, want tx-77 and tx-77-reversal", seenKeys)
	}
}

func TestReversalUnsupported(t *testing.T) {
	cfg := flatConfig("http://127.0.0.1:1")
	cfg.Writeback = Writeback{URL: "http://127.0.0.1:1/pay"}
	s := newSource(t, cfg)
	if s.CanReverse() {
		t.Error("got CanReverse true, want false")
	}
	if err := s.RecordReversal(context.Background(), erp.Reversal{TransactionID: "t"}); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

func TestWritebackUnsupported(t *testing.T) {
	s := newSource(t, flatConfig("http://127.0.0.1:1"))
	if s.CanRecord() {
		t.Error("got CanRecord true, want false")
	}
	if err := s.RecordPayment(context.Background(), erp.Payment{TransactionID: "t"}); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

func TestCheck(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || !healthy.Load() {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.HealthURL = srv.URL + "/health"
	s := newSource(t, cfg)
	if err := s.Check(context.Background()); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
	healthy.Store(true)
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("got %v, want nil", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	base := func() Config { return flatConfig("https://erp.example") }
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"no url", func(c *Config) { c.URL = "" }, "url: is required"},
		{"relative url", func(c *Config) { c.URL = "/charges?id={id_number}" }, "absolute http"},
		{"no id in url or body", func(c *Config) { c.URL = "https://erp.example/charges" }, "{id_number}"},
		{"unknown placeholder", func(c *Config) { c.URL = "https://erp.example/{customer}" }, "unknown placeholder {customer}"},
		{"bad method", func(c *Config) { c.Method = "DELETE" }, "method"},
		{"unknown field", func(c *Config) { c.Mapping["amont"] = "total" }, "mapping.amont: unknown field"},
		{"no amount", func(c *Config) { delete(c.Mapping, "amount") }, "mapping.amount: is required"},
		{"unknown preset", func(c *Config) { c.Preset = "sap" }, `unknown preset "sap"`},
		{"unset env", func(c *Config) { c.Headers = map[string]string{"X-Key": "${HTTPSOURCE_TEST_UNSET}"} }, "HTTPSOURCE_TEST_UNSET is not set"},
		{"bearer without token", func(c *Config) { c.Auth.Type = "bearer" }, "auth.token: is required"},
		{"api_key without header", func(c *Config) { c.Auth = Auth{Type: "api_key", Token: "x"} }, "auth.header: is required"},
		{"unknown auth", func(c *Config) { c.Auth.Type = "oauth3" }, `auth.type: "oauth3"`},
		{"retries", func(c *Config) { c.Retries = 99 }, "retries"},
		{"writeback placeholder", func(c *Config) {
			c.Writeback = Writeback{URL: "https://erp.example/pay", Body: `{"x":"{invoice}"}`}
		}, "writeback.body: unknown placeholder {invoice}"},
		{"writeback body without url", func(c *Config) { c.Writeback.Body = "{}" }, "writeback.url: is required"},
		{"reversal without writeback", func(c *Config) { c.Reversal = Writeback{URL: "https://erp.example/rev/{transaction_id}"} },
			"reversal.url: needs writeback.url"},
		{"reversal placeholder", func(c *Config) {
			c.Writeback = Writeback{URL: "https://erp.example/pay"}
			c.Reversal = Writeback{URL: "https://erp.example/rev", Body: `{"x":"{paid_at}"}`}
		}, "reversal.body: unknown placeholder {paid_at}"},
		{"reversal method", func(c *Config) {
			c.Writeback = Writeback{URL: "https://erp.example/pay"}
			c.Reversal = Writeback{URL: "https://erp.example/rev", Method: "GET"}
		}, `reversal.method: "GET"`},
		{"siigo without Partner-Id", func(c *Config) { *c = Config{Preset: "siigo", Auth: Auth{Username: "u", Password: "p"}} }, "Partner-Id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.modify(&c)
			_, err := New(c, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(base(), nil); err != nil {
		t.Errorf("base config: got %v, want nil", err)
	}
}

func TestPresetOverride(t *testing.T) {
	c, err := Config{
		Preset:    "alegra",
		Mapping:   map[string]string{"description": "anotation", "limit_date": "date"},
		Templates: map[string]string{"ref_payment": "ALG-{id}"},
		Auth:      Auth{Type: "bearer", Token: "t"},
	}.prepare(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Templates["description"]; ok {
		t.Error("preset's description template kept although the user mapped description")
	}
	if _, ok := c.Mapping["ref_payment"]; ok {
		t.Error("preset's ref_payment path kept although the user gave a template")
	}
	if c.Mapping["limit_date"] != "date" || c.Mapping["amount"] != "balance" {
		t.Errorf("got mapping %v, want the user's limit_date and the preset's amount", c.Mapping)
	}
	if c.Auth.Type != "bearer" || c.Auth.Token != "t" {
		t.Errorf("got auth %+v, want the user's", c.Auth)
	}
	if !strings.HasPrefix(c.URL, "https://api.alegra.com/") {
		t.Errorf("got url %q, want the preset's", c.URL)
	}
	// The preset itself is not changed by an override.
	if alegraPreset().Templates["description"] == "" {
		t.Error("preset was modified")
	}
}

// TestExampleConfigs decodes the YAML examples shipped in testdata (unknown
// keys are errors) and builds a Source from each.
func TestExampleConfigs(t *testing.T) {
	for _, env := range []string{"ALEGRA_EMAIL", "ALEGRA_TOKEN", "SIIGO_USERNAME", "SIIGO_ACCESS_KEY", "ERPNEXT_API_KEY", "ERPNEXT_API_SECRET"} {
		t.Setenv(env, "x")
	}
	for _, name := range []string{"alegra.yaml", "siigo.yaml", "erpnext.yaml"} {
		t.Run(name, func(t *testing.T) {
			var file struct {
				HTTP Config `yaml:"http"`
			}
			d := yaml.NewDecoder(bytes.NewReader(fixture(t, name)))
			d.KnownFields(true)
			if err := d.Decode(&file); err != nil {
				t.Fatalf("decode: %v", err)
			}
			s := newSource(t, file.HTTP)
			if s.cfg.Timeout != 3*time.Second {
				t.Errorf("got timeout %s, want 3s", s.cfg.Timeout)
			}
		})
	}
}

func TestQueryWithJSONFilter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.RawQuery, `filters=%5B%5B%22tax_id%22,%22=%22,%22900123456%22%5D%5D&x=a%20b`; got != want {
			t.Errorf("got raw query %s, want %s", got, want)
		}
		if got := r.URL.Query().Get("filters"); got != `[["tax_id","=","900123456"]]` {
			t.Errorf("got filters %s", got)
		}
		w.Write([]byte(`{"data":[]}`))
	}))
	defer srv.Close()
	cfg := flatConfig(srv.URL)
	cfg.URL = srv.URL + `/api/resource/Sales%20Invoice?filters=[["tax_id","=","{id_number}"]]&x=a%20b`
	cfg.ItemsPath = "data"
	if _, err := newSource(t, cfg).PendingCharges(context.Background(), "900123456"); err != nil {
		t.Fatal(err)
	}
}
