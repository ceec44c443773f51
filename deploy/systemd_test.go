package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp/sources"
)

const unitPath = "systemd/recauda-bridge.service"

// TestSystemdUnit: systemd-analyze verify accepts the unit, its security
// exposure is the one README.md states (and stays low), and systemd waits
// longer than the server's default SHUTDOWN_TIMEOUT before it kills.
func TestSystemdUnit(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	bin := staticBinary(t)
	unit := readFile(t, unitPath)
	// verify checks that ExecStart's binary exists: point it at the one built.
	dir := t.TempDir()
	local := filepath.Join(dir, "recauda-bridge.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(unit, "/usr/local/bin/recauda-bridge", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, time.Minute, dir, analyze, "verify", local); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v, want no complaint:\n%s", err, out)
	}

	out := mustRun(t, time.Minute, dir, analyze, "security", "--offline=true", "--no-pager", local)
	m := regexp.MustCompile(`Overall exposure level for recauda-bridge\.service: ([0-9.]+) (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze security's output:\n%s", out)
	}
	score := m[1] + " " + m[2]
	t.Logf("systemd-analyze security: exposure %s", score)
	if m[2] != "OK" {
		t.Errorf("got exposure %s, want OK (below 2.0)", score)
	}
	readme := readFile(t, "../README.md")
	if n := strings.Count(readme, "**"+score+"**"); n < 2 {
		t.Errorf("README.md states the exposure **%s** %d times, want it in both the English and the Spanish section", score, n)
	}

	for _, want := range []string{
		"ExecStart=/usr/local/bin/recauda-bridge serve", "EnvironmentFile=/etc/recauda-bridge/env", "StateDirectory=recauda-bridge",
		"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"RestrictAddressFamilies=", "SystemCallFilter=@system-service", "Restart=on-failure", "KillSignal=SIGTERM",
		"LoadCredential=webhook-token:", "Environment=EFIPAY_WEBHOOK_TOKEN_FILE=%d/webhook-token",
	} {
		if !strings.Contains(unit, "\n"+want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	cfg, err := config.Load(func(string) (string, bool) { return "", false }, sources.Config())
	if err != nil {
		t.Fatal(err)
	}
	m = regexp.MustCompile(`\nTimeoutStopSec=(\S+)`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("the unit has no TimeoutStopSec")
	}
	stop, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: %v", m[1], err)
	}
	if stop <= cfg.ShutdownTimeout {
		t.Errorf("got TimeoutStopSec %s, want more than SHUTDOWN_TIMEOUT's default %s", stop, cfg.ShutdownTimeout)
	}
}
