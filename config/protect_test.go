package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLookupProtectionDefaults(t *testing.T) {
	c, err := load(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.LookupToken != "" || c.LookupAllowCIDRs != nil || c.TrustedProxies != nil || c.LookupRate != (Rate{}) || c.MetricsToken != "" {
		t.Fatalf("got %q %v %v %v %q, want everything off by default", c.LookupToken, c.LookupAllowCIDRs, c.TrustedProxies, c.LookupRate, c.MetricsToken)
	}
}

func TestLookupProtectionValues(t *testing.T) {
	dir := t.TempDir()
	metricsFile := filepath.Join(dir, "metrics_token")
	if err := os.WriteFile(metricsFile, []byte("scrape-secret-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(lookupFrom(map[string]string{
		"LOOKUP_TOKEN":       "Abc-123_xyz.456~789",
		"LOOKUP_ALLOW_CIDRS": " 203.0.113.0/24, 2001:db8::/32 ,198.51.100.7,::ffff:192.0.2.1",
		"TRUSTED_PROXIES":    "10.0.0.0/8",
		"LOOKUP_RATE":        "300/m",
		"METRICS_TOKEN_FILE": metricsFile,
		"ADMIN_TOKEN":        "sixteen-chars-ok",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.LookupToken != "Abc-123_xyz.456~789" || c.MetricsToken != "scrape-secret-0123" || c.AdminToken != "sixteen-chars-ok" {
		t.Fatalf("tokens = %q, %q, %q", c.LookupToken, c.MetricsToken, c.AdminToken)
	}
	wantAllow := []netip.Prefix{
		netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("192.0.2.1/32"),
	}
	if !slices.Equal(c.LookupAllowCIDRs, wantAllow) {
		t.Fatalf("LookupAllowCIDRs = %v, want %v", c.LookupAllowCIDRs, wantAllow)
	}
	if !slices.Equal(c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}) {
		t.Fatalf("TrustedProxies = %v", c.TrustedProxies)
	}
	if c.LookupRate != (Rate{Count: 300, Per: time.Minute}) {
		t.Fatalf("LookupRate = %v, want 300/1m0s", c.LookupRate)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		ok   bool
	}{
		{"10/s", Rate{10, time.Second}, true},
		{"300/m", Rate{300, time.Minute}, true},
		{"1000/h", Rate{1000, time.Hour}, true},
		{"5/10s", Rate{5, 10 * time.Second}, true},
		{" 7 / min ", Rate{7, time.Minute}, true},
		{"10", Rate{}, false},
		{"0/s", Rate{}, false},
		{"-1/s", Rate{}, false},
		{"ten/s", Rate{}, false},
		{"10/fortnight", Rate{}, false},
		{"10/0s", Rate{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("got %v, %v; want %v, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestLookupProtectionInvalidValuesNameTheirVariable(t *testing.T) {
	tests := []struct{ key, value string }{
		{"LOOKUP_TOKEN", "short"},
		{"LOOKUP_TOKEN", "has a space in it, sixteen+"},
		{"LOOKUP_TOKEN", "slash/is/not/allowed/here"},
		{"LOOKUP_ALLOW_CIDRS", "203.0.113.0/33"},
		{"LOOKUP_ALLOW_CIDRS", "10.0.0.0/8,office"},
		{"TRUSTED_PROXIES", "10.0.0.1/x"},
		{"LOOKUP_RATE", "lots"},
		{"ADMIN_TOKEN", "fifteen-chars!!"},
		{"METRICS_TOKEN", "short-metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			_, err := load(lookupFrom(map[string]string{tt.key: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("error = %v, want one naming %s", err, tt.key)
			}
		})
	}
}

func TestLookupTokenNeverInErrors(t *testing.T) {
	const secret = "not ok secret value"
	_, err := load(lookupFrom(map[string]string{"LOOKUP_TOKEN": secret}))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error = %v, want one that does not quote the token", err)
	}
	for _, key := range []string{"ADMIN_TOKEN", "METRICS_TOKEN"} {
		_, err = load(lookupFrom(map[string]string{key: "too-short-pw"}))
		if err == nil || strings.Contains(err.Error(), "too-short-pw") || !strings.Contains(err.Error(), "at least 16") {
			t.Fatalf("%s too short: error = %v, want one asking for 16 characters without quoting the token", key, err)
		}
	}
	_, err = load(lookupFrom(map[string]string{"METRICS_TOKEN": "a", "METRICS_TOKEN_FILE": "/x"}))
	if err == nil || !strings.Contains(err.Error(), "METRICS_TOKEN") {
		t.Fatalf("error = %v, want METRICS_TOKEN and METRICS_TOKEN_FILE refused together", err)
	}
}

func TestCheckLookupProtected(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		refused bool
	}{
		{"demo, nothing set", nil, false},
		{"file, nothing set", map[string]string{"ERP_SOURCE": "file", "ERP_FILE": "x.csv"}, true},
		{"local, nothing set", map[string]string{"ERP_SOURCE": "local"}, true},
		{"local, LOOKUP_PUBLIC=false", map[string]string{"ERP_SOURCE": "local", "LOOKUP_PUBLIC": "false"}, true},
		{"local, LOOKUP_PUBLIC=true", map[string]string{"ERP_SOURCE": "local", "LOOKUP_PUBLIC": "true"}, false},
		{"local, LOOKUP_TOKEN", map[string]string{"ERP_SOURCE": "local", "LOOKUP_TOKEN": "0123456789abcdef"}, false},
		{"local, LOOKUP_ALLOW_CIDRS", map[string]string{"ERP_SOURCE": "local", "LOOKUP_ALLOW_CIDRS": "203.0.113.0/24"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(lookupFrom(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			err = c.CheckLookupProtected()
			if got := err != nil; got != tt.refused {
				t.Fatalf("refused = %v (%v), want %v", got, err, tt.refused)
			}
			if err == nil {
				return
			}
			for _, want := range []string{"LOOKUP_TOKEN", "LOOKUP_ALLOW_CIDRS", "LOOKUP_PUBLIC=true", LookupSecuringDoc} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
	if _, err := load(lookupFrom(map[string]string{"LOOKUP_PUBLIC": "yes please"})); err == nil || !strings.Contains(err.Error(), "LOOKUP_PUBLIC") {
		t.Fatalf("LOOKUP_PUBLIC=yes please: err = %v, want one naming LOOKUP_PUBLIC", err)
	}
}

func TestRateLimitIPv6Prefix(t *testing.T) {
	tests := []struct {
		value string
		want  int
		ok    bool
	}{{"", 64, true}, {"56", 56, true}, {"128", 128, true}, {"16", 0, false}, {"129", 0, false}, {"/56", 0, false}}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := load(lookupFrom(map[string]string{"RATE_LIMIT_IPV6_PREFIX": tt.value}))
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_IPV6_PREFIX") {
					t.Fatalf("got %v, want an error naming RATE_LIMIT_IPV6_PREFIX", err)
				}
				return
			}
			if err != nil || c.RateIPv6Prefix != tt.want {
				t.Fatalf("got %d, %v; want %d", c.RateIPv6Prefix, err, tt.want)
			}
		})
	}
}
