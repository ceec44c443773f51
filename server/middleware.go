package server

import (
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/metrics"
	"recauda-bridge/redact"
)

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

// observeRequests counts every answer by route template and status. It sits
// outside accessLog, which hands errors to the error handler, so the status
// is the one the client got.
func observeRequests(m *metrics.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil && !c.Response().Committed {
				status = httperr.From(err).Status
			}
			m.ObserveRequest(c.Request().Method, c.Path(), status, time.Since(start))
			return err
		}
	}
}

// accessLog writes one line per request. It logs the path, never the query
// string, which carries the customer's ID number; in the path, the lookup
// token is redacted and digit runs are masked (logPath).
func accessLog(log *slog.Logger, lookupToken string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			req, res := c.Request(), c.Response()
			level := slog.LevelInfo
			if res.Status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(req.Context(), level) {
				return nil
			}
			log.Log(req.Context(), level, "request",
				"method", req.Method, "path", logPath(req.URL.Path, lookupToken), "status", res.Status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "bytes", res.Size)
			return nil
		}
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
