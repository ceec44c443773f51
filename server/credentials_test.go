package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/logging"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

// TestFailedCredentialsAreThrottled: after 10 failed credentials in a
// minute, of whatever kind, a client gets 429 with Retry-After, the right
// credential included, until its budget refills; other clients are not
// touched; every refusal is logged with the client's address.
func TestFailedCredentialsAreThrottled(t *testing.T) {
	const client, other = "192.0.2.1", "198.51.100.2:1" // client: httptest's own peer
	type attempt func(s *stack, right bool, peer string) *httptest.ResponseRecorder
	bearer := func(path string, token string) attempt {
		return func(s *stack, right bool, peer string) *httptest.ResponseRecorder {
			sent := token
			if !right {
				sent = "wrong-" + token
			}
			return s.request(t, http.MethodGet, path, peer, "Authorization", "Bearer "+sent)
		}
	}
	lookup := func(s *stack, right bool, peer string) *httptest.ResponseRecorder {
		token := lookupToken
		if !right {
			token = "a-wrong-lookup-token-guess"
		}
		return s.request(t, http.MethodGet, "/get-recaudas/"+token+"?id_number=12345678", peer)
	}
	signIn := func(s *stack, right bool, peer string) *httptest.ResponseRecorder {
		c := newDashClient(t, s)
		form := c.get("/admin/login")
		token := adminToken
		if !right {
			token += "-guess"
		}
		req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"csrf": {csrfOf(t, form)}, "token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if peer != "" {
			req.RemoteAddr = peer
		}
		for _, ck := range c.jar.Cookies(siteURL.ResolveReference(&url.URL{Path: "/admin/login"})) {
			req.AddCookie(ck)
		}
		rec := httptest.NewRecorder()
		s.e.ServeHTTP(rec, req)
		return rec
	}
	tests := []struct {
		name       string
		try        attempt
		wantOK     int
		credential string
	}{
		{"lookup token", lookup, http.StatusOK, "lookup_token"},
		{"admin API", bearer("/admin/api/charges", adminToken), http.StatusOK, "admin_token"},
		{"metrics", bearer("/metrics", metricsToken), http.StatusOK, "metrics_token"},
		{"dashboard sign-in", signIn, http.StatusSeeOther, "dashboard_sign_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: fixedNow}
			logs := &logBuffer{}
			s := newStack(t, &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
				"12345678": {charge("P-1", "12345678")},
			})}, func(_ *recauda.Config, d *server.Config) {
				d.LookupToken, d.AdminToken, d.MetricsToken = lookupToken, adminToken, metricsToken
				d.Now, d.Logger = clk.Now, logging.New(logs, "json", slog.LevelInfo)
			})
			for i := range 10 {
				if rec := tt.try(s, false, ""); rec.Code != http.StatusUnauthorized {
					t.Fatalf("wrong credential %d = %d, want 401", i+1, rec.Code)
				}
			}
			rec := tt.try(s, true, "")
			if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "6" {
				t.Fatalf("the right credential after 10 failures = %d, Retry-After %q; want 429 with Retry-After 6",
					rec.Code, rec.Header().Get("Retry-After"))
			}
			if rec := tt.try(s, true, other); rec.Code != tt.wantOK {
				t.Fatalf("another client = %d, want %d", rec.Code, tt.wantOK)
			}
			clk.advance(6 * time.Second)
			if rec := tt.try(s, true, ""); rec.Code != tt.wantOK {
				t.Fatalf("6 s later = %d, want %d", rec.Code, tt.wantOK)
			}
			out := logs.String()
			if n := strings.Count(out, `"msg":"credential refused"`); n != 10 {
				t.Errorf("got %d refusals logged, want 10:\n%s", n, out)
			}
			if n := strings.Count(out, `"client":"`+client+`"`); n < 11 {
				t.Errorf("got %d log lines naming the client %s, want every refusal (10) and the throttling:\n%s", n, client, out)
			}
			if n := strings.Count(out, `"credential":"`+tt.credential+`"`); n < 11 {
				t.Errorf("got %d log lines naming the credential %s, want at least 11", n, tt.credential)
			}
			if strings.Contains(out, "wrong-") || strings.Contains(out, "guess") {
				t.Errorf("a log line shows the credential sent:\n%s", out)
			}
		})
	}
}

// TestFailedCredentialsCountTogether: a client cannot get 10 guesses per
// credential by spreading them over the lookup, the admin API and metrics;
// an IPv6 client is counted by its /64.
func TestFailedCredentialsCountTogether(t *testing.T) {
	s := newStack(t, &erptest.Source{PendingChargesFunc: erptest.Static(nil)}, func(_ *recauda.Config, d *server.Config) {
		d.LookupToken, d.AdminToken, d.MetricsToken = lookupToken, adminToken, metricsToken
	})
	peers := []string{"[2001:db8:0:1::1]:1", "[2001:db8:0:1::2]:1", "[2001:db8:0:1:ffff::3]:1"}
	for i := range 10 {
		peer := peers[i%len(peers)]
		var rec *httptest.ResponseRecorder
		switch i % 3 {
		case 0:
			rec = s.request(t, http.MethodGet, "/get-recaudas/guess-of-the-lookup-token?id_number=12345678", peer)
		case 1:
			rec = s.request(t, http.MethodGet, "/admin/api/charges", peer, "Authorization", "Bearer guess")
		default:
			rec = s.request(t, http.MethodGet, "/metrics", peer, "Authorization", "Bearer guess")
		}
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i+1, rec.Code)
		}
	}
	wantError(t, s.request(t, http.MethodGet, "/metrics", "[2001:db8:0:1::9]:1", "Authorization", "Bearer "+metricsToken),
		http.StatusTooManyRequests, "rate_limited")
	if rec := s.request(t, http.MethodGet, "/metrics", "[2001:db8:0:2::9]:1", "Authorization", "Bearer "+metricsToken); rec.Code != http.StatusOK {
		t.Fatalf("another /64 = %d, want 200", rec.Code)
	}
}
