package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/models"
)

func lookupFrom(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := load(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" || c.Database.Dialect != models.DialectSQLite || c.Database.DSN != "recauda.db" ||
		c.ERPSource != "demo" || c.ERPTimeout != 3*time.Second || c.ResendAfter != 24*time.Hour || c.EmptyStatus != 200 {
		t.Fatalf("defaults = %+v", c)
	}
	if c.WebhookURL() != "" {
		t.Fatalf("WebhookURL without PUBLIC_URL = %q, want empty", c.WebhookURL())
	}
}

func TestValues(t *testing.T) {
	c, err := load(lookupFrom(map[string]string{
		"DATABASE_URL": "sqlite:///var/lib/recauda/bridge.db", "ERP_SOURCE": "file", "ERP_FILE": "charges.csv",
		"ERP_TIMEOUT": "1500ms", "RESEND_AFTER": "0", "EMPTY_STATUS": "404", "PUBLIC_URL": "https://pagos.tienda.co/",
		"LOG_LEVEL": "debug", "LOG_FORMAT": "json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.DSN != "/var/lib/recauda/bridge.db" || c.ResendAfter != 0 || c.EmptyStatus != 404 || c.ERPTimeout != 1500*time.Millisecond {
		t.Fatalf("config = %+v", c)
	}
	if got := c.WebhookURL(); got != "https://pagos.tienda.co/webhooks/efipay" {
		t.Fatalf("WebhookURL = %q", got)
	}
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
		d, err := load(lookupFrom(map[string]string{"DEBUG_ADDR": addr}))
		if err != nil || d.DebugAddr != addr {
			t.Fatalf("DEBUG_ADDR=%s gave %q, %v", addr, d.DebugAddr, err)
		}
	}
	pg, err := load(lookupFrom(map[string]string{"DATABASE_URL": "postgres://u:p@127.0.0.1/db"}))
	if err != nil || pg.Database.Dialect != models.DialectPostgres {
		t.Fatalf("postgres URL gave %+v, %v", pg.Database, err)
	}
}

func TestInvalidValuesNameTheirVariable(t *testing.T) {
	tests := []struct{ key, value string }{
		{"LISTEN_ADDR", "8080"},
		{"DATABASE_URL", "mysql://x"},
		{"ERP_SOURCE", "sap"},
		{"ERP_TIMEOUT", "three seconds"},
		{"ERP_TIMEOUT", "-1s"},
		{"RESEND_AFTER", "-1h"},
		{"EMPTY_STATUS", "204"},
		{"EMPTY_STATUS", "two hundred"},
		{"PUBLIC_URL", "pagos.tienda.co"},
		{"LOG_LEVEL", "loud"},
		{"LOG_FORMAT", "xml"},
		{"EFIPAY_TEST_MODE", "maybe"},
		{"DEBUG_ADDR", ":6060"},
		{"DEBUG_ADDR", "0.0.0.0:6060"},
		{"DEBUG_ADDR", "127.0.0.1"},
		{"ASOBANCARIA_NIT", "900.123.456-7"},
		{"ASOBANCARIA_BANK_CODE", "0007"},
		{"ASOBANCARIA_ACCOUNT", "123456789012345678"},
		{"ASOBANCARIA_ACCOUNT_TYPE", "ahorros"},
		{"ASOBANCARIA_SERVICE_CODE", "77099980000011"},
		{"ASOBANCARIA_PAYMENT_ORIGIN", "web"},
		{"ASOBANCARIA_PAYMENT_MEANS", "123"},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			_, err := load(lookupFrom(map[string]string{tc.key: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want one naming %s", err, tc.key)
			}
		})
	}
	_, err := load(lookupFrom(map[string]string{"ERP_TIMEOUT": "x", "EMPTY_STATUS": "1"}))
	if err == nil || !strings.Contains(err.Error(), "ERP_TIMEOUT") || !strings.Contains(err.Error(), "EMPTY_STATUS") {
		t.Fatalf("err = %v, want every problem reported at once", err)
	}
}

func TestSecretFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(lookupFrom(map[string]string{"EFIPAY_WEBHOOK_TOKEN_FILE": path}))
	if err != nil || c.WebhookToken != "s3cret" {
		t.Fatalf("token = %q, err %v; want s3cret", c.WebhookToken, err)
	}
	_, err = load(lookupFrom(map[string]string{"EFIPAY_WEBHOOK_TOKEN_FILE": path, "EFIPAY_WEBHOOK_TOKEN": "x"}))
	if err == nil {
		t.Fatal("both value and _FILE accepted, want an error")
	}
	_, err = load(lookupFrom(map[string]string{"ADMIN_TOKEN_FILE": filepath.Join(t.TempDir(), "missing")}))
	if err == nil || !strings.Contains(err.Error(), "ADMIN_TOKEN_FILE") {
		t.Fatalf("missing secret file: err = %v", err)
	}
}

func TestDotenvFillsGapsAndEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	if err := os.WriteFile(path, []byte("LISTEN_ADDR=:9999\nERP_TIMEOUT=7s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ERP_TIMEOUT", "2s")
	lookup, err := Environment(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":9999" || c.ERPTimeout != 2*time.Second {
		t.Fatalf("listen %q timeout %s, want :9999 from .env and 2s from the environment", c.ListenAddr, c.ERPTimeout)
	}
}

// TestDatabaseURLErrorsHideThePassword: a DATABASE_URL that does not parse
// is reported with its password masked, as pgx masks it.
func TestDatabaseURLErrorsHideThePassword(t *testing.T) {
	const password = "S3cr3tPw"
	tests := []struct{ name, url, want string }{
		{"space in the password", "postgres://bob:S3cr3tPw with space@db:5432/x", "postgres://bob:xxxxx@db:5432/x"},
		{"bad port", "postgres://bob:S3cr3tPw@db:54x32/x", "postgres://bob:xxxxx@db:54x32/x"},
		{"bad escape in the password", "postgresql://bob:S3cr3tPw%zz@db/x", "postgresql://bob:xxxxx@db/x"},
		{"slash in the password", "postgres://bob:S3c/r3tPw:5@db/x", "postgres://bob:xxxxx@db/x"},
		{"control character", "postgres://bob:S3cr3tPw@db/x\x7f", "postgres://bob:xxxxx@db/x"},
		{"unsupported scheme", "mysql://bob:S3cr3tPw@db/x", "mysql://bob:xxxxx@db/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(lookupFrom(map[string]string{"DATABASE_URL": tt.url}))
			if err == nil {
				t.Fatal("got no error, want DATABASE_URL refused")
			}
			msg := err.Error()
			for _, secret := range []string{password, "S3c", "r3tPw", "%zz"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q shows %q of the password", msg, secret)
				}
			}
			if !strings.Contains(msg, "DATABASE_URL") || !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want it to name DATABASE_URL and show %q", msg, tt.want)
			}
		})
	}
}

func TestAsobancariaSettings(t *testing.T) {
	c, err := load(lookupFrom(map[string]string{
		"ASOBANCARIA_NIT": "900123456", "ASOBANCARIA_BANK_CODE": "007", "ASOBANCARIA_ACCOUNT": "0123-456789",
		"ASOBANCARIA_ACCOUNT_TYPE": "01", "ASOBANCARIA_SERVICE_CODE": "7709998000001", "ASOBANCARIA_PAYMENT_ORIGIN": "03",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Asobancaria{NIT: "900123456", BankCode: "007", Account: "0123-456789", AccountType: "01", ServiceCode: "7709998000001", PaymentOrigin: "03"}
	if c.Asobancaria != want {
		t.Fatalf("got %+v, want %+v", c.Asobancaria, want)
	}
}
