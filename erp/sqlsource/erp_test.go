package sqlsource

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
)

// erpDatabase is a PostgreSQL or MariaDB database of the test's own, loaded
// with the ERP schema and seed rows of testdata/sqlsource, and what the
// tests need to know about it.
type erpDatabase struct {
	driver     string
	dsn        string  // for the Source
	db         *sql.DB // to look at the effects of a write-back
	query      string  // the merchant's lookup
	writeback  string  // the merchant's write-back
	reversal   string  // the merchant's reversal of a write-back
	sleepQuery string  // a lookup that takes 5 s
}

// legacyQuery reads the table of text-only invoices, some of them broken.
// It is plain enough SQL for every database.
const legacyQuery = `SELECT number AS ref_payment, concept AS description, amount_text AS amount,
       'COP' AS currency_type, payer AS payer_name, due_text AS limit_date, comments AS has_comments
FROM legacy_invoices
WHERE document = :id_number
ORDER BY number`

// mariaCharges are the pending charges of customer 1020304050 in the seed
// rows of postgres-schema.sql and mysql-schema.sql, which are the same.
func mariaCharges() []erp.Charge {
	return []erp.Charge{
		{
			RefPayment: "FV-1001", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
			Description: "Factura FV-1001: Cuota de administración febrero",
			Amount:      dec("150000.50"), Currency: "COP", LimitDate: "2030-12-31",
			References: []string{"obra-12", "lote 3"},
			// The metadata column plus the columns Efipay does not know; the
			// invoice total keeps digits a float64 would lose.
			Metadata: []byte(`{"branch":"Bogotá","seller":"ana","total":1234567890123456.78,"zone":4}`),
		},
		{
			RefPayment: "FV-1002", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
			Description: "Factura FV-1002: Servicio de mantenimiento",
			Amount:      dec("99999999.99"), Currency: "COP",
			Advance:     &erp.Advance{Type: "Porcentaje Minimo", Value: dec("30")},
			HasComments: true, CommentsLabel: "Observaciones",
			// branch and extra are NULL: absent.
			Metadata: []byte(`{"total":99999999.99}`),
		},
	}
}

func runERPTests(t *testing.T, e erpDatabase) {
	withWriteback := Config{Driver: e.driver, DSN: e.dsn, Query: e.query, WritebackQuery: e.writeback}

	t.Run("lookup", func(t *testing.T) {
		s := newTestSource(t, withWriteback)
		got, err := s.PendingCharges(testContext(t), "1020304050")
		if err != nil {
			t.Fatalf("PendingCharges: %v", err)
		}
		assertCharges(t, got, mariaCharges())

		got, err = s.PendingCharges(testContext(t), "900123456")
		if err != nil {
			t.Fatalf("PendingCharges: %v", err)
		}
		assertCharges(t, got, []erp.Charge{{
			RefPayment: "FE-2001", IDNumber: "900123456", PayerName: "Ferretería El Tornillo SAS",
			Description: "Factura FE-2001: Tornillería importada", Amount: dec("4999.99"), Currency: "USD",
			LimitDate: "2030-06-15", Metadata: []byte(`{"branch":"Medellín","total":5000.10}`),
		}})
	})

	t.Run("nothing pending is an empty list", func(t *testing.T) {
		s := newTestSource(t, withWriteback)
		for _, id := range []string{"52111222", "77777777", "1' OR '1'='1"} {
			got, err := s.PendingCharges(testContext(t), id)
			if err != nil {
				t.Fatalf("PendingCharges(%q): %v", id, err)
			}
			if got == nil || len(got) != 0 {
				t.Errorf("PendingCharges(%q): got %#v, want an empty, non-nil list", id, got)
			}
		}
	})

	t.Run("unreadable values become defects", func(t *testing.T) {
		s := newTestSource(t, Config{Driver: e.driver, DSN: e.dsn, Query: legacyQuery})
		got, err := s.PendingCharges(testContext(t), "1020304050")
		if err != nil {
			t.Fatalf("PendingCharges: %v", err)
		}
		assertCharges(t, got, []erp.Charge{
			{
				RefPayment: "L-1", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
				Description: "Saldo migrado 2019", Currency: "COP",
				// An impossible date is passed on for validation to report.
				LimitDate: "2024-02-30",
				Defects: []erp.Defect{
					{Field: "recauda_information.amount", Message: `column amount: "12.345,67" is not a decimal number`},
					{Field: "advanced_options.has_comments", Message: `column has_comments: "quizás" is not a boolean`},
				},
			},
			{
				RefPayment: "L-2", IDNumber: "1020304050", PayerName: "María Fernanda Gómez",
				Description: "Saldo migrado 2020", Currency: "COP", Amount: dec("45000.00"),
				LimitDate: "2030-03-01", HasComments: true,
			},
		})
	})

	t.Run("write-back is idempotent", func(t *testing.T) {
		s := newTestSource(t, withWriteback)
		if !s.CanRecord() {
			t.Fatalf("CanRecord: got false, want true")
		}
		p := erp.Payment{
			RefPayment: "FV-1002", IDNumber: "1020304050", Amount: dec("0.99"), Currency: "COP",
			TransactionID: "efipay-tx-1", PaidAt: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC),
			Status: "partially_paid", PaymentMethod: "PSE",
		}
		for i := range 2 {
			if err := s.RecordPayment(testContext(t), p); err != nil {
				t.Fatalf("RecordPayment #%d: %v", i+1, err)
			}
		}
		assertPayments(t, e, "efipay-tx-1", 1)
		assertBalance(t, e, "FV-1002", "99999999.00")

		got, err := s.PendingCharges(testContext(t), "1020304050")
		if err != nil {
			t.Fatalf("PendingCharges: %v", err)
		}
		if len(got) != 2 || !got[1].Amount.Equal(dec("99999999.00")) {
			t.Errorf("after the payment: got %+v, want FV-1002 owing 99999999.00", got)
		}
	})

	t.Run("write-back is idempotent under concurrent deliveries", func(t *testing.T) {
		s := newTestSource(t, withWriteback)
		p := erp.Payment{
			RefPayment: "FE-2001", IDNumber: "900123456", Amount: dec("1000.00"), Currency: "USD",
			TransactionID: "efipay-tx-2", PaidAt: time.Now(), Status: "partially_paid", PaymentMethod: "Tarjeta",
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				// A deadlock between two deliveries of the same transaction is
				// an ErrUnavailable, which the caller retries.
				for range 5 {
					errs[i] = s.RecordPayment(testContext(t), p)
					if !errors.Is(errs[i], erp.ErrUnavailable) {
						return
					}
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("RecordPayment #%d: %v", i+1, err)
			}
		}
		assertPayments(t, e, "efipay-tx-2", 1)
		assertBalance(t, e, "FE-2001", "3999.99")
	})

	t.Run("reversal undoes the payment once", func(t *testing.T) {
		s := newTestSource(t, Config{Driver: e.driver, DSN: e.dsn, Query: e.query, WritebackQuery: e.writeback, ReversalQuery: e.reversal})
		if !s.CanReverse() {
			t.Fatalf("CanReverse: got false, want true")
		}
		p := erp.Payment{
			RefPayment: "FV-1001", IDNumber: "1020304050", Amount: dec("150000.50"), Currency: "COP",
			TransactionID: "efipay-tx-3", PaidAt: time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC), Status: "paid", PaymentMethod: "PSE",
		}
		if err := s.RecordPayment(testContext(t), p); err != nil {
			t.Fatalf("RecordPayment: %v", err)
		}
		assertBalance(t, e, "FV-1001", "0")
		r := erp.Reversal{RefPayment: "FV-1001", IDNumber: "1020304050", Amount: dec("150000.50"), Currency: "COP",
			TransactionID: "efipay-tx-3", ReversedAt: time.Date(2030, 1, 3, 9, 0, 0, 0, time.UTC), PaymentMethod: "PSE"}
		for i := range 2 { // the worker may deliver it twice
			if err := s.RecordReversal(testContext(t), r); err != nil {
				t.Fatalf("RecordReversal #%d: %v", i+1, err)
			}
			assertBalance(t, e, "FV-1001", "150000.50")
		}
		// A reversal of a payment the ERP never recorded changes nothing.
		if err := s.RecordReversal(testContext(t), erp.Reversal{RefPayment: "FV-1001", TransactionID: "never-recorded"}); err != nil {
			t.Fatalf("RecordReversal of an unknown payment: %v", err)
		}
		assertBalance(t, e, "FV-1001", "150000.50")
		got, err := s.PendingCharges(testContext(t), "1020304050")
		if err != nil {
			t.Fatalf("PendingCharges: %v", err)
		}
		if len(got) == 0 || got[0].RefPayment != "FV-1001" || !got[0].Amount.Equal(dec("150000.50")) {
			t.Errorf("after the reversal: got %+v, want FV-1001 owing 150000.50 again", got)
		}
		if err := s.RecordReversal(testContext(t), erp.Reversal{RefPayment: "FV-1001"}); err == nil || errors.Is(err, erp.ErrUnavailable) {
			t.Errorf("RecordReversal without a transaction id: got %v, want a permanent error", err)
		}
	})

	t.Run("without reversal query", func(t *testing.T) {
		s := newTestSource(t, withWriteback)
		if s.CanReverse() {
			t.Errorf("CanReverse: got true, want false")
		}
		if err := s.RecordReversal(testContext(t), erp.Reversal{TransactionID: "x"}); !errors.Is(err, erp.ErrUnsupported) {
			t.Errorf("RecordReversal: got %v, want erp.ErrUnsupported", err)
		}
	})

	t.Run("without write-back query", func(t *testing.T) {
		s := newTestSource(t, Config{Driver: e.driver, DSN: e.dsn, Query: e.query})
		if s.CanRecord() {
			t.Errorf("CanRecord: got true, want false")
		}
		err := s.RecordPayment(testContext(t), erp.Payment{TransactionID: "x"})
		if !errors.Is(err, erp.ErrUnsupported) {
			t.Errorf("RecordPayment: got %v, want erp.ErrUnsupported", err)
		}
	})

	t.Run("the deadline of ctx is honoured", func(t *testing.T) {
		s := newTestSource(t, Config{Driver: e.driver, DSN: e.dsn, Query: e.sleepQuery})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.PendingCharges(ctx, "1020304050")
		elapsed := time.Since(start)
		assertUnavailable(t, err)
		if elapsed > 2*time.Second {
			t.Errorf("PendingCharges returned after %v, want about 200ms", elapsed)
		}
		// The pool still works afterwards.
		if err := s.Check(testContext(t)); err != nil {
			t.Errorf("Check after the timeout: %v", err)
		}
	})

	t.Run("start-up checks", func(t *testing.T) {
		tests := []struct {
			name      string
			query     string
			writeback string
			want      string // part of the error
		}{
			{"missing required column",
				"SELECT number AS ref_payment, concept AS description, balance AS amount, currency AS currency_type FROM invoices WHERE number = :id_number",
				"", "no payer_name column"},
			{"syntax error",
				"SELEC number AS ref_payment FROM invoices WHERE number = :id_number", "", "syntax"},
			{"unknown table",
				"SELECT number AS ref_payment FROM facturas WHERE number = :id_number", "", "facturas"},
			{"write-back that does not prepare",
				e.query, "UPDATE facturas SET saldo = 0 WHERE tx = :transaction_id", "statement 1 does not prepare"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := New(testContext(t), Config{Driver: e.driver, DSN: e.dsn, Query: tt.query, WritebackQuery: tt.writeback}, nil)
				if err == nil {
					_ = s.Close()
					t.Fatalf("New: got no error, want one containing %q", tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("New: got %q, want it to contain %q", err, tt.want)
				}
				if errors.Is(err, erp.ErrUnavailable) {
					t.Errorf("New: got %v, a configuration error must not wrap erp.ErrUnavailable", err)
				}
			})
		}
	})

	t.Run("health check", func(t *testing.T) {
		s, err := New(testContext(t), Config{Driver: e.driver, DSN: e.dsn, Query: e.query}, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := s.Check(testContext(t)); err != nil {
			t.Errorf("Check: got %v, want nil", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertUnavailable(t, s.Check(testContext(t)))
		_, err = s.PendingCharges(testContext(t), "1020304050")
		assertUnavailable(t, err)
	})

	t.Run("concurrent lookups", func(t *testing.T) {
		s := newTestSource(t, Config{Driver: e.driver, DSN: e.dsn, Query: e.query, MaxOpenConns: 3})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					got, err := s.PendingCharges(testContext(t), "1020304050")
					if err != nil || len(got) != 2 {
						t.Errorf("PendingCharges: got %d charges, %v; want 2, nil", len(got), err)
						return
					}
				}
			})
		}
		wg.Wait()
		if got := s.db.Stats().MaxOpenConnections; got != 3 {
			t.Errorf("MaxOpenConnections: got %d, want 3", got)
		}
	})
}

func assertPayments(t *testing.T, e erpDatabase, transactionID string, want int) {
	t.Helper()
	got := queryDecimal(t, e, "SELECT CAST(COUNT(*) AS CHAR(10)) FROM payments WHERE transaction_id = :transaction_id",
		map[string]any{paramTransactionID: transactionID})
	if !got.Equal(decimal.NewFromInt(int64(want))) {
		t.Errorf("payments with transaction %s: got %s, want %d", transactionID, got, want)
	}
}

func assertBalance(t *testing.T, e erpDatabase, invoice, want string) {
	t.Helper()
	got := queryDecimal(t, e, "SELECT CAST(balance AS CHAR(30)) FROM invoices WHERE number = :ref_payment",
		map[string]any{paramRefPayment: invoice})
	if !got.Equal(dec(want)) {
		t.Errorf("balance of %s: got %s, want %s", invoice, got, want)
	}
}

// queryDecimal reads one decimal value (a balance, a count) as text, so that
// nothing goes through a float; the query's parameters are named, like the
// merchant's.
func queryDecimal(t *testing.T, e erpDatabase, query string, values map[string]any) decimal.Decimal {
	t.Helper()
	d, _ := dialectFor(e.driver)
	stmts, err := rewrite(d, query, writebackParams)
	if err != nil {
		t.Fatalf("rewrite %s: %v", query, err)
	}
	var s string
	if err := e.db.QueryRowContext(testContext(t), stmts[0].sql, stmts[0].args(values)...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return dec(strings.TrimSpace(s))
}
