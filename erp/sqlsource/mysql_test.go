package sqlsource

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// newMySQLERP creates a database of the test's own on the server of
// RECAUDA_TEST_MYSQL_DSN (MariaDB or MySQL), loads the ERP schema into it,
// and drops it at the end.
func newMySQLERP(t *testing.T) erpDatabase {
	t.Helper()
	base := testDSN(t, "RECAUDA_TEST_MYSQL_DSN", "MariaDB or MySQL")
	ctx := testContext(t)
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatalf("RECAUDA_TEST_MYSQL_DSN: %v", err)
	}
	admin, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	name := uniqueName(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})

	cfg.DBName = name
	dsn := cfg.FormatDSN()
	loader := cfg.Clone()
	loader.MultiStatements = true // to run the schema file in one Exec
	ldb, err := sql.Open("mysql", loader.FormatDSN())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer func() { _ = ldb.Close() }()
	if _, err := ldb.ExecContext(ctx, testdata(t, "mysql-schema.sql")); err != nil {
		t.Fatalf("load mysql-schema.sql: %v", err)
	}

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return erpDatabase{
		driver:    "mysql",
		dsn:       dsn,
		db:        db,
		query:     testdata(t, "mysql-query.sql"),
		writeback: testdata(t, "mysql-writeback.sql"),
		reversal:  testdata(t, "mysql-reversal.sql"),
		sleepQuery: `SELECT 'R-1' AS ref_payment, 'Factura lenta' AS description, 1000 AS amount,
       'COP' AS currency_type, name AS payer_name, SLEEP(5) AS slept
FROM customers
WHERE document = :id_number`,
	}
}

func TestMySQL(t *testing.T) {
	runERPTests(t, newMySQLERP(t))
}
