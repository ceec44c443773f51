package handlers

import (
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"recauda-bridge/handlers/httperr"
	"recauda-bridge/handlers/throttle"

	"github.com/labstack/echo/v4"
)

// Protecting the lookup. Efipay documents no authentication for its call, so
// the merchant gets what can be configured in Efipay's portal: a secret in the
// URL or a header (LOOKUP_TOKEN), an allowlist of networks, and a rate limit
// per client address. A route runs them in that order: allowlist (403), rate
// limit (429), token (401), so that guessing the token is rate limited too.

// LookupTokenHeader carries LOOKUP_TOKEN when it is not in the path.
const LookupTokenHeader = "X-Lookup-Token"

// allowFrom answers 403 to clients outside allowed; an empty list allows all.
func allowFrom(allowed []netip.Prefix) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if len(allowed) == 0 {
			return next
		}
		return func(c echo.Context) error {
			a, err := netip.ParseAddr(c.RealIP())
			if err != nil || !slices.ContainsFunc(allowed, func(p netip.Prefix) bool { return p.Contains(a.Unmap()) }) {
				return &httperr.Error{Status: http.StatusForbidden, Code: "forbidden",
					Message: "this address may not call the lookup (LOOKUP_ALLOW_CIDRS)"}
			}
			return next(c)
		}
	}
}

// requireToken answers 401 unless the request carries token in the :token
// path segment or, without one, in the X-Lookup-Token header. Both sides are
// hashed first so that neither the comparison nor its length leaks the token.
func requireToken(token string, guard *throttle.Credentials) echo.MiddlewareFunc {
	want := sha256.Sum256([]byte(token))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if token == "" {
			return next
		}
		return func(c echo.Context) error {
			if err := guard.Allow(c, throttle.CredentialLookup); err != nil {
				return err
			}
			given := c.Param("token")
			if given == "" {
				given = c.Request().Header.Get(LookupTokenHeader)
			}
			got := sha256.Sum256([]byte(given))
			if given == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				guard.Failed(c, throttle.CredentialLookup)
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `LookupToken realm="recauda-bridge lookup"`)
				return &httperr.Error{Status: http.StatusUnauthorized, Code: "unauthorized",
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
func rateLimit(r throttle.Rate, ipv6Prefix int, now func() time.Time) echo.MiddlewareFunc {
	if r.Count <= 0 || r.Per <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	l := throttle.NewLimiter(r, now)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if wait := l.Wait(throttle.ClientKey(c.RealIP(), ipv6Prefix)); wait > 0 {
				secs := int(math.Ceil(wait.Seconds()))
				return &httperr.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
					Message: "too many lookups from this address; try again after " + strconv.Itoa(secs) + " s", RetryAfter: strconv.Itoa(secs)}
			}
			return next(c)
		}
	}
}
