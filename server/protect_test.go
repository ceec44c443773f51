package server_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/handlers"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/recauda"
	"recauda-bridge/server"
)

const lookupToken = "lookup-token-for-tests-0123456789"

// request is one request to the stack: target, the direct peer's address
// and headers as name, value pairs.
func (s *stack) request(t *testing.T, method, target, peer string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if peer != "" {
		req.RemoteAddr = peer
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, req)
	return rec
}

// wantError fails unless rec is status with the one error shape and code.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type = %q, want application/json", ct)
	}
	if got := decodeError(t, rec).Error.Code; got != code {
		t.Fatalf("error code = %q, want %q", got, code)
	}
}

func protectedStack(t *testing.T, mod func(d *server.Config)) *stack {
	t.Helper()
	src := &erptest.Source{PendingChargesFunc: erptest.Static(map[string][]erp.Charge{
		"12345678": {charge("P-1", "12345678")},
	})}
	return newStack(t, src, func(_ *recauda.Config, d *server.Config) { mod(d) })
}

func TestLookupToken(t *testing.T) {
	s := protectedStack(t, func(d *server.Config) { d.LookupToken = lookupToken })
	tests := []struct {
		name   string
		target string
		header []string
		want   int
	}{
		{"token in path", "/get-recaudas/" + lookupToken + "?id_number=12345678", nil, 200},
		{"token in header", "/get-recaudas?id_number=12345678", []string{handlers.LookupTokenHeader, lookupToken}, 200},
		{"no token", "/get-recaudas?id_number=12345678", nil, 401},
		{"wrong token in path", "/get-recaudas/" + strings.ToUpper(lookupToken) + "?id_number=12345678", nil, 401},
		{"prefix of the token in path", "/get-recaudas/" + lookupToken[:10] + "?id_number=12345678", nil, 401},
		{"wrong token in header", "/get-recaudas?id_number=12345678", []string{handlers.LookupTokenHeader, "nope"}, 401},
		{"empty header", "/get-recaudas?id_number=12345678", []string{handlers.LookupTokenHeader, ""}, 401},
		{"wrong path token, right header", "/get-recaudas/nope?id_number=12345678", []string{handlers.LookupTokenHeader, lookupToken}, 401},
		// Authentication comes before input checks: a stranger learns nothing.
		{"no token, bad input", "/get-recaudas?id_number=12", nil, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.request(t, http.MethodGet, tt.target, "", tt.header...)
			if tt.want != 200 {
				wantError(t, rec, tt.want, "unauthorized")
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Fatal("401 without WWW-Authenticate")
				}
				if strings.Contains(rec.Body.String(), lookupToken) {
					t.Fatalf("the answer quotes the token: %s", rec.Body)
				}
				return
			}
			if rec.Code != 200 {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			decodePayments(t, rec)
		})
	}

	open := protectedStack(t, func(d *server.Config) {})
	if rec := open.get(t, "/get-recaudas/"+lookupToken+"?id_number=12345678"); rec.Code != http.StatusNotFound {
		t.Fatalf("token route without LOOKUP_TOKEN = %d, want 404", rec.Code)
	}
	if rec := open.get(t, "/get-recaudas?id_number=12345678"); rec.Code != http.StatusOK {
		t.Fatalf("open lookup = %d %s, want 200", rec.Code, rec.Body)
	}
}

func TestLookupAllowlist(t *testing.T) {
	s := protectedStack(t, func(d *server.Config) {
		d.LookupAllowCIDRs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	})
	tests := []struct {
		peer string
		want int
	}{
		{"203.0.113.5:40000", 200},
		{"[2001:db8::7]:40000", 200},
		{"[::ffff:203.0.113.9]:40000", 200},
		{"198.51.100.1:40000", 403},
		{"[2001:db9::1]:40000", 403},
		{"127.0.0.1:40000", 403},
	}
	for _, tt := range tests {
		t.Run(tt.peer, func(t *testing.T) {
			rec := s.request(t, http.MethodGet, "/get-recaudas?id_number=12345678", tt.peer)
			if tt.want == 403 {
				wantError(t, rec, 403, "forbidden")
				return
			}
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
	// The other routes are not the lookup's business.
	if rec := s.request(t, http.MethodGet, "/healthz", "198.51.100.1:40000"); rec.Code != http.StatusOK {
		t.Fatalf("/healthz from outside the allowlist = %d, want 200", rec.Code)
	}
}

func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
	proxied := protectedStack(t, func(d *server.Config) {
		d.LookupAllowCIDRs = allow
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	})
	direct := protectedStack(t, func(d *server.Config) { d.LookupAllowCIDRs = allow })
	tests := []struct {
		name string
		s    *stack
		peer string
		xff  []string
		want int
	}{
		{"untrusted peer claims an allowed address", proxied, "198.51.100.9:1", []string{"203.0.113.5"}, 403},
		{"trusted proxy forwards an allowed client", proxied, "10.0.0.2:1", []string{"203.0.113.5"}, 200},
		{"trusted IPv6 proxy forwards an allowed client", proxied, "[fd00::2]:1", []string{"203.0.113.5"}, 200},
		{"two trusted proxies", proxied, "10.0.0.2:1", []string{"203.0.113.5, 10.0.0.3"}, 200},
		{"header repeated by two proxies", proxied, "10.0.0.2:1", []string{"203.0.113.5", "10.0.0.3"}, 200},
		{"client forges the left of the header", proxied, "10.0.0.2:1", []string{"203.0.113.5, 198.51.100.9"}, 403},
		{"forged part left of an allowed client is ignored", proxied, "10.0.0.2:1", []string{"198.51.100.9, 203.0.113.5"}, 200},
		{"unreadable hop: the proxy itself is the client", proxied, "10.0.0.2:1", []string{"203.0.113.5, bogus"}, 403},
		{"hop with a port", proxied, "10.0.0.2:1", []string{"203.0.113.5:4711"}, 200},
		{"forged hop with a port left of the client", proxied, "10.0.0.2:1", []string{"203.0.113.5, 198.51.100.9:4711"}, 403},
		{"trusted hop with a port", proxied, "10.0.0.2:1", []string{"203.0.113.5, 10.0.0.3:8080"}, 200},
		{"bracketed IPv6 hop with a port", proxied, "10.0.0.2:1", []string{"[2001:db8::5]:4711"}, 200},
		{"forged bracketed IPv6 hop", proxied, "10.0.0.2:1", []string{"203.0.113.5, [2001:dc8::5]:4711"}, 403},
		{"bracketed IPv6 hop without a port", proxied, "10.0.0.2:1", []string{"[fd00::3], 203.0.113.5"}, 200},
		{"bracketed trusted IPv6 hop with a port", proxied, "10.0.0.2:1", []string{"203.0.113.5, [fd00::3]:443"}, 200},
		{"trusted proxy without the header", proxied, "10.0.0.2:1", nil, 403},
		{"no trusted proxies: the header is ignored", direct, "127.0.0.1:1", []string{"203.0.113.5"}, 403},
		{"no trusted proxies: the peer counts", direct, "203.0.113.5:1", []string{"198.51.100.9"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			for _, v := range tt.xff {
				header = append(header, "X-Forwarded-For", v)
			}
			rec := tt.s.request(t, http.MethodGet, "/get-recaudas?id_number=12345678", tt.peer, header...)
			if tt.want == 403 {
				wantError(t, rec, 403, "forbidden")
				return
			}
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestLookupRateLimit(t *testing.T) {
	clk := &clock{now: fixedNow}
	s := protectedStack(t, func(d *server.Config) {
		d.LookupRate = throttle.Rate{Count: 2, Per: time.Minute}
		d.LookupToken = lookupToken
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		d.Now = clk.Now
	})
	lookup := func(peer string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		return s.request(t, http.MethodGet, "/get-recaudas/"+lookupToken+"?id_number=12345678", peer, header...)
	}
	for i := range 2 {
		if rec := lookup("198.51.100.1:1"); rec.Code != http.StatusOK {
			t.Fatalf("lookup %d = %d %s, want 200", i+1, rec.Code, rec.Body)
		}
	}
	rec := lookup("198.51.100.1:1")
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited")
	if got := rec.Header().Get("Retry-After"); got != "30" {
		t.Fatalf("Retry-After = %q, want 30 (2 per minute: one every 30 s)", got)
	}
	// Another client has its own budget, also through a trusted proxy.
	if rec := lookup("198.51.100.2:1"); rec.Code != http.StatusOK {
		t.Fatalf("another client = %d, want 200", rec.Code)
	}
	if rec := lookup("10.0.0.2:1", "X-Forwarded-For", "198.51.100.3"); rec.Code != http.StatusOK {
		t.Fatalf("a proxied client = %d, want 200", rec.Code)
	}
	// Clients behind a proxy that writes ip:port hops keep a budget each
	// (an unread hop would put them all in the proxy's one bucket).
	for i, hop := range []string{"198.51.100.5:4711", "[2001:db8::5]:4711", "198.51.100.6:80", "198.51.100.7:80"} {
		if rec := lookup("10.0.0.2:1", "X-Forwarded-For", hop); rec.Code != http.StatusOK {
			t.Fatalf("proxied client %d (%s) = %d, want 200", i+1, hop, rec.Code)
		}
	}
	// Nor by switching to the header form of the token: one budget per client.
	rec = s.request(t, http.MethodGet, "/get-recaudas?id_number=12345678", "198.51.100.1:1", handlers.LookupTokenHeader, lookupToken)
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited")
	// A client cannot escape its limit by forging X-Forwarded-For.
	rec = lookup("198.51.100.1:1", "X-Forwarded-For", "192.0.2.77")
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited")

	// Guessing the token costs the same budget.
	for range 2 {
		s.request(t, http.MethodGet, "/get-recaudas/guess?id_number=12345678", "198.51.100.4:1")
	}
	wantError(t, s.request(t, http.MethodGet, "/get-recaudas/guess?id_number=12345678", "198.51.100.4:1"), http.StatusTooManyRequests, "rate_limited")

	clk.advance(29 * time.Second)
	if rec := lookup("198.51.100.1:1"); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("after 29 s = %d Retry-After %q, want 429 with Retry-After 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clk.advance(time.Second)
	if rec := lookup("198.51.100.1:1"); rec.Code != http.StatusOK {
		t.Fatalf("after 30 s = %d %s, want 200 again", rec.Code, rec.Body)
	}
	wantError(t, lookup("198.51.100.1:1"), http.StatusTooManyRequests, "rate_limited")
	clk.advance(10 * time.Minute)
	for i := range 2 {
		if rec := lookup("198.51.100.1:1"); rec.Code != http.StatusOK {
			t.Fatalf("after a quiet while, lookup %d = %d, want 200 (a full budget)", i+1, rec.Code)
		}
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	s := adminStack(t, map[string][]erp.Charge{"11111111": {charge("H-PAID", "11111111")}})
	decodePayments(t, s.get(t, "/get-recaudas?id_number=11111111"))
	s.pay(t, "901", "H-PAID")

	dataCSP := "default-src 'none'"
	htmlCSP := "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
	tests := []struct {
		name, target string
		header       []string
		status       int
		csp          string
	}{
		{"lookup", "/get-recaudas?id_number=11111111", nil, 200, dataCSP},
		{"lookup error", "/get-recaudas?id_number=12", nil, 400, dataCSP},
		{"unknown route", "/nope", nil, 404, dataCSP},
		{"health", "/healthz", nil, 200, dataCSP},
		{"admin JSON", "/admin/api/charges", []string{"Authorization", "Bearer " + adminToken}, 200, dataCSP},
		{"admin refused", "/admin/api/charges", nil, 401, dataCSP},
		{"admin HTML", "/admin/api/charges/H-PAID/receipt", []string{"Authorization", "Bearer " + adminToken, "Accept", "text/html"}, 200, htmlCSP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.request(t, http.MethodGet, tt.target, "", tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			h := rec.Header()
			for name, want := range map[string]string{
				"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := h.Get("Content-Security-Policy"); !strings.HasPrefix(got, tt.csp) {
				t.Errorf("Content-Security-Policy = %q, want %q", got, tt.csp)
			}
			if h.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestRequestIDEchoed(t *testing.T) {
	s := protectedStack(t, func(d *server.Config) {})
	first, second := s.get(t, "/healthz").Header().Get("X-Request-Id"), s.get(t, "/healthz").Header().Get("X-Request-Id")
	if first == "" || first == second {
		t.Fatalf("request IDs %q, %q; want two different, non-empty", first, second)
	}
	if got := s.request(t, http.MethodGet, "/healthz", "", "X-Request-Id", "efipay-abc.123").Header().Get("X-Request-Id"); got != "efipay-abc.123" {
		t.Fatalf("a plain incoming request ID came back as %q, want it echoed", got)
	}
	for _, bad := range []string{"id number 1032456789", strings.Repeat("a", 65), "a\"b"} {
		got := s.request(t, http.MethodGet, "/healthz", "", "X-Request-Id", bad).Header().Get("X-Request-Id")
		if got == "" || got == bad {
			t.Fatalf("incoming request ID %q came back as %q, want a new one", bad, got)
		}
	}
}

func TestOpenAPIContractLookupProtection(t *testing.T) {
	c := lookupProtectionContract(t)
	for _, want := range []string{"GET /get-recaudas/{token} 200", "GET /get-recaudas 403", "GET /get-recaudas 429", "GET /metrics 200"} {
		if c.seen[want] == 0 {
			t.Errorf("%s was not checked", want)
		}
	}
}

// lookupProtectionContract checks the answers of the lookup's protection and
// of /metrics against the OpenAPI document; TestOpenAPIContract counts them.
func lookupProtectionContract(t *testing.T) *contract {
	t.Helper()
	s := protectedStack(t, func(d *server.Config) {
		d.LookupToken, d.MetricsToken = lookupToken, metricsToken
		d.LookupAllowCIDRs = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // httptest's peer is 192.0.2.1
		d.LookupRate = throttle.Rate{Count: 3, Per: time.Hour}
	})
	c := loadContract(t, s)
	c.want(c.do(http.MethodGet, "/get-recaudas/"+lookupToken+"?id_number=12345678", nil), 200)
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=12345678", nil, handlers.LookupTokenHeader, lookupToken), 200)
	c.want(c.do(http.MethodGet, "/get-recaudas/wrong?id_number=12345678", nil), 401)
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=12345678", nil), 429)
	c.want(c.do(http.MethodGet, "/get-recaudas?id_number=12345678", nil, "X-Forwarded-For", "203.0.113.1"), 429)
	c.want(c.do(http.MethodGet, "/metrics", nil), 401)
	c.want(c.do(http.MethodGet, "/metrics", nil, "Authorization", "Bearer "+metricsToken), 200)

	outside := protectedStack(t, func(d *server.Config) {
		d.LookupAllowCIDRs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	})
	o := loadContract(t, outside)
	o.want(o.do(http.MethodGet, "/get-recaudas?id_number=12345678", nil), 403)
	for k, n := range o.seen {
		c.seen[k] += n
	}
	return c
}

// TestLookupRateLimitIPv6ByPrefix: an IPv6 client is its /64 (or the
// configured prefix), since every address in it is one customer's; IPv4
// counts per address.
func TestLookupRateLimitIPv6ByPrefix(t *testing.T) {
	tests := []struct {
		name   string
		prefix int
		first  []string // peers that share one budget of 2
		other  string   // a peer with a budget of its own
	}{
		{"default /64", 0, []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", "[2001:db8:1:2::77]:1"}, "[2001:db8:1:3::1]:1"},
		{"/56", 56, []string{"[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1", "[2001:db8:1:ff::1]:1"}, "[2001:db8:1:100::1]:1"},
		{"IPv4 per address", 0, []string{"198.51.100.1:1", "198.51.100.1:2", "[::ffff:198.51.100.1]:3"}, "198.51.100.2:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := protectedStack(t, func(d *server.Config) {
				d.LookupRate = throttle.Rate{Count: 2, Per: time.Minute}
				d.IPv6Prefix = tt.prefix
				d.Now = func() time.Time { return fixedNow }
			})
			lookup := func(peer string) *httptest.ResponseRecorder {
				return s.request(t, http.MethodGet, "/get-recaudas?id_number=12345678", peer)
			}
			for _, peer := range tt.first[:2] {
				if rec := lookup(peer); rec.Code != http.StatusOK {
					t.Fatalf("lookup from %s = %d, want 200", peer, rec.Code)
				}
			}
			wantError(t, lookup(tt.first[2]), http.StatusTooManyRequests, "rate_limited")
			if rec := lookup(tt.other); rec.Code != http.StatusOK {
				t.Fatalf("lookup from %s = %d, want 200 (a budget of its own)", tt.other, rec.Code)
			}
		})
	}
}
