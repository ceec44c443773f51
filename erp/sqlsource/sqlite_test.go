package sqlsource

import (
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/erp"
)

// newSQLiteERP creates the ERP of sqlite-schema.sql in a file of its own and
// returns its DSN and a connection to look at it.
func newSQLiteERP(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "erp.db") + "?_busy_timeout=5000&_foreign_keys=on"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(testContext(t), testdata(t, "sqlite-schema.sql")); err != nil {
		t.Fatalf("load sqlite-schema.sql: %v", err)
	}
	return dsn, db
}

func TestSQLite(t *testing.T) {
	dsn, db := newSQLiteERP(t)
	s := newTestSource(t, Config{
		Driver: "sqlite", DSN: dsn,
		Query:          testdata(t, "sqlite-query.sql"),
		WritebackQuery: testdata(t, "sqlite-writeback.sql"),
	})
	if got := s.db.Stats().MaxOpenConnections; got != DefaultMaxOpenConns {
		t.Errorf("MaxOpenConnections: got %d, want the default %d", got, DefaultMaxOpenConns)
	}

	got, err := s.PendingCharges(testContext(t), "1020304050")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	assertCharges(t, got, []erp.Charge{
		{
			RefPayment: "FV-1001", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
			Description: "Factura FV-1001: Cuota de administración febrero",
			Amount:      dec("150000.50"), Currency: "COP", LimitDate: "2030-12-31",
			Discount:               &erp.Discount{Type: "Porcentaje", Value: dec("10.5"), BeforeOn: "2030-06-30"},
			RequestAddressDelivery: boolPtr(true),
			References:             []string{"obra-12", "lote 3"},
			Delivery:               &erp.Delivery{Type: "Gratis"},
		},
		{
			RefPayment: "FV-1002", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
			Description: "Factura FV-1002: Servicio de mantenimiento",
			Amount:      dec("99999999.99"), Currency: "COP",
			Delivery: &erp.Delivery{Type: "Gratis"},
		},
	})

	p := erp.Payment{
		RefPayment: "FV-1001", IDNumber: "1020304050", Amount: dec("50000.25"), Currency: "COP",
		TransactionID: "efipay-tx-9", PaidAt: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC),
		Status: "partially_paid", PaymentMethod: "PSE",
	}
	for i := range 2 {
		if err := s.RecordPayment(testContext(t), p); err != nil {
			t.Fatalf("RecordPayment #%d: %v", i+1, err)
		}
	}
	var payments, cents int64
	if err := db.QueryRow("SELECT COUNT(*) FROM payments WHERE transaction_id = ?", "efipay-tx-9").Scan(&payments); err != nil {
		t.Fatal(err)
	}
	if payments != 1 {
		t.Errorf("payments: got %d, want 1", payments)
	}
	if err := db.QueryRow("SELECT balance_cents FROM invoices WHERE number = ?", "FV-1001").Scan(&cents); err != nil {
		t.Fatal(err)
	}
	if cents != 10000025 {
		t.Errorf("balance: got %d cents, want 10000025", cents)
	}

	err = s.RecordPayment(testContext(t), erp.Payment{RefPayment: "FV-1001"})
	if err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("RecordPayment without a transaction id: got %v, want a permanent error", err)
	}
}

func TestSQLiteReversal(t *testing.T) {
	dsn, db := newSQLiteERP(t)
	s := newTestSource(t, Config{
		Driver: "sqlite", DSN: dsn,
		Query:          testdata(t, "sqlite-query.sql"),
		WritebackQuery: testdata(t, "sqlite-writeback.sql"),
		ReversalQuery:  testdata(t, "sqlite-reversal.sql"),
	})
	balance := func() int64 {
		t.Helper()
		var cents int64
		if err := db.QueryRow("SELECT balance_cents FROM invoices WHERE number = 'FV-1001'").Scan(&cents); err != nil {
			t.Fatal(err)
		}
		return cents
	}
	p := erp.Payment{RefPayment: "FV-1001", IDNumber: "1020304050", Amount: dec("150000.50"), Currency: "COP",
		TransactionID: "efipay-tx-7", PaidAt: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC), Status: "paid", PaymentMethod: "PSE"}
	if err := s.RecordPayment(testContext(t), p); err != nil {
		t.Fatal(err)
	}
	if got := balance(); got != 0 {
		t.Fatalf("balance after the payment: got %d cents, want 0", got)
	}
	r := erp.Reversal{RefPayment: "FV-1001", IDNumber: "1020304050", Amount: dec("150000.50"), Currency: "COP",
		TransactionID: "efipay-tx-7", ReversedAt: time.Date(2030, 1, 3, 9, 0, 0, 0, time.UTC)}
	for i := range 2 {
		if err := s.RecordReversal(testContext(t), r); err != nil {
			t.Fatalf("RecordReversal #%d: %v", i+1, err)
		}
		if got := balance(); got != 15000050 {
			t.Fatalf("balance after reversal #%d: got %d cents, want 15000050", i+1, got)
		}
	}
	got, err := s.PendingCharges(testContext(t), "1020304050")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].RefPayment != "FV-1001" || !got[0].Amount.Equal(dec("150000.50")) {
		t.Errorf("after the reversal: got %+v, want FV-1001 owing 150000.50 again", got)
	}
}

// TestSQLiteIDNumber covers the id_number column: absent or NULL it is the
// asked one; another value is passed through, for the core to hold back.
func TestSQLiteIDNumber(t *testing.T) {
	dsn, _ := newSQLiteERP(t)
	s := newTestSource(t, Config{Driver: "sqlite3", DSN: dsn, Query: `
		SELECT number AS ref_payment, concept AS description, balance_cents AS amount,
		       currency AS currency_type, 'Pagador' AS payer_name,
		       CASE number WHEN 'FV-1001' THEN NULL ELSE '999888777' END AS id_number,
		       CASE WHEN number = 'FV-1001' THEN 'si' END AS has_comments,
		       tags AS "references", 7 AS lote
		FROM invoices WHERE customer_id = 1 AND :id_number <> '' ORDER BY number`})
	got, err := s.PendingCharges(testContext(t), "1020304050")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d charges, want 3", len(got))
	}
	for i, want := range []string{"1020304050", "999888777", "999888777"} {
		if got[i].IDNumber != want {
			t.Errorf("%s: IDNumber: got %q, want %q", got[i].RefPayment, got[i].IDNumber, want)
		}
		if string(got[i].Metadata) != `{"lote":7}` {
			t.Errorf("%s: Metadata: got %s, want {\"lote\":7}", got[i].RefPayment, got[i].Metadata)
		}
	}
	if !got[0].HasComments || got[1].HasComments {
		t.Errorf("HasComments: got %v, %v; want true, false (NULL)", got[0].HasComments, got[1].HasComments)
	}
	if !got[0].Amount.Equal(dec("15000050")) {
		t.Errorf("Amount: got %s, want 15000050", got[0].Amount)
	}
}

func TestSQLiteStartupChecks(t *testing.T) {
	dsn, _ := newSQLiteERP(t)
	good := testdata(t, "sqlite-query.sql")
	tests := []struct {
		name        string
		cfg         Config
		want        string // part of the error
		unavailable bool
	}{
		{"missing required column", Config{Query: "SELECT number AS ref_payment, concept AS description, 1 AS amount, 'COP' AS currency_type FROM invoices WHERE number = :id_number"},
			"no payer_name column", false},
		{"two missing columns", Config{Query: "SELECT number AS ref_payment, concept AS description, 1 AS amount FROM invoices WHERE number = :id_number"},
			"no currency_type, payer_name column", false},
		{"column twice", Config{Query: "SELECT number AS ref_payment, concept AS description, 1 AS amount, 'COP' AS currency_type, 'x' AS payer_name, 2 AS AMOUNT FROM invoices WHERE number = :id_number"},
			`column "AMOUNT" twice`, false},
		{"syntax error", Config{Query: "SELEC number AS ref_payment FROM invoices WHERE number = :id_number"},
			`the query does not run: near "SELEC": syntax error`, false},
		{"unknown table", Config{Query: "SELECT * FROM facturas WHERE number = :id_number"},
			"no such table: facturas", false},
		{"no :id_number", Config{Query: "SELECT * FROM invoices"},
			"does not use :id_number", false},
		{"misspelt parameter", Config{Query: "SELECT * FROM invoices WHERE number = :id_numbre"},
			"unknown parameter :id_numbre", false},
		{"hand-written placeholder", Config{Query: "SELECT * FROM invoices WHERE number = ?"},
			"write named parameters", false},
		{"two statements", Config{Query: good + "; DELETE FROM invoices WHERE number = :id_number"},
			"holds 2 statements", false},
		{"write-back without :transaction_id", Config{Query: good, WritebackQuery: "UPDATE invoices SET balance_cents = 0 WHERE number = :ref_payment"},
			"does not use :transaction_id", false},
		{"write-back with a parameter of the lookup's kind only", Config{Query: good, WritebackQuery: "INSERT INTO payments (transaction_id) VALUES (:transaction_id); SELECT :nope"},
			"unknown parameter :nope", false},
		{"write-back that does not prepare", Config{Query: good, WritebackQuery: "INSERT INTO pagos (tx) VALUES (:transaction_id)"},
			"statement 1 does not prepare: no such table: pagos", false},
		{"reversal without :transaction_id", Config{Query: good, WritebackQuery: "INSERT INTO payments (transaction_id, invoice_id, amount_cents, paid_at, status) VALUES (:transaction_id, 1, 1, :paid_at, :status)",
			ReversalQuery: "UPDATE payments SET status = 'reversed' WHERE invoice_id = 1"}, "reversal_query: does not use :transaction_id", false},
		{"reversal with a parameter of the payment's only", Config{Query: good, WritebackQuery: "INSERT INTO payments (transaction_id, invoice_id, amount_cents, paid_at, status) VALUES (:transaction_id, 1, 1, :paid_at, :status)",
			ReversalQuery: "UPDATE payments SET status = :status WHERE transaction_id = :transaction_id"}, "unknown parameter :status", false},
		{"reversal that does not prepare", Config{Query: good, WritebackQuery: "INSERT INTO payments (transaction_id, invoice_id, amount_cents, paid_at, status) VALUES (:transaction_id, 1, 1, :paid_at, :status)",
			ReversalQuery: "UPDATE pagos SET status = 'reversed' WHERE tx = :transaction_id"}, "reversal_query: statement 1 does not prepare: no such table: pagos", false},
		{"reversal without write-back", Config{Query: good, ReversalQuery: "UPDATE payments SET status = 'reversed' WHERE transaction_id = :transaction_id"},
			"reversal_query: needs a writeback_query", false},
		{"unknown driver", Config{Driver: "oracle", Query: good}, `unknown driver "oracle"`, false},
		{"empty query", Config{Query: "  "}, "query is empty", false},
		{"idle above open", Config{Query: good, MaxOpenConns: 2, MaxIdleConns: 3}, "max_idle_conns (3) is more than max_open_conns (2)", false},
		{"unreachable file", Config{DSN: "file:" + filepath.Join(t.TempDir(), "missing", "erp.db"), Query: good},
			"unable to open database file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Driver == "" {
				cfg.Driver = "sqlite"
			}
			if cfg.DSN == "" {
				cfg.DSN = dsn
			}
			s, err := New(testContext(t), cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("New: got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %q, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, erp.ErrUnavailable); got != tt.unavailable {
				t.Errorf("New: errors.Is(err, erp.ErrUnavailable) = %v, want %v (err %v)", got, tt.unavailable, err)
			}
		})
	}
}

func TestSQLiteFloatAmountWarning(t *testing.T) {
	dsn, _ := newSQLiteERP(t)
	var logs logBuffer
	s, err := New(testContext(t), Config{Driver: "sqlite", DSN: dsn, Query: `
		SELECT number AS ref_payment, concept AS description, discount_pct AS amount,
		       currency AS currency_type, 'Pagador' AS payer_name
		FROM invoices WHERE number = 'FV-1001' AND :id_number <> ''`},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() { _ = s.Close() }()
	if out := logs.String(); !strings.Contains(out, "floating-point") {
		t.Errorf("logs: got %q, want a warning about the REAL amount column", out)
	}
	got, err := s.PendingCharges(testContext(t), "1")
	if err != nil || len(got) != 1 || !got[0].Amount.Equal(dec("10.5")) {
		t.Errorf("PendingCharges: got %+v, %v; want one charge of 10.5", got, err)
	}
}
