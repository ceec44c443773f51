package throttle

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/httperr"
)

// Failed credentials. Every check of a secret a client sends (the lookup
// token, the bearer tokens of the admin API and /metrics, the dashboard's
// sign-in) counts that client's failures, all together: past
// maxCredentialFailures a minute, the client is answered 429 with
// Retry-After, whatever it sends, until its budget refills (one more
// failure every 6 s), so that no token can be guessed online either. A
// client is counted as the rate limit counts it (an IPv6 client by its
// prefix). Every refusal is logged with the client's address; a throttled
// client once a minute.

// Names of the credentials, in log lines.
const (
	CredentialLookup    = "lookup_token"
	CredentialAdminAPI  = "admin_token"
	CredentialDashboard = "dashboard_sign_in"
	CredentialMetrics   = "metrics_token"
)

const (
	maxCredentialFailures = 10
	credentialWindow      = time.Minute
)

// Credentials throttles clients that fail credential checks. It is safe
// for concurrent use.
type Credentials struct {
	lim        *Limiter
	ipv6Prefix int
	log        *slog.Logger
}

// NewCredentials counts failures per client, an IPv6 client by its first
// ipv6Prefix bits; now is the clock (nil: time.Now), log where refusals go.
func NewCredentials(ipv6Prefix int, now func() time.Time, log *slog.Logger) *Credentials {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Credentials{
		lim:        NewLimiter(Rate{Count: maxCredentialFailures, Per: credentialWindow}, now),
		ipv6Prefix: ipv6Prefix, log: log,
	}
}

// Allow returns a 429 error when the client has used up its failures;
// checked before the credential, so that a right guess is refused too.
func (g *Credentials) Allow(c echo.Context, credential string) error {
	ip := c.RealIP()
	wait, first := g.lim.Blocked(ClientKey(ip, g.ipv6Prefix))
	if wait <= 0 {
		return nil
	}
	secs := strconv.Itoa(int(math.Ceil(wait.Seconds())))
	if first {
		g.log.WarnContext(c.Request().Context(), "credential checks throttled: too many failures from this client",
			"credential", credential, "client", ip, "retry_after_s", secs)
	}
	return &httperr.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "too many failed credentials from this address; try again after " + secs + " s", RetryAfter: secs}
}

// Failed counts a refused credential against the client and logs it. The
// value sent is never logged.
func (g *Credentials) Failed(c echo.Context, credential string) {
	ip := c.RealIP()
	g.lim.Take(ClientKey(ip, g.ipv6Prefix))
	g.log.WarnContext(c.Request().Context(), "credential refused", "credential", credential, "client", ip)
}
