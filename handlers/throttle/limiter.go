// Package throttle limits what one client may do: requests per period, and
// failed credentials across every secret the server checks. A client is
// counted by its address, an IPv6 client by its prefix.
package throttle

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxRateClients bounds the rate limiter's memory: past it, a new client
// takes the place of an arbitrary one (which starts afresh next time).
const maxRateClients = 65536

// Rate is at most Count requests per Per; the zero Rate is no limit.
type Rate struct {
	Count int
	Per   time.Duration
}

// DefaultIPv6Prefix is the length of the IPv6 prefix counted as one client:
// an ISP hands a customer at least a /64, and every address in it is theirs.
const DefaultIPv6Prefix = 64

// ClientKey is whom a client address is counted as: an IPv4 address on its
// own, an IPv6 address by its prefix of ipv6Prefix bits (0: the default).
// Anything else (no address) is counted as itself.
func ClientKey(ip string, ipv6Prefix int) string {
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

// Limiter is a token bucket per client key: Count tokens, refilled at
// Count per Per. A bucket idle for Per is full again, the same as a new one,
// so it is dropped; memory is bounded by maxRateClients.
type Limiter struct {
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

// NewLimiter returns a limiter of r per client; now is its clock (nil: time.Now).
func NewLimiter(r Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		limit: rate.Limit(float64(r.Count) / r.Per.Seconds()), burst: r.Count, idle: r.Per,
		now: now, clients: map[string]*rateClient{}, lastSweep: now(),
	}
}

// Wait takes a token for key and returns 0, or returns how long until one
// is available (taking nothing).
func (l *Limiter) Wait(key string) time.Duration {
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

// Blocked returns how long until key has a token, taking none; 0 when it
// has one. first is true when the wait was not reported in the last idle
// period, so that a client hammering away is logged once, not each time.
func (l *Limiter) Blocked(key string) (wait time.Duration, first bool) {
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

// Take takes a token for key if there is one.
func (l *Limiter) Take(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.client(key, now).lim.AllowN(now, 1)
}

// client returns key's bucket, made afresh if it has none; l.mu is held.
func (l *Limiter) client(key string, now time.Time) *rateClient {
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
