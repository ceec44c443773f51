package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestERPSourceDefaults(t *testing.T) {
	c, err := Load(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ERPCacheTTL != 0 || c.ERPBreakerFailures != 5 || c.ERPBreakerOpen != 10*time.Second {
		t.Fatalf("cache %s, breaker %d/%s; want 0, 5, 10s", c.ERPCacheTTL, c.ERPBreakerFailures, c.ERPBreakerOpen)
	}
	if c.ERP != (ERPFile{}) {
		t.Fatalf("ERP without ERP_CONFIG = %+v, want zero", c.ERP)
	}
}

func TestSQLFromEnvironmentOverridesFile(t *testing.T) {
	file := writeFile(t, "erp.yaml", `
sql:
  driver: mysql
  dsn: reader:${ERP_DB_PASSWORD}@tcp(db:3306)/erp
  query: SELECT 1 FROM file WHERE x = :id_number
  writeback_query: UPDATE file SET paid = 1 WHERE t = :transaction_id
  max_open_conns: 4
  conn_max_lifetime: 5m
`)
	secret := writeFile(t, "dsn", "postgres://u:p@127.0.0.1/erp\n")
	tests := []struct {
		name string
		env  map[string]string
		want func(t *testing.T, c Config)
	}{
		{
			name: "file only, ${VAR} in the dsn",
			env:  map[string]string{"ERP_SOURCE": "sql", "ERP_CONFIG": file, "ERP_DB_PASSWORD": "s3cret"},
			want: func(t *testing.T, c Config) {
				s := c.ERP.SQL
				if s.Driver != "mysql" || s.DSN != "reader:s3cret@tcp(db:3306)/erp" || !strings.Contains(s.Query, "FROM file") ||
					s.MaxOpenConns != 4 || s.ConnMaxLifetime != 5*time.Minute {
					t.Errorf("got %+v", *s)
				}
			},
		},
		{
			name: "environment wins field by field",
			env: map[string]string{
				"ERP_SOURCE": "sql", "ERP_CONFIG": file, "ERP_SQL_DRIVER": "Postgres", "ERP_SQL_DSN_FILE": secret,
				"ERP_SQL_QUERY": "SELECT 2 WHERE :id_number = ''",
			},
			want: func(t *testing.T, c Config) {
				s := c.ERP.SQL
				if s.Driver != "postgres" || s.DSN != "postgres://u:p@127.0.0.1/erp" || !strings.HasPrefix(s.Query, "SELECT 2") ||
					!strings.Contains(s.WritebackQuery, "UPDATE file") || s.MaxOpenConns != 4 {
					t.Errorf("got %+v", *s)
				}
			},
		},
		{
			name: "environment only",
			env: map[string]string{
				"ERP_SOURCE": "sql", "ERP_SQL_DRIVER": "sqlite", "ERP_SQL_DSN": "file:erp.db?mode=rw",
				"ERP_SQL_QUERY": "SELECT 1 WHERE :id_number", "ERP_SQL_WRITEBACK": "INSERT INTO p VALUES (:transaction_id)",
				"ERP_SQL_REVERSAL": "UPDATE p SET reversed = 1 WHERE tx = :transaction_id",
				"ERP_CACHE_TTL":    "30s", "ERP_BREAKER_FAILURES": "3", "ERP_BREAKER_OPEN": "1m",
			},
			want: func(t *testing.T, c Config) {
				s := c.ERP.SQL
				if s.Driver != "sqlite" || s.DSN != "file:erp.db?mode=rw" || s.WritebackQuery == "" || !strings.HasPrefix(s.ReversalQuery, "UPDATE p") {
					t.Errorf("got %+v", *s)
				}
				if c.ERPCacheTTL != 30*time.Second || c.ERPBreakerFailures != 3 || c.ERPBreakerOpen != time.Minute {
					t.Errorf("cache %s, breaker %d/%s; want 30s, 3, 1m", c.ERPCacheTTL, c.ERPBreakerFailures, c.ERPBreakerOpen)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(lookupFrom(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.ERP.SQL == nil {
				t.Fatal("ERP.SQL is nil")
			}
			tc.want(t, c)
		})
	}
}

func TestERPSourceErrorsNameTheirVariable(t *testing.T) {
	typo := writeFile(t, "typo.yaml", "http:\n  url: https://erp.example.co/{id_number}\n  mappings: {}\n")
	httpOnly := writeFile(t, "http.yaml", "http:\n  url: https://erp.example.co/{id_number}\n")
	empty := writeFile(t, "empty.yaml", "# nothing\n")
	unknownSection := writeFile(t, "sap.yaml", "sap:\n  url: x\n")
	badDSN := writeFile(t, "dsn.yaml", "sql:\n  driver: postgres\n  dsn: postgres://u:${NOPE}@h/db\n  query: SELECT :id_number\n")
	tests := []struct {
		name string
		env  map[string]string
		want []string // each must appear in the error
	}{
		{"sql without anything", map[string]string{"ERP_SOURCE": "sql"}, []string{"ERP_SQL_DRIVER", "ERP_SQL_DSN", "ERP_SQL_QUERY"}},
		{"unknown driver", map[string]string{"ERP_SOURCE": "sql", "ERP_SQL_DRIVER": "oracle", "ERP_SQL_DSN": "x", "ERP_SQL_QUERY": "y"}, []string{`ERP_SQL_DRIVER: unknown driver "oracle"`}},
		{"unset variable in the file's dsn", map[string]string{"ERP_SOURCE": "sql", "ERP_CONFIG": badDSN}, []string{"ERP_CONFIG", "NOPE"}},
		{"missing secret file", map[string]string{"ERP_SOURCE": "sql", "ERP_SQL_DSN_FILE": "/nonexistent/dsn"}, []string{"ERP_SQL_DSN_FILE"}},
		{"http without ERP_CONFIG", map[string]string{"ERP_SOURCE": "http"}, []string{"ERP_CONFIG: is required when ERP_SOURCE=http"}},
		{"exec with a file lacking its section", map[string]string{"ERP_SOURCE": "exec", "ERP_CONFIG": httpOnly}, []string{"ERP_CONFIG", "no exec: section"}},
		{"misspelt key", map[string]string{"ERP_SOURCE": "http", "ERP_CONFIG": typo}, []string{"ERP_CONFIG", "field mappings not found"}},
		{"unknown section", map[string]string{"ERP_SOURCE": "http", "ERP_CONFIG": unknownSection}, []string{"ERP_CONFIG", "field sap not found"}},
		{"empty file", map[string]string{"ERP_SOURCE": "odoo", "ERP_CONFIG": empty}, []string{"ERP_CONFIG", "empty"}},
		{"missing file", map[string]string{"ERP_SOURCE": "odoo", "ERP_CONFIG": "/nonexistent/erp.yaml"}, []string{"ERP_CONFIG"}},
		{"negative cache", map[string]string{"ERP_CACHE_TTL": "-1s"}, []string{"ERP_CACHE_TTL"}},
		{"cache not a duration", map[string]string{"ERP_CACHE_TTL": "soon"}, []string{"ERP_CACHE_TTL"}},
		{"breaker failures zero", map[string]string{"ERP_BREAKER_FAILURES": "0"}, []string{"ERP_BREAKER_FAILURES"}},
		{"breaker failures not a number", map[string]string{"ERP_BREAKER_FAILURES": "five"}, []string{"ERP_BREAKER_FAILURES"}},
		{"breaker open zero", map[string]string{"ERP_BREAKER_OPEN": "0"}, []string{"ERP_BREAKER_OPEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(lookupFrom(tc.env))
			if err == nil {
				t.Fatalf("err = nil, want one naming %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestParseERPFileRejectsSeveralDocuments(t *testing.T) {
	_, err := ParseERPFile([]byte("http:\n  url: x\n---\nodoo:\n  url: y\n"))
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("err = %v, want a multi-document error", err)
	}
}
