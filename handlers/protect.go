package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"recauda-bridge/redact"
)

// Protecting the lookup. Efipay documents no authentication for its call, so
// the merchant gets what can be configured in Efipay's portal: a secret in the
// URL or a header (LOOKUP_TOKEN), an allowlist of networks, and a rate limit
// per client address. A route runs them in that order: allowlist (403), rate
// limit (429), token (401), so that guessing the token is rate limited too.

// LookupTokenHeader carries LOOKUP_TOKEN when it is not in the path.
const LookupTokenHeader = "X-Lookup-Token"

// maxRateClients bounds the rate limiter's memory: past it, a new client
// takes the place of an arbitrary one (which starts afresh next time).
const maxRateClients = 65536

// Rate is at most Count requests per Per; the zero Rate is no limit.
type Rate struct {
	Count int
	Per   time.Duration
}

// clientIP returns Echo's IPExtractor for the given trusted proxies. The
// client is the direct peer unless the peer is a trusted proxy; then it is
// the rightmost X-Forwarded-For address that is not a trusted proxy. A client
// can write anything into X-Forwarded-For, but only to the left of what the
// trusted proxies append, so reading from the right stops at the first
// address no trusted proxy vouches for.
func clientIP(trusted []netip.Prefix) echo.IPExtractor {
	return func(r *http.Request) string {
		peer := peerAddr(r.RemoteAddr)
		if !peer.IsValid() {
			return ""
		}
		if len(trusted) == 0 || !inAny(trusted, peer) {
			return peer.String()
		}
		hops := strings.Split(strings.Join(r.Header.Values(echo.HeaderXForwardedFor), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := strings.TrimSpace(hops[i])
			if hop == "" {
				continue
			}
			a, ok := hopAddr(hop)
			if !ok {
				// A trusted proxy wrote something unreadable: believe
				// nothing further left.
				return peer.String()
			}
			if !inAny(trusted, a) {
				return a.String()
			}
			peer = a
		}
		// Every hop is a trusted proxy: the furthest one is all there is.
		return peer.String()
	}
}

// scheme returns Echo's SchemeExtractor for the given trusted proxies:
// "https" over TLS, or when the direct peer is a trusted proxy whose
// X-Forwarded-Proto (the last one, its own) says https; otherwise "http".
// Echo's default believes the header from any private or loopback peer,
// and the dashboard's cookies are marked Secure by it.
func scheme(trusted []netip.Prefix) echo.SchemeExtractor {
	return func(r *http.Request) string {
		if r.TLS != nil {
			return "https"
		}
		if len(trusted) == 0 || !inAny(trusted, peerAddr(r.RemoteAddr)) {
			return "http"
		}
		protos := strings.Split(strings.Join(r.Header.Values(echo.HeaderXForwardedProto), ","), ",")
		if strings.EqualFold(strings.TrimSpace(protos[len(protos)-1]), "https") {
			return "https"
		}
		return "http"
	}
}

// hopAddr reads one X-Forwarded-For hop as proxies write it: an address
// ("203.0.113.5", "2001:db8::1"), with a port ("203.0.113.5:4711",
// "[2001:db8::1]:4711") or bracketed without one ("[2001:db8::1]").
func hopAddr(hop string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(hop)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(hop); perr == nil {
			a, err = ap.Addr(), nil
		} else if strings.HasPrefix(hop, "[") && strings.HasSuffix(hop, "]") {
			a, err = netip.ParseAddr(hop[1 : len(hop)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// peerAddr is the address of the direct peer, "" port or not.
func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowFrom answers 403 to clients outside allowed; an empty list allows all.
func allowFrom(allowed []netip.Prefix) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if len(allowed) == 0 {
			return next
		}
		return func(c echo.Context) error {
			a, err := netip.ParseAddr(c.RealIP())
			if err != nil || !inAny(allowed, a.Unmap()) {
				return &APIError{Status: http.StatusForbidden, Code: "forbidden",
					Message: "this address may not call the lookup (LOOKUP_ALLOW_CIDRS)"}
			}
			return next(c)
		}
	}
}

// requireToken answers 401 unless the request carries token in the :token
// path segment or, without one, in the X-Lookup-Token header. Both sides are
// hashed first so that neither the comparison nor its length leaks the token.
func requireToken(token string, guard *credentialGuard) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if token == "" {
			return next
		}
		return func(c echo.Context) error {
			if err := guard.allow(c, credentialLookup); err != nil {
				return err
			}
			given := c.Param("token")
			if given == "" {
				given = c.Request().Header.Get(LookupTokenHeader)
			}
			got := sha256.Sum256([]byte(given))
			if given == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				guard.failed(c, credentialLookup)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `LookupToken realm="recauda-bridge lookup"`)
				return &APIError{Status: http.StatusUnauthorized, Code: "unauthorized",
					Message: "missing or wrong lookup token: call /get-recaudas/<LOOKUP_TOKEN> or send the " + LookupTokenHeader + " header"}
			}
			return next(c)
		}
	}
}

// rateLimit answers 429 with Retry-After to a client over its rate; the zero
// Rate is no limit. Every route given the returned middleware shares one
// budget per client. (Echo applies route middleware at each request, so the
// limiter is built here, once.)
func rateLimit(r Rate, ipv6Prefix int, now func() time.Time) echo.MiddlewareFunc {
	if r.Count <= 0 || r.Per <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	l := newRateLimiter(r, now)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if wait := l.wait(clientKey(c.RealIP(), ipv6Prefix)); wait > 0 {
				secs := int(math.Ceil(wait.Seconds()))
				return &APIError{Status: http.StatusTooManyRequests, Code: "rate_limited",
					Message: "too many lookups from this address; try again after " + strconv.Itoa(secs) + " s", RetryAfter: strconv.Itoa(secs)}
			}
			return next(c)
		}
	}
}

// DefaultIPv6Prefix is the length of the IPv6 prefix counted as one client:
// an ISP hands a customer at least a /64, and every address in it is theirs.
const DefaultIPv6Prefix = 64

// clientKey is whom a client address is counted as: an IPv4 address on its
// own, an IPv6 address by its prefix of ipv6Prefix bits (0: the default).
// Anything else (no address) is counted as itself.
func clientKey(ip string, ipv6Prefix int) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if !a.Is6() {
		return a.String()
	}
	if ipv6Prefix <= 0 || ipv6Prefix > 128 {
		ipv6Prefix = DefaultIPv6Prefix
	}
	return netip.PrefixFrom(a.WithZone(""), ipv6Prefix).Masked().String()
}

// rateLimiter is a token bucket per client key: Count tokens, refilled at
// Count per Per. A bucket idle for Per is full again, the same as a new one,
// so it is dropped; memory is bounded by maxRateClients.
type rateLimiter struct {
	limit     rate.Limit
	burst     int
	idle      time.Duration
	now       func() time.Time
	mu        sync.Mutex
	clients   map[string]*rateClient
	lastSweep time.Time
}

type rateClient struct {
	lim  *rate.Limiter
	seen time.Time
	// warned is when a wait of this client was last logged.
	warned time.Time
}

func newRateLimiter(r Rate, now func() time.Time) *rateLimiter {
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{
		limit: rate.Limit(float64(r.Count) / r.Per.Seconds()), burst: r.Count, idle: r.Per,
		now: now, clients: map[string]*rateClient{}, lastSweep: now(),
	}
}

// wait takes a token for key and returns 0, or returns how long until one
// is available (taking nothing).
func (l *rateLimiter) wait(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.client(key, now)
	res := c.lim.ReserveN(now, 1)
	if !res.OK() {
		return l.idle
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// blocked returns how long until key has a token, taking none; 0 when it
// has one. first is true when the wait was not reported in the last idle
// period, so that a client hammering away is logged once, not each time.
func (l *rateLimiter) blocked(key string) (wait time.Duration, first bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[key]
	if !ok {
		return 0, false
	}
	tokens := c.lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	wait = time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
	if now.Sub(c.warned) >= l.idle {
		c.warned, first = now, true
	}
	return max(wait, time.Millisecond), first
}

// take takes a token for key if there is one.
func (l *rateLimiter) take(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.client(key, now).lim.AllowN(now, 1)
}

// client returns key's bucket, made afresh if it has none; l.mu is held.
func (l *rateLimiter) client(key string, now time.Time) *rateClient {
	if now.Sub(l.lastSweep) >= max(l.idle, time.Minute) {
		for k, c := range l.clients {
			if now.Sub(c.seen) >= l.idle {
				delete(l.clients, k)
			}
		}
		l.lastSweep = now
	}
	c, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= maxRateClients {
			for k := range l.clients {
				delete(l.clients, k)
				break
			}
		}
		c = &rateClient{lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	return c
}

// Content security policies: nothing at all for data answers; for the admin
// pages, only what the bridge itself serves.
const (
	cspData = "default-src 'none'; frame-ancestors 'none'"
	cspHTML = "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
)

// securityHeaders sets the security headers on every answer, errors
// included, just before the status is written, when the content type is
// known. A handler that sets its own Content-Security-Policy or
// Cache-Control keeps it; otherwise answers are never stored by caches (they
// carry people's debts).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		res := c.Response()
		res.Before(func() { setSecurityHeaders(res.Header()) })
		return next(c)
	}
}

// The headers' values, shared by every answer: net/http only reads them,
// and a handler's Set or Add replaces or copies them. Keys are canonical, so
// the map is written without canonicalizing them on every request.
var (
	nosniff, deny, noReferrer  = []string{"nosniff"}, []string{"DENY"}, []string{"no-referrer"}
	noStore                    = []string{"no-store"}
	cspDataValue, cspHTMLValue = []string{cspData}, []string{cspHTML}
)

func setSecurityHeaders(h http.Header) {
	h["X-Content-Type-Options"] = nosniff
	h["X-Frame-Options"] = deny
	h["Referrer-Policy"] = noReferrer
	if len(h["Content-Security-Policy"]) == 0 {
		csp := cspDataValue
		if ct := h[echo.HeaderContentType]; len(ct) > 0 && len(ct[0]) >= len(echo.MIMETextHTML) &&
			strings.EqualFold(ct[0][:len(echo.MIMETextHTML)], echo.MIMETextHTML) {
			csp = cspHTMLValue
		}
		h["Content-Security-Policy"] = csp
	}
	if len(h[echo.HeaderCacheControl]) == 0 {
		h[echo.HeaderCacheControl] = noStore
	}
}

// validRequestID accepts a client's X-Request-Id only when it is short and
// plain, so that a request ID never carries data (or log noise) into logs;
// otherwise a new one is generated.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
			return false
		}
	}
	return true
}

// newRequestID is 16 hex digits from the runtime's per-thread generator:
// enough to tell requests apart in the logs, which is all a request ID is
// for (it is no secret), at a fraction of the cost of Echo's default, which
// reads 32 characters' worth of crypto/rand on every request.
func newRequestID() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	v := rand.Uint64()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// cleanRequestID drops an incoming X-Request-Id that validRequestID refuses.
func cleanRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !validRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// logPath is the request path as logged: the lookup token is never written,
// nor whatever stands in its place (a guess, or a near miss of the real one),
// and runs of 5 or more digits (an ID number in a path where it does not
// belong) are masked, keeping the last 3.
func logPath(path, token string) string {
	if token != "" {
		path = strings.ReplaceAll(path, token, "[redacted]")
	}
	if rest, ok := strings.CutPrefix(path, "/get-recaudas/"); ok && rest != "" {
		path = "/get-recaudas/[redacted]"
	}
	return redact.Digits(path)
}
