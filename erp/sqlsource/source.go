package sqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "github.com/mattn/go-sqlite3"    // registers "sqlite3"

	"recauda-bridge/erp"
)

// The named parameters. The lookup query binds :id_number; a write-back
// statement may bind any of writebackParams, and a reversal statement any of
// reversalParams, each as often as it likes.
const (
	paramIDNumber      = "id_number"
	paramRefPayment    = "ref_payment"
	paramAmount        = "amount"
	paramTransactionID = "transaction_id"
	paramPaidAt        = "paid_at"
	paramStatus        = "status"
	paramCurrencyType  = "currency_type"
	paramPaymentMethod = "payment_method"
	paramReversedAt    = "reversed_at"
)

var writebackParams = []string{
	paramRefPayment, paramAmount, paramTransactionID, paramPaidAt,
	paramStatus, paramIDNumber, paramCurrencyType, paramPaymentMethod,
}

var reversalParams = []string{
	paramRefPayment, paramAmount, paramTransactionID, paramReversedAt,
	paramIDNumber, paramCurrencyType, paramPaymentMethod,
}

// startupTimeout bounds New's checks when its ctx has no deadline of its own.
const startupTimeout = 15 * time.Second

// probeID is bound as :id_number while New reads the query's columns. It is
// all digits so that it converts to whatever type the document column has.
const probeID = "0"

// Source reads pending charges from a SQL database with the merchant's query
// and, when a write-back query is configured, records payments there. It is
// safe for concurrent use; database/sql pools the connections.
type Source struct {
	dialect   dialect
	db        *sql.DB
	lookup    statement
	writeback []statement
	reversal  []statement
	log       *slog.Logger
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)

// New connects to the database and checks, before it returns, that the
// source can work: the database answers, the query parses and runs, it
// returns every required column (see RequiredColumns), and each write-back
// statement prepares. A database that cannot be reached gives an error
// wrapping erp.ErrUnavailable; a query the database rejects or that lacks a
// column gives an error that says which and what the database said. ctx
// bounds the checks (15 s when it has no deadline). logger may be nil.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Source, error) {
	cfg, d, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	lookup, err := rewrite(d, cfg.Query, []string{paramIDNumber})
	if err != nil {
		return nil, fmt.Errorf("sqlsource: query: %w", err)
	}
	if len(lookup) != 1 {
		return nil, fmt.Errorf("sqlsource: query: holds %d statements; it must be one SELECT", len(lookup))
	}
	if !lookup[0].uses(paramIDNumber) {
		return nil, fmt.Errorf("sqlsource: query: does not use :id_number, so every customer would get the same charges")
	}
	var writeback []statement
	if strings.TrimSpace(cfg.WritebackQuery) != "" {
		writeback, err = rewrite(d, cfg.WritebackQuery, writebackParams)
		if err != nil {
			return nil, fmt.Errorf("sqlsource: writeback_query: %w", err)
		}
		if !anyUses(writeback, paramTransactionID) {
			return nil, fmt.Errorf("sqlsource: writeback_query: does not use :transaction_id, so it cannot be idempotent")
		}
	}
	var reversal []statement
	if strings.TrimSpace(cfg.ReversalQuery) != "" {
		if writeback == nil {
			return nil, fmt.Errorf("sqlsource: reversal_query: needs a writeback_query: only a payment the bridge recorded is reversed")
		}
		reversal, err = rewrite(d, cfg.ReversalQuery, reversalParams)
		if err != nil {
			return nil, fmt.Errorf("sqlsource: reversal_query: %w", err)
		}
		if !anyUses(reversal, paramTransactionID) {
			return nil, fmt.Errorf("sqlsource: reversal_query: does not use :transaction_id, so it cannot be idempotent")
		}
	}

	db, err := sql.Open(d.driverName, cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: open %s: %w", d.name, err)
	}
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)

	s := &Source{dialect: d, db: db, lookup: lookup[0], writeback: writeback, reversal: reversal, log: logger}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startupTimeout)
		defer cancel()
	}
	l, err := s.check(ctx)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	for _, name := range l.floatMoneyColumns() {
		logger.Warn("sql source: a money column has a floating-point type; amounts are read as the float shows them, use NUMERIC/DECIMAL for exact money",
			"column", name)
	}
	extras := make([]string, len(l.extras))
	for i, idx := range l.extras {
		extras[i] = l.cols[idx].name
	}
	logger.Info("sql source ready", "config", cfg, "columns", columnNames(l.cols), "metadata_columns", strings.Join(extras, ", "))
	return s, nil
}

func anyUses(stmts []statement, name string) bool {
	for _, st := range stmts {
		if st.uses(name) {
			return true
		}
	}
	return false
}

// check runs New's start-up checks and returns the query's column layout.
func (s *Source) check(ctx context.Context) (*layout, error) {
	if err := s.db.PingContext(ctx); err != nil {
		return nil, unavailable("connect to "+s.dialect.name, err)
	}
	cols, err := s.probe(ctx)
	if err != nil {
		if transient(err) {
			return nil, unavailable("check the query", err)
		}
		return nil, fmt.Errorf("sqlsource: the query does not run: %w", err)
	}
	l, err := newLayout(cols)
	if err != nil {
		return nil, fmt.Errorf("sqlsource: %w", err)
	}
	for _, q := range []struct {
		name  string
		stmts []statement
	}{{"writeback_query", s.writeback}, {"reversal_query", s.reversal}} {
		for i, st := range q.stmts {
			stmt, err := s.db.PrepareContext(ctx, st.sql)
			if err != nil {
				if transient(err) {
					return nil, unavailable("check the "+q.name, err)
				}
				return nil, fmt.Errorf("sqlsource: %s: statement %d does not prepare: %w", q.name, i+1, err)
			}
			_ = stmt.Close()
		}
	}
	return l, nil
}

// probe reads the names and types of the query's columns without reading a
// row: wrapped in SELECT * FROM (<query>) q WHERE 1=0 where the dialect
// allows, and always inside a transaction that is rolled back (read-only
// where the driver can). See dialect.probeWrap.
func (s *Source) probe(ctx context.Context) ([]column, error) {
	q := s.lookup.sql
	if s.dialect.probeWrap {
		// Newlines, so that a trailing "-- comment" ends before the ")".
		q = "SELECT * FROM (\n" + q + "\n) recauda_probe WHERE 1=0"
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.dialect.readOnlyTx})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, q, s.lookup.args(map[string]any{paramIDNumber: probeID})...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := columnsOf(types)
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return cols, rows.Err()
}

// PendingCharges runs the query with idNumber bound as :id_number and turns
// each row into a Charge; a value that cannot be converted becomes a Defect
// of its charge. Any failure to run the query or read its answer (including
// ctx's deadline) is an error wrapping erp.ErrUnavailable.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	rows, err := s.db.QueryContext(ctx, s.lookup.sql, s.lookup.args(map[string]any{paramIDNumber: idNumber})...)
	if err != nil {
		return nil, unavailable("lookup", err)
	}
	defer func() { _ = rows.Close() }()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, unavailable("lookup: read the columns", err)
	}
	// The layout is worked out on every call: the schema may have changed
	// since New, and then the answer cannot be read.
	l, err := newLayout(columnsOf(types))
	if err != nil {
		return nil, unavailable("lookup", err)
	}
	vals := make([]any, len(types))
	dest := make([]any, len(types))
	for i := range vals {
		dest[i] = &vals[i]
	}
	charges := []erp.Charge{}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(dest...); err != nil {
			return nil, unavailable("lookup: read a row", err)
		}
		charges = append(charges, l.charge(vals, idNumber))
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("lookup", err)
	}
	return charges, nil
}

// CanRecord reports whether a write-back query is configured; without one
// RecordPayment returns erp.ErrUnsupported.
func (s *Source) CanRecord() bool { return len(s.writeback) > 0 }

// RecordPayment runs the write-back statements in order, in one transaction,
// with the payment's fields bound as :ref_payment, :amount (decimal text),
// :transaction_id, :paid_at (a time in UTC), :status, :id_number,
// :currency_type and :payment_method. Idempotency is the statements' own:
// they must do nothing the second time they see a :transaction_id (INSERT
// ... ON CONFLICT (transaction_id) DO NOTHING and the like; see the package
// documentation). A failure worth retrying (unreachable, timeout, deadlock)
// wraps erp.ErrUnavailable; any other is returned as the database said it.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if len(s.writeback) == 0 {
		return fmt.Errorf("sqlsource: no writeback_query configured: %w", erp.ErrUnsupported)
	}
	if p.TransactionID == "" {
		return errors.New("sqlsource: write-back: the payment has no transaction id")
	}
	values := map[string]any{
		paramRefPayment:    p.RefPayment,
		paramAmount:        p.Amount.String(),
		paramTransactionID: p.TransactionID,
		paramPaidAt:        p.PaidAt.UTC(),
		paramStatus:        p.Status,
		paramIDNumber:      p.IDNumber,
		paramCurrencyType:  p.Currency,
		paramPaymentMethod: p.PaymentMethod,
	}
	return s.runInTx(ctx, "write-back", s.writeback, values)
}

// CanReverse reports whether a reversal query is configured; without one
// RecordReversal returns erp.ErrUnsupported and the bridge leaves each
// reversal to the operator.
func (s *Source) CanReverse() bool { return len(s.reversal) > 0 }

// RecordReversal runs the reversal statements in order, in one transaction,
// with the reversal's fields bound as :transaction_id, :ref_payment, :amount
// (the reversed payment's, decimal text), :reversed_at (a time in UTC),
// :id_number, :currency_type and :payment_method. Like RecordPayment's,
// idempotency is the statements' own: a second reversal of a
// :transaction_id, or one of a payment never recorded, must change nothing.
// Errors as RecordPayment's.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if len(s.reversal) == 0 {
		return fmt.Errorf("sqlsource: no reversal_query configured: %w", erp.ErrUnsupported)
	}
	if r.TransactionID == "" {
		return errors.New("sqlsource: reversal: no transaction id")
	}
	values := map[string]any{
		paramRefPayment:    r.RefPayment,
		paramAmount:        r.Amount.String(),
		paramTransactionID: r.TransactionID,
		paramReversedAt:    r.ReversedAt.UTC(),
		paramIDNumber:      r.IDNumber,
		paramCurrencyType:  r.Currency,
		paramPaymentMethod: r.PaymentMethod,
	}
	return s.runInTx(ctx, "reversal", s.reversal, values)
}

// runInTx runs stmts in order in one transaction with values bound.
func (s *Source) runInTx(ctx context.Context, what string, stmts []statement, values map[string]any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return writebackErr(what, "begin", err)
	}
	defer func() { _ = tx.Rollback() }()
	for i, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.sql, st.args(values)...); err != nil {
			return writebackErr(what, fmt.Sprintf("statement %d", i+1), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return writebackErr(what, "commit", err)
	}
	return nil
}

func writebackErr(what, op string, err error) error {
	if transient(err) {
		return unavailable(what+": "+op, err)
	}
	return fmt.Errorf("sqlsource: %s: %s: %w", what, op, err)
}

// Check pings the database; an error wraps erp.ErrUnavailable.
func (s *Source) Check(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

// Close closes the connection pool; calls already running finish first.
func (s *Source) Close() error {
	return s.db.Close()
}
