package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Rate is at most Count events per Per; the zero Rate is no limit.
type Rate struct {
	Count int
	Per   time.Duration
}

// String is the rate as LOOKUP_RATE spells it: "10/1s", or "off".
func (r Rate) String() string {
	if r.Count == 0 {
		return "off"
	}
	return strconv.Itoa(r.Count) + "/" + r.Per.String()
}

// minLookupToken is the shortest LOOKUP_TOKEN accepted: it is the only
// secret between the internet and people's debts. ADMIN_TOKEN and
// METRICS_TOKEN, which guard as much, have the same minimum.
const minLookupToken = 16

// minLength refuses a secret shorter than minLookupToken, never quoting it.
func (r *reader) minLength(key, value string) {
	if value != "" && len(value) < minLookupToken {
		r.fail(key, "must be at least %d characters (it has %d); e.g. openssl rand -hex 24", minLookupToken, len(value))
	}
}

// lookupProtection reads LOOKUP_TOKEN, LOOKUP_ALLOW_CIDRS, TRUSTED_PROXIES,
// LOOKUP_RATE and METRICS_TOKEN into c.
func (r *reader) lookupProtection(c *Config) {
	c.LookupToken = r.secret("LOOKUP_TOKEN")
	if t := c.LookupToken; t != "" {
		// Never quote the value: it is a secret.
		if len(t) < minLookupToken {
			r.fail("LOOKUP_TOKEN", "must be at least %d characters (it has %d)", minLookupToken, len(t))
		}
		if !urlSafe(t) {
			r.fail("LOOKUP_TOKEN", "may hold only A-Z, a-z, 0-9, '-', '_', '.' and '~' (it goes into a URL path)")
		}
	}
	c.LookupAllowCIDRs = r.prefixes("LOOKUP_ALLOW_CIDRS")
	c.TrustedProxies = r.prefixes("TRUSTED_PROXIES")
	c.LookupRate = r.rate("LOOKUP_RATE")
	c.RateIPv6Prefix = r.integer("RATE_LIMIT_IPV6_PREFIX", 64)
	if p := c.RateIPv6Prefix; p < 32 || p > 128 {
		r.fail("RATE_LIMIT_IPV6_PREFIX", "must be a prefix length from 32 to 128 (64: one customer's network; 56 or 48 for ISPs that hand out more), got %d", p)
	}
	c.MetricsToken = r.secret("METRICS_TOKEN")
	r.minLength("METRICS_TOKEN", c.MetricsToken)
	r.minLength("ADMIN_TOKEN", c.AdminToken)
	c.LookupPublic = r.boolean("LOOKUP_PUBLIC", false)
}

// LookupSecuringDoc is where README.md explains how to protect the lookup.
const LookupSecuringDoc = "README.md#securing-the-lookup"

// ErrLookupOpen is serve's refusal to answer the lookup to anyone.
var ErrLookupOpen = errors.New("the lookup would be open to anyone")

// LookupOpen says whether the lookup answers anyone: neither LOOKUP_TOKEN
// nor LOOKUP_ALLOW_CIDRS is set.
func (c Config) LookupOpen() bool {
	return c.LookupToken == "" && len(c.LookupAllowCIDRs) == 0
}

// CheckLookupProtected refuses an open lookup unless the source is the demo
// (sample data, the quick start) or LOOKUP_PUBLIC=true says it is meant: an
// open lookup lets anyone walk through ID numbers, read names and debts,
// and use up the offers Efipay's own lookups should get.
func (c Config) CheckLookupProtected() error {
	if !c.LookupOpen() || c.LookupPublic || c.ERPSource == "demo" {
		return nil
	}
	return fmt.Errorf("%w (ERP_SOURCE=%s): set LOOKUP_TOKEN (a secret in the lookup URL configured in Efipay), "+
		"LOOKUP_ALLOW_CIDRS (the networks Efipay calls from), or LOOKUP_PUBLIC=true to serve it open on purpose; see %s",
		ErrLookupOpen, c.ERPSource, LookupSecuringDoc)
}

func urlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_.~", ch) >= 0) {
			return false
		}
	}
	return true
}

// prefixes reads a comma-separated list of CIDRs (IPv4 or IPv6); a bare
// address is a network of one.
func (r *reader) prefixes(key string) []netip.Prefix {
	v := r.str(key, "")
	if v == "" {
		return nil
	}
	var out []netip.Prefix
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := ParsePrefix(item)
		if err != nil {
			r.fail(key, "%v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// ParsePrefix reads a CIDR ("203.0.113.0/24", "2001:db8::/32") or a single
// address ("203.0.113.7"), IPv4-mapped IPv6 as IPv4.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR like 203.0.113.0/24 or 2001:db8::/32", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR like 203.0.113.0/24", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// rate reads "N/s", "N/m", "N/h" or "N/<duration>" ("5/10s"); empty, "0"
// or "off" is no limit.
func (r *reader) rate(key string) Rate {
	v := strings.ToLower(r.str(key, ""))
	if v == "" || v == "0" || v == "off" {
		return Rate{}
	}
	rt, err := ParseRate(v)
	if err != nil {
		r.fail(key, "%v", err)
		return Rate{}
	}
	return rt
}

// ParseRate reads a rate like "10/s", "300/m", "1000/h" or "5/10s".
func ParseRate(s string) (Rate, error) {
	bad := fmt.Errorf("must be a rate like 10/s, 300/m, 1000/h or 5/10s, got %q", s)
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, bad
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 1 {
		return Rate{}, bad
	}
	var d time.Duration
	switch per = strings.TrimSpace(per); per {
	case "s", "sec", "second":
		d = time.Second
	case "m", "min", "minute":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil || d < time.Millisecond {
			return Rate{}, bad
		}
	}
	return Rate{Count: count, Per: d}, nil
}
