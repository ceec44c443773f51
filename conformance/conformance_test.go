package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"recauda-bridge/conformance"
	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// today is the fixed day of the validator: the items' dates are after it.
var today = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

const customer = "1032456789"

// fakeERP is a small hand-written Recauda ERP endpoint. Its zero value
// (plus the item) conforms; each field breaks one thing.
type fakeERP struct {
	// answer replaces how the lookup of customer is written.
	answer func(w http.ResponseWriter, body []byte)
	// mutate changes the item before it is sent.
	mutate func(p *models.Payment)
	// twice sends the item twice, same ref.
	twice bool
	// resend sends the same refs at every lookup (no tracking).
	resend bool
	// delay is waited before each answer.
	delay time.Duration
	// id replaces how the ID number is read from the query: it returns
	// the ID number and whether it is acceptable.
	id func(r *http.Request) (string, bool)
	// unknown replaces the answer for a customer without charges.
	unknown func(w http.ResponseWriter)

	mu   sync.Mutex
	sent map[string]bool
}

func item(id string) models.Payment {
	hasComments := false
	return models.Payment{
		RecaudaInformation: models.RecaudaInformation{
			Description: "Matrícula primer semestre", Amount: models.MustMoney("2500000"), CurrencyType: "COP",
			IDNumber: id, PayerName: "María Fernanda Gómez", RefPayment: "MAT-2026-1",
			Advance: &models.Advance{Type: models.AdvanceMinimumPercent, Value: models.MustMoney("30")},
		},
		AdvancedOptions: &models.AdvancedOptions{
			LimitDate: "2026-03-31", References: []string{"MAT-2026-1"}, HasComments: &hasComments,
			ResultURLs: &models.ResultURLs{Webhook: "https://bridge.example.com/webhooks/efipay"},
		},
	}
}

var digits = regexp.MustCompile(`^[0-9]{5,20}$`)

func strictID(r *http.Request) (string, bool) {
	v := r.URL.Query()["id_number"]
	if len(v) != 1 || !digits.MatchString(v[0]) {
		return "", false
	}
	return v[0], true
}

func (f *fakeERP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(f.delay)
	readID := f.id
	if readID == nil {
		readID = strictID
	}
	id, ok := readID(r)
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"code":"invalid_id_number","message":"id_number must be 5 to 20 digits, once"}}`))
		return
	}
	items := []models.Payment{}
	if id == customer {
		p := item(id)
		if f.mutate != nil {
			f.mutate(&p)
		}
		f.mu.Lock()
		if f.resend || !f.sent[p.RecaudaInformation.RefPayment] {
			items = append(items, p)
			if f.twice {
				items = append(items, p)
			}
		}
		if f.sent == nil {
			f.sent = map[string]bool{}
		}
		f.sent[p.RecaudaInformation.RefPayment] = true
		f.mu.Unlock()
	} else if f.unknown != nil {
		f.unknown(w)
		return
	}
	body, _ := json.Marshal(models.PaymentsResponse{Payments: items})
	if f.answer != nil && id == customer {
		f.answer(w, body)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

func check(t *testing.T, h http.Handler, o conformance.Options) *conformance.Report {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o.URL = srv.URL + "/get-recaudas"
	o.IDNumbers = []string{customer}
	o.Validator = validation.New(func() time.Time { return today })
	if o.Calls == 0 {
		o.Calls = 3
	}
	if o.WarnAfter == 0 {
		o.WarnAfter, o.FailAfter = 20*time.Second, 30*time.Second
	}
	rep, err := conformance.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func TestAConformingEndpointPassesEveryCheck(t *testing.T) {
	rep := check(t, &fakeERP{}, conformance.Options{})
	want := []string{conformance.CheckLetters, conformance.CheckTooLong, conformance.CheckEmpty, conformance.CheckRepeated,
		conformance.CheckUnknown, conformance.CheckStatus, conformance.CheckContentType, conformance.CheckBody,
		conformance.CheckItemRules, conformance.CheckIDNumber, conformance.CheckRefUnique, conformance.CheckHasComments,
		conformance.CheckWebhookURL, conformance.CheckNoResend, conformance.CheckTiming}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Check)
		if r.Status != conformance.Pass {
			t.Errorf("%s: got %s (%s), want PASS", r.Check, r.Status, r.Reason)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("checks run: got %v, want %v", got, want)
	}
	if rep.Verdict != conformance.Pass || rep.Passed != len(want) {
		t.Errorf("verdict: got %s with %d passed, want PASS with %d", rep.Verdict, rep.Passed, len(want))
	}
}

// TestEachBrokenEndpointFailsItsCheck breaks one thing at a time: the named
// check gets its verdict and reason, and no other check fails except those
// the breakage necessarily touches (alsoFail).
func TestEachBrokenEndpointFailsItsCheck(t *testing.T) {
	firstValue := func(r *http.Request) (string, bool) { return r.URL.Query().Get("id_number"), true }
	tests := []struct {
		name     string
		erp      *fakeERP
		opts     conformance.Options
		check    string
		want     conformance.Status
		reason   string
		alsoFail []string
	}{
		{name: "503", erp: &fakeERP{answer: func(w http.ResponseWriter, _ []byte) { w.WriteHeader(503) }},
			check: conformance.CheckStatus, want: conformance.Fail, reason: "got 503, want 200"},
		{name: "redirect", erp: &fakeERP{answer: func(w http.ResponseWriter, _ []byte) {
			w.Header().Set("Location", "/login")
			w.WriteHeader(302)
		}}, check: conformance.CheckStatus, want: conformance.Fail, reason: "got 302, want 200"},
		{name: "text/html", erp: &fakeERP{answer: func(w http.ResponseWriter, b []byte) {
			w.Header().Set("Content-Type", "text/html")
			w.Write(b)
		}}, check: conformance.CheckContentType, want: conformance.Fail, reason: `got "text/html", want application/json`},
		{name: "a bare array", erp: &fakeERP{answer: func(w http.ResponseWriter, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[]`))
		}}, check: conformance.CheckBody, want: conformance.Fail, reason: "not a JSON object"},
		{name: "an extra key", erp: &fakeERP{answer: func(w http.ResponseWriter, b []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true,"payments":` + strings.TrimPrefix(string(b), `{"payments":`)))
		}}, check: conformance.CheckBody, want: conformance.Fail, reason: `keys other than "payments": ok`},
		{name: "payments null", erp: &fakeERP{answer: func(w http.ResponseWriter, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"payments":null}`))
		}}, check: conformance.CheckBody, want: conformance.Fail, reason: `"payments" is not an array`},
		{name: "three decimals", erp: &fakeERP{mutate: func(p *models.Payment) { p.RecaudaInformation.Amount = models.MustMoney("18333.333") }},
			check: conformance.CheckItemRules, want: conformance.Fail, reason: "item 1 (MAT-2026-1): recauda_information.amount decimal_places"},
		{name: "limit date passed", erp: &fakeERP{mutate: func(p *models.Payment) { p.AdvancedOptions.LimitDate = "2026-03-01" }},
			check: conformance.CheckItemRules, want: conformance.Fail, reason: "advanced_options.limit_date not_before_today"},
		{name: "an amount as an unreadable string", erp: &fakeERP{answer: func(w http.ResponseWriter, b []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(strings.Replace(string(b), `"amount":2500000`, `"amount":"2.500.000"`, 1)))
		}}, check: conformance.CheckItemRules, want: conformance.Fail, reason: "item 1: unreadable"},
		{name: "another customer's item", erp: &fakeERP{mutate: func(p *models.Payment) { p.RecaudaInformation.IDNumber = "79845123" }},
			check: conformance.CheckIDNumber, want: conformance.Fail, reason: "id_number differs from the one asked for: item 1 (MAT-2026-1)"},
		{name: "a ref twice", erp: &fakeERP{twice: true},
			check: conformance.CheckRefUnique, want: conformance.Fail, reason: "ref_payment repeated in the answer: MAT-2026-1"},
		{name: "has_comments missing", erp: &fakeERP{mutate: func(p *models.Payment) { p.AdvancedOptions.HasComments = nil }},
			check: conformance.CheckHasComments, want: conformance.Fail, reason: "advanced_options.has_comments missing",
			alsoFail: []string{conformance.CheckItemRules}},
		{name: "advanced_options null", erp: &fakeERP{mutate: func(p *models.Payment) { p.AdvancedOptions = nil }},
			check: conformance.CheckHasComments, want: conformance.Fail, reason: "has_comments missing",
			alsoFail: []string{conformance.CheckWebhookURL}},
		{name: "no webhook URL", erp: &fakeERP{mutate: func(p *models.Payment) { p.AdvancedOptions.ResultURLs = nil }},
			check: conformance.CheckWebhookURL, want: conformance.Fail, reason: "item 1 (MAT-2026-1): none"},
		{name: "a relative webhook URL", erp: &fakeERP{mutate: func(p *models.Payment) { p.AdvancedOptions.ResultURLs.Webhook = "/webhooks/efipay" }},
			check: conformance.CheckWebhookURL, want: conformance.Fail, reason: `"/webhooks/efipay"`,
			alsoFail: []string{conformance.CheckItemRules}},
		{name: "an http webhook URL", erp: &fakeERP{mutate: func(p *models.Payment) {
			p.AdvancedOptions.ResultURLs.Webhook = "http://bridge.example.com/webhooks/efipay"
		}}, check: conformance.CheckWebhookURL, want: conformance.Warn, reason: "plain http"},
		{name: "refs sent again", erp: &fakeERP{resend: true},
			check: conformance.CheckNoResend, want: conformance.Warn, reason: "sent again 1 of the first's 1 ref (MAT-2026-1)"},
		{name: "slow", erp: &fakeERP{delay: 300 * time.Millisecond}, opts: conformance.Options{WarnAfter: 10 * time.Millisecond, FailAfter: 100 * time.Millisecond},
			check: conformance.CheckTiming, want: conformance.Fail, reason: "above 100ms, Efipay gives up"},
		{name: "sluggish", erp: &fakeERP{delay: 300 * time.Millisecond}, opts: conformance.Options{WarnAfter: 10 * time.Millisecond, FailAfter: time.Minute},
			check: conformance.CheckTiming, want: conformance.Warn, reason: "above 10ms, the customer waits"},
		{name: "letters dropped", erp: &fakeERP{id: func(r *http.Request) (string, bool) {
			v := r.URL.Query()["id_number"]
			if len(v) != 1 {
				return "", false
			}
			id := regexp.MustCompile(`[^0-9]`).ReplaceAllString(v[0], "")
			return id, digits.MatchString(id)
		}}, check: conformance.CheckLetters, want: conformance.Fail, reason: "letters in id_number: got 200 with 1 payment, want nobody's data"},
		{name: "long numbers cut", erp: &fakeERP{id: func(r *http.Request) (string, bool) {
			v := r.URL.Query()["id_number"]
			if len(v) != 1 || !regexp.MustCompile(`^[0-9]{5,}$`).MatchString(v[0]) {
				return "", false
			}
			return v[0][:min(len(v[0]), 10)], true
		}}, check: conformance.CheckTooLong, want: conformance.Fail, reason: "an id_number of 50 digits: got 200 with 1 payment"},
		{name: "empty breaks it", erp: &fakeERP{id: func(r *http.Request) (string, bool) {
			if r.URL.Query().Get("id_number") == "" {
				panic(http.ErrAbortHandler) // a crash: the connection drops unanswered
			}
			return strictID(r)
		}}, check: conformance.CheckEmpty, want: conformance.Fail, reason: "an empty id_number: no answer"},
		{name: "empty gets 500", erp: &fakeERP{id: func(r *http.Request) (string, bool) {
			if r.URL.Query().Get("id_number") == "" {
				return "", true // the fake then answers 500 below
			}
			return strictID(r)
		}, unknown: func(w http.ResponseWriter) { http.Error(w, "boom", 500) }},
			check: conformance.CheckEmpty, want: conformance.Fail, reason: "an empty id_number: got 500, want a 4xx or an empty list",
			alsoFail: []string{conformance.CheckUnknown}},
		{name: "the first of two values", erp: &fakeERP{id: firstValue},
			check: conformance.CheckRepeated, want: conformance.Fail, reason: "id_number twice: got 200 with 1 payment"},
		{name: "404 for nothing pending", erp: &fakeERP{unknown: func(w http.ResponseWriter) { http.Error(w, "not found", 404) }},
			check: conformance.CheckUnknown, want: conformance.Warn, reason: "got 404"},
		{name: "null for nothing pending", erp: &fakeERP{unknown: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"payments":null}`))
		}}, check: conformance.CheckUnknown, want: conformance.Fail, reason: `got "{\"payments\":null}", want {"payments":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := check(t, tc.erp, tc.opts)
			found := false
			for _, r := range rep.Results {
				if r.Check == tc.check {
					found = true
					if r.Status != tc.want || !strings.Contains(r.Reason, tc.reason) {
						t.Errorf("%s: got %s %q, want %s containing %q", r.Check, r.Status, r.Reason, tc.want, tc.reason)
					}
					continue
				}
				if r.Status == conformance.Fail && !contains(tc.alsoFail, r.Check) {
					t.Errorf("%s: got FAIL (%s), want only %s to fail", r.Check, r.Reason, tc.check)
				}
			}
			if !found {
				t.Fatalf("no %s result in %+v", tc.check, rep.Results)
			}
			wantVerdict := tc.want
			if rep.Verdict != wantVerdict && !(tc.want == conformance.Warn && rep.Verdict == conformance.Fail) {
				t.Errorf("verdict: got %s, want %s", rep.Verdict, wantVerdict)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestTokenGoesInThePathAndHeadersAreSent(t *testing.T) {
	var paths, keys []string
	var mu sync.Mutex
	erp := &fakeERP{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		keys = append(keys, r.Header.Get("X-Api-Key"))
		mu.Unlock()
		erp.ServeHTTP(w, r)
	})
	rep := check(t, h, conformance.Options{Token: "s3cret", Header: http.Header{"X-Api-Key": {"k1"}}})
	if rep.Verdict != conformance.Pass {
		t.Errorf("verdict: got %s, want PASS", rep.Verdict)
	}
	for i := range paths {
		if paths[i] != "/get-recaudas/s3cret" || keys[i] != "k1" {
			t.Fatalf("call %d: got path %q and X-Api-Key %q, want /get-recaudas/s3cret and k1", i, paths[i], keys[i])
		}
	}
	if strings.Contains(rep.Target, "s3cret") || !strings.HasSuffix(rep.Target, "/get-recaudas/[token]") {
		t.Errorf("target: got %q, want the URL with [token] in place of the secret", rep.Target)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"not a URL", "get-recaudas"},
		{"ftp", "ftp://127.0.0.1/get-recaudas"},
		{"remote without consent", "https://erp.example.com/get-recaudas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conformance.Run(context.Background(), conformance.Options{URL: tc.url})
			if !errors.Is(err, conformance.ErrUsage) {
				t.Errorf("got %v, want ErrUsage", err)
			}
		})
	}
}
