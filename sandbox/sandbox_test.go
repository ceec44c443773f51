package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"recauda-bridge/efipay"
	"recauda-bridge/internal/loopback"
	"recauda-bridge/locale"
	"recauda-bridge/models"
	"recauda-bridge/validation"
	"recauda-bridge/web"
)

var now = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // 10:00 in Bogota

const (
	customer = "1032456789"
	token    = "webhook-token-for-tests"
)

// bridge is a hand-written merchant endpoint: it offers each ref once and
// answers webhooks with the statuses queued in answers (200 when empty).
type bridge struct {
	t     *testing.T
	items []models.Payment

	mu       sync.Mutex
	sent     map[string]bool
	lookups  []*http.Request
	hooks    [][]byte
	answers  []int
	hookURL  string
	srv      *httptest.Server
	sigFails int
}

func newBridge(t *testing.T, items ...models.Payment) *bridge {
	b := &bridge{t: t, items: items, sent: map[string]bool{}}
	b.srv = httptest.NewServer(b)
	t.Cleanup(b.srv.Close)
	b.hookURL = b.srv.URL + "/webhooks/efipay"
	return b
}

func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		if efipay.Verify(body, r.Header.Get(efipay.SignatureHeader), []byte(token)) != nil {
			b.sigFails++
		}
		b.hooks = append(b.hooks, body)
		status := 200
		if len(b.answers) > 0 {
			status, b.answers = b.answers[0], b.answers[1:]
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"ok":true}`))
		return
	}
	b.lookups = append(b.lookups, r)
	out := []models.Payment{}
	for _, p := range b.items {
		if p.RecaudaInformation.IDNumber == r.URL.Query().Get("id_number") && !b.sent[p.RecaudaInformation.RefPayment] {
			b.sent[p.RecaudaInformation.RefPayment] = true
			if p.AdvancedOptions != nil && p.AdvancedOptions.ResultURLs != nil {
				p.AdvancedOptions.ResultURLs.Webhook = b.hookURL
			}
			out = append(out, p)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(models.PaymentsResponse{Payments: out})
}

func (b *bridge) webhooks() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.hooks)
}

func item(ref string) models.Payment {
	no := false
	return models.Payment{
		RecaudaInformation: models.RecaudaInformation{
			Description: "Matrícula primer semestre", Amount: models.MustMoney("3450000"), CurrencyType: "COP",
			IDNumber: customer, PayerName: "María Fernanda Gómez", RefPayment: ref,
			Advance: &models.Advance{Type: models.AdvanceMinimumPercent, Value: models.MustMoney("30")},
		},
		AdvancedOptions: &models.AdvancedOptions{
			LimitDate: "2026-03-31", References: []string{ref}, HasComments: &no,
			Discount:   &models.Discount{BeforeOn: "2026-03-05", Type: models.DiscountPercent, Value: models.MustMoney("5")},
			ResultURLs: &models.ResultURLs{Webhook: "set by the bridge"},
		},
	}
}

func newSandbox(t *testing.T, b *bridge, delays ...time.Duration) *Sandbox {
	t.Helper()
	if delays == nil {
		delays = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	}
	clock := func() time.Time { return now }
	sb, err := New(Options{LookupURL: b.srv.URL + "/get-recaudas/lookup-secret", WebhookToken: []byte(token),
		RetryDelays: delays, Validator: validation.New(clock), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return sb
}

func TestLookupCallsAsEfipayAndKeepsWhatItGot(t *testing.T) {
	broken := item("MORA-1")
	broken.RecaudaInformation.Amount = models.MustMoney("18333.333")
	b := newBridge(t, item("MAT-1"), broken)
	sb := newSandbox(t, b)

	first := sb.Lookup(context.Background(), customer)
	if first.Status != 200 || first.Problem != "" {
		t.Fatalf("got status %d, problem %q; want 200 and none", first.Status, first.Problem)
	}
	if len(first.Items) != 2 || !first.Items[0].Payable() || first.Items[1].Payable() {
		t.Fatalf("got %d items (payable %v), want MAT-1 payable and MORA-1 refused", len(first.Items), payable(first.Items))
	}
	if v := first.Items[1].Violations; len(v) != 1 || v[0].Rule != "decimal_places" {
		t.Errorf("MORA-1 violations: got %+v, want one decimal_places (the bridge's validator)", v)
	}
	if got := first.Items[0].Total.String(); got != "3277500" {
		t.Errorf("total of MAT-1 before its discount date: got %s, want 3277500 (5 %% off)", got)
	}

	// The bridge sends nothing the second time; Efipay still offers MAT-1.
	second := sb.Lookup(context.Background(), customer)
	if len(second.Items) != 1 || second.Items[0].Payment.RecaudaInformation.RefPayment != "MAT-1" || !second.Items[0].Earlier {
		t.Fatalf("second lookup: got %+v, want MAT-1 kept from earlier", second.Items)
	}

	for i, r := range b.lookups {
		if r.Method != http.MethodGet || r.URL.Path != "/get-recaudas/lookup-secret" || r.URL.RawQuery != "id_number="+customer || len(r.Cookies()) != 0 {
			t.Errorf("lookup %d: got %s %s?%s with %d cookies, want GET /get-recaudas/lookup-secret?id_number=%s and none",
				i, r.Method, r.URL.Path, r.URL.RawQuery, len(r.Cookies()), customer)
		}
	}
	if _, err := sb.Pay(context.Background(), "MORA-1", KindFull, "", false); !errors.Is(err, ErrUnknownRef) {
		t.Errorf("paying the refused item: got %v, want ErrUnknownRef (Efipay never took it)", err)
	}
}

func payable(items []Item) []bool {
	var out []bool
	for _, it := range items {
		out = append(out, it.Payable())
	}
	return out
}

func TestLookupProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, "HTTP 500: boom"},
		{"a bare array", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`[]`)) }, `not {"payments":[...]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			sb, err := New(Options{LookupURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			if got := sb.Lookup(context.Background(), customer); !strings.Contains(got.Problem, tc.want) {
				t.Errorf("got problem %q, want it to contain %q", got.Problem, tc.want)
			}
		})
	}
}

// TestPayKinds: each kind of payment posts the webhooks Efipay would, signed,
// in Efipay's shape, with the item's references echoed.
func TestPayKinds(t *testing.T) {
	type hook struct{ status, amount, tx string }
	tests := []struct {
		name   string
		before []string // kinds paid first
		kind   string
		amount string
		want   []hook // tx "new", or "same" as the first approved payment
	}{
		{name: "full", kind: KindFull, want: []hook{{"Aprobada", "3277500", "new"}}},
		{name: "advance", kind: KindAdvance, amount: "1035000", want: []hook{{"Aprobada", "1035000", "new"}}},
		{name: "rejected", kind: KindRejected, want: []hook{{"Rechazada", "3277500", "new"}}},
		{name: "pending then approved", kind: KindPendingApproved, want: []hook{{"Pendiente", "3277500", "new"}, {"Aprobada", "3277500", "new"}}},
		{name: "reversal", before: []string{KindFull}, kind: KindReversal, want: []hook{{"Reversada", "3277500", "same"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, item("MAT-1"))
			sb := newSandbox(t, b)
			sb.Lookup(context.Background(), customer)
			var firstTx string
			for _, k := range tc.before {
				if _, err := sb.Pay(context.Background(), "MAT-1", k, "", false); err != nil {
					t.Fatal(err)
				}
			}
			if len(tc.before) > 0 {
				ev, err := efipay.Parse(b.webhooks()[0])
				if err != nil {
					t.Fatal(err)
				}
				firstTx = ev.TransactionID
			}
			sent, err := sb.Pay(context.Background(), "MAT-1", tc.kind, tc.amount, false)
			if err != nil {
				t.Fatalf("Pay: %v", err)
			}
			hooks := b.webhooks()[len(tc.before):]
			if len(sent) != len(tc.want) || len(hooks) != len(tc.want) {
				t.Fatalf("got %d deliveries and %d webhooks received, want %d", len(sent), len(hooks), len(tc.want))
			}
			var tx0 string
			for i, body := range hooks {
				ev, err := efipay.Parse(body)
				if err != nil {
					t.Fatalf("webhook %d: %v", i, err)
				}
				w := tc.want[i]
				if ev.Status != w.status || ev.Amount.String() != w.amount || ev.Production || ev.Currency != "COP" {
					t.Errorf("webhook %d: got %s %s %s production=%v, want %s %s COP production=false", i, ev.Status, ev.Amount, ev.Currency, ev.Production, w.status, w.amount)
				}
				if !slices.Equal(ev.References, []string{"MAT-1"}) {
					t.Errorf("webhook %d references: got %v, want [MAT-1] (the item's, echoed)", i, ev.References)
				}
				if i == 0 {
					tx0 = ev.TransactionID
				} else if ev.TransactionID != tx0 {
					t.Errorf("webhook %d: transaction %s, want %s (the same transaction moves on)", i, ev.TransactionID, tx0)
				}
				if w.tx == "same" && ev.TransactionID != firstTx {
					t.Errorf("reversal of transaction %s, want %s (the approved one)", ev.TransactionID, firstTx)
				}
				if w.tx == "new" && ev.TransactionID == firstTx {
					t.Errorf("transaction %s reused", ev.TransactionID)
				}
				if !sent[i].Delivered() || sent[i].Attempts[0].Status != 200 {
					t.Errorf("delivery %d: got %+v, want delivered with 200", i, sent[i].Attempts)
				}
			}
			if b.sigFails != 0 {
				t.Errorf("%d webhooks failed efipay.Verify, want 0", b.sigFails)
			}
		})
	}
}

func TestWebhookShape(t *testing.T) {
	b := newBridge(t, item("MAT-1"))
	sb := newSandbox(t, b)
	sb.Lookup(context.Background(), customer)
	if _, err := sb.Pay(context.Background(), "MAT-1", KindFull, "", true); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Transaction map[string]json.RawMessage `json:"transaction"`
		Checkout    json.RawMessage            `json:"checkout"`
	}
	if err := json.Unmarshal(b.webhooks()[0], &body); err != nil {
		t.Fatal(err)
	}
	// Every key of Efipay's documented example, numbers where it has numbers.
	for _, k := range []string{"transaction_id", "amount", "currency_type", "value_cop", "payment_method", "payment_method_source",
		"trazability_id", "transaction_details", "status", "url_response", "approved_at", "production", "created_at",
		"customer_payer", "currency_rate_conversion"} {
		if _, ok := body.Transaction[k]; !ok {
			t.Errorf("transaction lacks %s", k)
		}
	}
	for _, k := range []string{"transaction_id", "amount", "value_cop"} {
		if v := string(body.Transaction[k]); !regexp.MustCompile(`^[0-9.]+$`).MatchString(v) {
			t.Errorf("%s: got %s, want a JSON number", k, v)
		}
	}
	if got := string(body.Transaction["production"]); got != "true" {
		t.Errorf("production: got %s, want true (as chosen)", got)
	}
	if got := string(body.Checkout); got != `{"payment_gateway":{"advanced_option":{"references":["MAT-1"]}}}` {
		t.Errorf("checkout: got %s", got)
	}
}

func TestPayRefusals(t *testing.T) {
	b := newBridge(t, item("MAT-1"))
	sb := newSandbox(t, b)
	sb.Lookup(context.Background(), customer)
	for _, tc := range []struct {
		name, ref, kind, amount string
		want                    error
	}{
		{"unknown ref", "NOPE", KindFull, "", ErrUnknownRef},
		{"advance without amount", "MAT-1", KindAdvance, "", ErrBadAmount},
		{"negative advance", "MAT-1", KindAdvance, "-5", ErrBadAmount},
		{"reversal of nothing", "MAT-1", KindReversal, "", ErrNothingToRev},
		{"unknown kind", "MAT-1", "gift", "", ErrUnknownKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sb.Pay(context.Background(), tc.ref, tc.kind, tc.amount, false); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if n := len(b.webhooks()); n != 0 {
		t.Errorf("%d webhooks sent, want none", n)
	}
}

func TestRemoteWebhookRefused(t *testing.T) {
	b := newBridge(t, item("MAT-1"))
	clock := func() time.Time { return now }
	sb, err := New(Options{LookupURL: b.srv.URL + "/get-recaudas", WebhookURL: "https://bridge.example.com/webhooks/efipay",
		WebhookToken: []byte(token), Validator: validation.New(clock), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sb.Lookup(context.Background(), customer)
	if _, err := sb.Pay(context.Background(), "MAT-1", KindFull, "", false); !errors.Is(err, loopback.ErrRemote) {
		t.Errorf("got %v, want loopback.ErrRemote", err)
	}
	if len(sb.Deliveries()) != 0 {
		t.Error("a delivery was recorded, want none")
	}
}

// TestRetries: after a non-2xx answer the webhook is retried as Efipay
// does, at most twice, and not after a 2xx.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []int
		want     []int
		received int
	}{
		{"200 at once", nil, []int{200}, 1},
		{"500 then 200", []int{500}, []int{500, 200}, 2},
		{"500, 503, 200", []int{500, 503}, []int{500, 503, 200}, 3},
		{"always 500", []int{500, 500, 500, 500}, []int{500, 500, 500}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBridge(t, item("MAT-1"))
			b.answers = tc.answers
			sb := newSandbox(t, b)
			sb.Lookup(context.Background(), customer)
			sent, err := sb.Pay(context.Background(), "MAT-1", KindFull, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.want) > 1 && sent[0].NextRetry.IsZero() {
				t.Error("after a 500 no retry is scheduled")
			}
			sb.Wait()
			d := sb.Deliveries()[0]
			var got []int
			for _, a := range d.Attempts {
				got = append(got, a.Status)
			}
			if !slices.Equal(got, tc.want) || len(b.webhooks()) != tc.received {
				t.Errorf("attempts: got %v (%d received), want %v (%d)", got, len(b.webhooks()), tc.want, tc.received)
			}
			if !d.NextRetry.IsZero() {
				t.Errorf("next retry %v after the last attempt, want none", d.NextRetry)
			}
		})
	}
}

func TestDefaultLookupURL(t *testing.T) {
	for _, tc := range []struct{ addr, token, want string }{
		{":8080", "", "http://127.0.0.1:8080/get-recaudas"},
		{"0.0.0.0:8080", "s3cret", "http://127.0.0.1:8080/get-recaudas/s3cret"},
		{"127.0.0.1:9000", "", "http://127.0.0.1:9000/get-recaudas"},
		{"[::]:8080", "", "http://127.0.0.1:8080/get-recaudas"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			got, err := DefaultLookupURL(tc.addr, tc.token)
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
			if shown := ShownLookupURL(got, tc.token); tc.token != "" && strings.Contains(shown, tc.token) {
				t.Errorf("shown %q carries the token", shown)
			}
		})
	}
}

func newSite(t *testing.T, sb *Sandbox) *httptest.Server {
	t.Helper()
	pages, err := web.NewSandbox()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(sb, pages, Site{LookupURL: "http://127.0.0.1/get-recaudas/[token]"}, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPages(t *testing.T) {
	b := newBridge(t, item("MAT-1"))
	sb := newSandbox(t, b)
	srv := newSite(t, sb)

	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"home", "/", []string{"Número de identificación", `href="/?lang=en"`}},
		{"lookup in Spanish", "/?id_number=" + customer, []string{"Respuesta en", "(HTTP 200)", "Matrícula primer semestre", "$ 3.450.000,00 COP",
			"Válido según las reglas de Efipay", "5 % hasta el 2026-03-05", "30 % del valor", "$ 3.277.500,00 COP", `id="pay-full-MAT-1"`}},
		{"kept from earlier, in English", "/?id_number=" + customer + "&lang=en", []string{"Answered in", "Offered in an earlier lookup", "Pay in full"}},
		{"webhooks", "/webhooks?lang=es", []string{"Todavía no se ha enviado ningún webhook."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, srv.URL+tc.path)
			if code != 200 {
				t.Fatalf("got %d, want 200", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(body, "sandbox_") || strings.Contains(body, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
				t.Error("page has a missing text, a script or an external asset")
			}
		})
	}

	resp, err := http.PostForm(srv.URL+"/pay", url.Values{"ref": {"MAT-1"}, "kind": {KindAdvance}, "amount": {"1035000"}, "lang": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Payment sent") || !strings.Contains(string(body), "HTTP 200") {
		t.Errorf("pay: got %d, want 200 with the answer shown:\n%s", resp.StatusCode, body)
	}
	if _, body := get(t, srv.URL+"/webhooks"); !strings.Contains(body, "Aprobada") || !strings.Contains(body, "$ 1.035.000,00 COP") {
		t.Error("the list of webhooks lacks the advance")
	}

	resp, err = http.PostForm(srv.URL+"/pay", url.Values{"ref": {"MAT-1"}, "kind": {KindAdvance}, "amount": {"lots"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a bad amount: got %d, want 400", resp.StatusCode)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/pay", strings.NewReader("ref=MAT-1&kind=full"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin POST: got %d, want 403", resp.StatusCode)
	}
}

// TestTexts: every key the templates use has a text in every language
// (the locale package checks that the languages agree with each other).
func TestTexts(t *testing.T) {
	pages, err := web.NewSandbox()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"took", "no_answer", "err_other", "advance_percent", "discount_until", "delivery_free", "delivery_paid", "comments"}
	for _, k := range Kinds {
		keys = append(keys, "kind_"+k)
	}
	used := regexp.MustCompile(`\.T "([a-z_]+)"`)
	for _, tpl := range pages.Templates() {
		for _, m := range used.FindAllStringSubmatch(tpl, -1) {
			keys = append(keys, m[1])
		}
	}
	for _, lang := range locale.Langs() {
		for _, k := range keys {
			if !locale.For(lang).Has(textPrefix + k) {
				t.Errorf("%s has no text for %s%s", lang, textPrefix, k)
			}
		}
	}
}
