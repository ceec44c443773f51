package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSandboxSettings(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantAddr   string
		wantDelays []time.Duration
		wantErr    string
	}{
		{"defaults", nil, "127.0.0.1:8090", []time.Duration{10 * time.Second, 100 * time.Second}, ""},
		{"shortened for tests", map[string]string{"SANDBOX_ADDR": "127.0.0.1:9999", "SANDBOX_RETRY_DELAYS": "50ms, 100ms"},
			"127.0.0.1:9999", []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}, ""},
		{"no port", map[string]string{"SANDBOX_ADDR": "localhost"}, "", nil, "SANDBOX_ADDR: must be host:port"},
		{"not a duration", map[string]string{"SANDBOX_RETRY_DELAYS": "10s,soon"}, "", nil, "SANDBOX_RETRY_DELAYS: must be positive durations"},
		{"zero", map[string]string{"SANDBOX_RETRY_DELAYS": "0s"}, "", nil, "SANDBOX_RETRY_DELAYS: must be positive durations"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(lookupFrom(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Sandbox.Addr != tc.wantAddr || !slices.Equal(c.Sandbox.RetryDelays, tc.wantDelays) {
				t.Errorf("got %q %v, want %q %v", c.Sandbox.Addr, c.Sandbox.RetryDelays, tc.wantAddr, tc.wantDelays)
			}
		})
	}
}
