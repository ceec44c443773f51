package config

import (
	"net"
	"strings"
	"time"

	"recauda-bridge/efipay"
)

// Sandbox is the configuration of the `sandbox` command, the local stand-in
// for Efipay's collection portal.
type Sandbox struct {
	// Addr is where the sandbox's pages are served (SANDBOX_ADDR).
	Addr string
	// RetryDelays are the waits before the retries of a webhook answered
	// with a non-2xx status (SANDBOX_RETRY_DELAYS): Efipay's 10 s and 100 s,
	// shortened for tests.
	RetryDelays []time.Duration
}

// sandbox reads SANDBOX_ADDR and SANDBOX_RETRY_DELAYS.
func (r *reader) sandbox(c *Config) {
	c.Sandbox.Addr = r.str("SANDBOX_ADDR", "127.0.0.1:8090")
	if _, _, err := net.SplitHostPort(c.Sandbox.Addr); err != nil {
		r.fail("SANDBOX_ADDR", "must be host:port, got %q", c.Sandbox.Addr)
	}
	raw := r.str("SANDBOX_RETRY_DELAYS", "")
	c.Sandbox.RetryDelays = nil
	if raw == "" {
		c.Sandbox.RetryDelays = efipay.RetryDelays()
		return
	}
	for _, part := range strings.Split(raw, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			r.fail("SANDBOX_RETRY_DELAYS", "must be positive durations separated by commas, like 10s,100s; got %q", raw)
			c.Sandbox.RetryDelays = nil
			return
		}
		c.Sandbox.RetryDelays = append(c.Sandbox.RetryDelays, d)
	}
}
