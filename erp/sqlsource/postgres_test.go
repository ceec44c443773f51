package sqlsource

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"recauda-bridge/erp"
)

// newPostgresERP creates a schema of the test's own in the database of
// RECAUDA_TEST_POSTGRES_DSN, loads the ERP schema into it, and drops it at
// the end. The DSN it returns has search_path set to that schema.
func newPostgresERP(t *testing.T) erpDatabase {
	t.Helper()
	base := testDSN(t, "RECAUDA_TEST_POSTGRES_DSN", "PostgreSQL")
	ctx := testContext(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	schema := uniqueName(t)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("RECAUDA_TEST_POSTGRES_DSN: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Without arguments pgx uses the simple protocol, which runs a whole file.
	if _, err := db.ExecContext(ctx, testdata(t, "postgres-schema.sql")); err != nil {
		t.Fatalf("load postgres-schema.sql: %v", err)
	}
	return erpDatabase{
		driver:    "postgres",
		dsn:       dsn,
		db:        db,
		query:     testdata(t, "postgres-query.sql"),
		writeback: testdata(t, "postgres-writeback.sql"),
		reversal:  testdata(t, "postgres-reversal.sql"),
		sleepQuery: `SELECT 'R-1' AS ref_payment, 'Factura lenta' AS description, 1000 AS amount,
       'COP' AS currency_type, 'Cliente Lento' AS payer_name
FROM pg_sleep(5)
WHERE CAST(:id_number AS text) <> ''`,
	}
}

func TestPostgres(t *testing.T) {
	runERPTests(t, newPostgresERP(t))
}

// TestPostgresTypes covers what only PostgreSQL has: arrays, jsonb,
// timestamptz, and the pool settings.
func TestPostgresTypes(t *testing.T) {
	e := newPostgresERP(t)
	var logs logBuffer
	query := `SELECT 'R-' || :id_number AS ref_payment, 'Tipos' AS description,
       1234.5::float8 AS amount, 'COP' AS currency_type, 'Cliente Tipos' AS payer_name,
       '2030-05-01 23:30:00-05'::timestamptz AT TIME ZONE 'America/Bogota' AS limit_date,
       ARRAY['a', 'b|c', NULL] AS "references",
       ARRAY[3, 1]::int4[] AS selected_taxes,
       '{"k": [1, 2]}'::jsonb AS extra_json,
       '2030-01-02 03:04:05+00'::timestamptz AS seen_at,
       NULL::text AS nothing,
       1::smallint AS request_address_delivery`
	s, err := New(testContext(t), Config{Driver: "postgres", DSN: e.dsn, Query: query, MaxOpenConns: 4, MaxIdleConns: 2},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() { _ = s.Close() }()

	got, err := s.PendingCharges(testContext(t), "1020304050")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d charges, want 1", len(got))
	}
	c := got[0]
	// A NULL array element cannot be a reference: the whole column is a defect.
	assertCharge(t, c, erp.Charge{
		RefPayment: "R-1020304050", Description: "Tipos", Amount: dec("1234.5"), Currency: "COP",
		PayerName: "Cliente Tipos", IDNumber: "1020304050", LimitDate: "2030-05-01",
		SelectedTaxes: []int64{3, 1}, RequestAddressDelivery: boolPtr(true),
		Metadata: []byte(`{"extra_json":{"k":[1,2]},"seen_at":"` + seenAt(t) + `"}`),
		Defects:  []erp.Defect{{Field: "advanced_options.references", Message: "column references: cannot read the array"}},
	})

	if got := s.db.Stats().MaxOpenConnections; got != 4 {
		t.Errorf("MaxOpenConnections: got %d, want 4", got)
	}
	out := logs.String()
	if !strings.Contains(out, "floating-point") || !strings.Contains(out, "column=amount") {
		t.Errorf("logs: got %q, want a warning about the float amount column", out)
	}
	if strings.Contains(out, "recauda:recauda@") || strings.Contains(out, e.dsn) {
		t.Errorf("logs: got %q, the DSN (with its password) must not be logged", out)
	}
}

// seenAt is how the timestamptz of TestPostgresTypes reads back: pgx gives
// it in the process's local time zone.
func seenAt(t *testing.T) string {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, "2030-01-02T03:04:05Z")
	if err != nil {
		t.Fatal(err)
	}
	return formatTime(tm.Local())
}
