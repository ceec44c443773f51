package sources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/execsource"
	"recauda-bridge/erp/httpsource"
	"recauda-bridge/erp/odoo"
	"recauda-bridge/erp/sqlsource"
)

const examples = "../../testdata/erp-config"

// TestWorkedExamples loads every worked example of testdata/erp-config
// through Load, with its placeholders set, and has its adapter check it as
// far as that is possible without the ERP: http, odoo and exec build their
// sources; sql rewrites and checks its statements and then fails only to
// connect (erp.ErrUnavailable), to an address where nothing listens. The
// queries themselves run against real databases in erp/sqlsource's tests:
// the examples must hold the same text.
func TestWorkedExamples(t *testing.T) {
	t.Setenv("ALEGRA_EMAIL", "cobros@example.co")
	t.Setenv("ALEGRA_TOKEN", "token")
	t.Setenv("SIIGO_USERNAME", "api@example.co")
	t.Setenv("SIIGO_ACCESS_KEY", "key")
	t.Setenv("ODOO_API_KEY", "key")
	t.Setenv("ERP_DB_URL", "postgres://erp_reader:secret@127.0.0.1:1/erp")

	tests := []struct {
		file   string
		source string
		env    map[string]string
		check  func(t *testing.T, c config.Config)
	}{
		{"sql-postgres.yaml", "sql", map[string]string{"ERP_SQL_DSN": "postgres://erp_reader:secret@127.0.0.1:1/erp?connect_timeout=2"}, func(t *testing.T, c config.Config) {
			s := settings[sqlsource.Config](t, c)
			sameSQL(t, s.Query, "postgres-query.sql")
			sameSQL(t, s.WritebackQuery, "postgres-writeback.sql")
			sameSQL(t, s.ReversalQuery, "postgres-reversal.sql")
			checkSQL(t, s)
		}},
		{"sql-mysql.yaml", "sql", map[string]string{"ERP_DB_PASSWORD": "s3cret"}, func(t *testing.T, c config.Config) {
			s := settings[sqlsource.Config](t, c)
			if got, want := s.DSN, "erp_reader:s3cret@tcp(db:3306)/erp?parseTime=true"; got != want {
				t.Errorf("dsn: got %q, want %q", got, want)
			}
			sameSQL(t, s.Query, "mysql-query.sql")
			sameSQL(t, s.WritebackQuery, "mysql-writeback.sql")
			sameSQL(t, s.ReversalQuery, "mysql-reversal.sql")
			s.DSN = "erp_reader:s3cret@tcp(127.0.0.1:1)/erp?parseTime=true&timeout=2s"
			checkSQL(t, s)
		}},
		{"alegra.yaml", "http", nil, func(t *testing.T, c config.Config) {
			sameAs(t, c, "../../testdata/httpsource/alegra.yaml")
			if _, err := httpsource.New(settings[httpsource.Config](t, c), nil); err != nil {
				t.Error(err)
			}
		}},
		{"siigo.yaml", "http", nil, func(t *testing.T, c config.Config) {
			sameAs(t, c, "../../testdata/httpsource/siigo.yaml")
			if _, err := httpsource.New(settings[httpsource.Config](t, c), nil); err != nil {
				t.Error(err)
			}
		}},
		{"odoo.yaml", "odoo", nil, func(t *testing.T, c config.Config) {
			sameAs(t, c, "../../testdata/odoo/example.yaml")
			if _, err := odoo.New(settings[odoo.Config](t, c), nil); err != nil {
				t.Error(err)
			}
		}},
		{"exec.yaml", "exec", nil, func(t *testing.T, c config.Config) {
			e := settings[execsource.Config](t, c)
			e.Dir = "../.." // the example's paths are relative to the repository, the test runs in erp/sources/
			src, err := execsource.New(e, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !src.CanRecord() {
				t.Error("exec example: CanRecord false, want the write-back command configured")
			}
		}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			env := map[string]string{"ERP_SOURCE": tc.source, "ERP_CONFIG": filepath.Join(examples, tc.file)}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := config.Load(lookupFrom(env), Config())
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
	files, err := filepath.Glob(filepath.Join(examples, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no case in TestWorkedExamples", f)
		}
	}
}

// sameSQL checks that an example's statement is the adapter's tested one.
func sameSQL(t *testing.T, got, file string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("../../testdata/sqlsource", file))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
		t.Errorf("the example's statement differs from testdata/sqlsource/%s:\n%s", file, got)
	}
}

// checkSQL builds the source: everything but the connection must pass.
func checkSQL(t *testing.T, s sqlsource.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	src, err := sqlsource.New(ctx, s, nil)
	if err == nil {
		src.Close()
		t.Fatal("New connected to an address where nothing listens")
	}
	if !errors.Is(err, erp.ErrUnavailable) {
		t.Fatalf("New: %v, want only the connection to fail (erp.ErrUnavailable)", err)
	}
}

// sameAs checks that an example decodes to the same settings as the
// adapter's own testdata file.
func sameAs(t *testing.T, c config.Config, path string) {
	t.Helper()
	sections, err := config.LoadERPFile(path, Config())
	if err != nil {
		t.Fatal(err)
	}
	got, want := c.ERP, reflect.ValueOf(sections[c.ERPSource]).Elem().Interface()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example differs from %s:\n got %+v\nwant %+v", path, got, want)
	}
}
