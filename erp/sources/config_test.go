package sources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp/sqlsource"
)

func lookupFrom(m map[string]string) config.Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// settings returns c.ERP as the settings of type C, failing the test
// when they are something else.
func settings[C any](t *testing.T, c config.Config) C {
	t.Helper()
	s, ok := c.ERP.(C)
	if !ok {
		t.Fatalf("ERP = %#v, want a %T", c.ERP, s)
	}
	return s
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestERPSourceDefaults(t *testing.T) {
	c, err := config.Load(lookupFrom(nil), Config())
	if err != nil {
		t.Fatal(err)
	}
	if c.ERPCacheTTL != 0 || c.ERPBreakerFailures != 5 || c.ERPBreakerOpen != 10*time.Second {
		t.Fatalf("cache %s, breaker %d/%s; want 0, 5, 10s", c.ERPCacheTTL, c.ERPBreakerFailures, c.ERPBreakerOpen)
	}
	if c.ERP != nil {
		t.Fatalf("ERP of demo = %+v, want nil", c.ERP)
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
		want func(t *testing.T, c config.Config)
	}{
		{
			name: "file only, ${VAR} in the dsn",
			env:  map[string]string{"ERP_SOURCE": "sql", "ERP_CONFIG": file, "ERP_DB_PASSWORD": "s3cret"},
			want: func(t *testing.T, c config.Config) {
				s := settings[sqlsource.Config](t, c)
				if s.Driver != "mysql" || s.DSN != "reader:s3cret@tcp(db:3306)/erp" || !strings.Contains(s.Query, "FROM file") ||
					s.MaxOpenConns != 4 || s.ConnMaxLifetime != 5*time.Minute {
					t.Errorf("got %+v", s)
				}
			},
		},
		{
			name: "environment wins field by field",
			env: map[string]string{
				"ERP_SOURCE": "sql", "ERP_CONFIG": file, "ERP_SQL_DRIVER": "Postgres", "ERP_SQL_DSN_FILE": secret,
				"ERP_SQL_QUERY": "SELECT 2 WHERE :id_number = ''",
			},
			want: func(t *testing.T, c config.Config) {
				s := settings[sqlsource.Config](t, c)
				if s.Driver != "postgres" || s.DSN != "postgres://u:p@127.0.0.1/erp" || !strings.HasPrefix(s.Query, "SELECT 2") ||
					!strings.Contains(s.WritebackQuery, "UPDATE file") || s.MaxOpenConns != 4 {
					t.Errorf("got %+v", s)
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
			want: func(t *testing.T, c config.Config) {
				s := settings[sqlsource.Config](t, c)
				if s.Driver != "sqlite" || s.DSN != "file:erp.db?mode=rw" || s.WritebackQuery == "" || !strings.HasPrefix(s.ReversalQuery, "UPDATE p") {
					t.Errorf("got %+v", s)
				}
				if c.ERPCacheTTL != 30*time.Second || c.ERPBreakerFailures != 3 || c.ERPBreakerOpen != time.Minute {
					t.Errorf("cache %s, breaker %d/%s; want 30s, 3, 1m", c.ERPCacheTTL, c.ERPBreakerFailures, c.ERPBreakerOpen)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(lookupFrom(tc.env), Config())
			if err != nil {
				t.Fatal(err)
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
		{"file without ERP_FILE", map[string]string{"ERP_SOURCE": "file"}, []string{"ERP_FILE: is required when ERP_SOURCE=file"}},
		{"file neither json nor csv", map[string]string{"ERP_SOURCE": "file", "ERP_FILE": "charges.xlsx"}, []string{`ERP_FILE: must end in .json or .csv, got "charges.xlsx"`}},
		{"unknown source", map[string]string{"ERP_SOURCE": "sap"}, []string{`ERP_SOURCE: unknown source "sap"; one of demo, file, sql, http, exec, odoo, local`}},
		{"negative cache", map[string]string{"ERP_CACHE_TTL": "-1s"}, []string{"ERP_CACHE_TTL"}},
		{"cache not a duration", map[string]string{"ERP_CACHE_TTL": "soon"}, []string{"ERP_CACHE_TTL"}},
		{"breaker failures zero", map[string]string{"ERP_BREAKER_FAILURES": "0"}, []string{"ERP_BREAKER_FAILURES"}},
		{"breaker failures not a number", map[string]string{"ERP_BREAKER_FAILURES": "five"}, []string{"ERP_BREAKER_FAILURES"}},
		{"breaker open zero", map[string]string{"ERP_BREAKER_OPEN": "0"}, []string{"ERP_BREAKER_OPEN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(lookupFrom(tc.env), Config())
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
	_, err := config.ParseERPFile([]byte("http:\n  url: x\n---\nodoo:\n  url: y\n"), Config())
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("err = %v, want a multi-document error", err)
	}
}
