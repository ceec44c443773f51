// Package sqlsource is the ERP source that reads a merchant's receivables
// straight from the SQL database behind its ERP: PostgreSQL, MySQL or
// MariaDB, SQLite, or SQL Server, through database/sql.
//
// The merchant writes the lookup: one SELECT that takes the customer's ID
// number as the named parameter :id_number and names its result columns
// after Efipay's fields. The package rewrites :id_number into the driver's
// placeholder ($1 for PostgreSQL, ? for MySQL and SQLite, @p1 for SQL
// Server) and the driver binds the value; it is never written into the SQL
// text. The rewriter leaves alone what only looks like a parameter: casts
// (x::text), string literals (including E'...' and $$...$$ in PostgreSQL and
// backslash escapes in MySQL), quoted identifiers ("...", `...`, [...]) and
// comments (--, /* */, and # in MySQL). A misspelt name (:id_numbr) or a
// hand-written driver placeholder ($1, ?, @p1) is an error at start-up.
//
//	SELECT i.number AS ref_payment, i.concept AS description, i.balance AS amount,
//	       i.currency AS currency_type, c.name AS payer_name, i.due_date AS limit_date
//	FROM invoices i JOIN customers c ON c.id = i.customer_id
//	WHERE c.document = :id_number AND i.balance > 0
//
// # Columns
//
// Required: ref_payment, description, amount, currency_type, payer_name.
//
// Optional: id_number (defaults to the ID number asked for; a different
// value is passed through so that the core can hold the charge back),
// limit_date, advance_type, advance_value, references, picture,
// has_comments, comments_label, discount_type, discount_value,
// discount_before_on, delivery_type, delivery_value,
// request_address_delivery, selected_taxes, metadata.
//
// Any other column goes into the charge's metadata object, keyed by the
// column's name; a key of the metadata column itself wins over a column of
// the same name. Names match case-insensitively. "references" is a reserved
// word in SQL: quote it ("references", `references`, [references]).
//
// # Type mapping
//
// Values are scanned into any, so each arrives as its driver hands it over,
// and are converted like this:
//
//   - NULL: the field is absent (no limit date, no advance, ...). NULL in a
//     required column is a Defect; has_comments NULL is false.
//   - Money (amount, advance_value, discount_value, delivery_value): a
//     decimal.Decimal with every digit. NUMERIC/DECIMAL columns arrive as
//     text from the drivers and integers as int64, so nothing goes through
//     float64. Only a binary floating-point column (REAL, FLOAT, DOUBLE) hands
//     over a float64; it is written with strconv.FormatFloat(f, 'f', -1, 64),
//     the shortest text that reads back as the same float, and New logs a
//     warning for such a money column. In SQLite, keep money as integer
//     cents or TEXT (a NUMERIC column there stores 150000.50 as a float).
//   - Dates (limit_date, discount_before_on): a DATE or TIMESTAMP (a
//     time.Time) is formatted "YYYY-MM-DD" in its own location; text passes
//     as it is, so that validation reports an impossible date such as
//     "2024-02-30" (a time after a "YYYY-MM-DD" date is dropped).
//   - Booleans (has_comments, request_address_delivery): bool; the integers
//     0 and 1; MySQL BIT(1); text true/false, t/f, 1/0, si/sí/no, yes/y/n.
//   - references: a PostgreSQL text[] array, or text separated by "|";
//     blanks around the parts and empty parts are dropped.
//   - selected_taxes: a PostgreSQL integer array, text separated by "|", or
//     one integer.
//   - metadata: JSON object text (json/jsonb/text); JSON null is absent.
//   - Other text fields: text (or a number, rendered as text), trimmed.
//   - Unknown columns in metadata: integers and NUMERIC/DECIMAL values as
//     JSON numbers with their digits, json/jsonb as JSON, dates as
//     "YYYY-MM-DD", other times in RFC 3339, bytes that are not UTF-8 in
//     base64, the rest as strings; NULL ones are left out.
//
// A value that cannot be converted ("12.345,67" as an amount, "quizás" as a
// boolean, a JSON array as metadata) does not fail the lookup: it becomes a
// Defect of its charge (Field is Efipay's path, such as
// "recauda_information.amount"), and the core holds that charge back.
//
// # Start-up checks
//
// New checks against the database, not at the first lookup: it pings, then
// reads the query's columns with :id_number bound to "0" inside a
// transaction that is rolled back (read-only on PostgreSQL and MySQL). On
// PostgreSQL and MySQL the query is wrapped as SELECT * FROM (<query>)
// recauda_probe WHERE 1=0, so no row is read; SQLite sends the query itself,
// which runs nothing until a row is asked for; SQL Server runs the query
// itself (a derived table there cannot hold ORDER BY or WITH). Every
// required column must be there and no name twice. Each write-back
// statement is prepared. An unreachable database gives an error wrapping
// erp.ErrUnavailable; a query the database rejects gives an error with what
// the database said.
//
// # Write-back
//
// With a WritebackQuery the Source is an erp.PaymentRecorder. The query may
// hold several statements separated by ";"; they run in order in one
// transaction, with the named parameters :ref_payment, :amount (decimal
// text), :transaction_id, :paid_at (a time, UTC), :status ("paid" or
// "partially_paid"), :id_number, :currency_type and :payment_method, each
// usable any number of times. Efipay may deliver the same payment more than
// once, so the statements must be idempotent on :transaction_id: keep the
// transaction id in a UNIQUE column and insert with INSERT ... ON CONFLICT
// (transaction_id) DO NOTHING (PostgreSQL, SQLite) or ON DUPLICATE KEY
// UPDATE transaction_id = transaction_id / INSERT IGNORE (MySQL), and apply
// the payment to the balance only when the row was inserted (a CTE with
// RETURNING, an "applied" flag, or a trigger). New refuses a write-back
// query that does not use :transaction_id. Without one, RecordPayment
// returns erp.ErrUnsupported and CanRecord reports false.
//
// With a ReversalQuery as well the Source is an erp.ReversalRecorder: the
// statements undo a payment the write-back recorded, with :transaction_id,
// :ref_payment, :amount, :reversed_at, :id_number, :currency_type and
// :payment_method, and must be idempotent on :transaction_id (mark the
// payment reversed only while it is not, and give the amount back only
// then). Without one, RecordReversal returns erp.ErrUnsupported and
// CanReverse reports false.
//
// # Errors and deadlines
//
// Every statement runs with the caller's ctx, so its deadline bounds it.
// PendingCharges wraps every failure in erp.ErrUnavailable. RecordPayment
// wraps in erp.ErrUnavailable a failure worth retrying (unreachable,
// timeout, broken connection, deadlock, serialization failure) and returns
// any other (a constraint, a syntax error) as the database said it.
//
// # Drivers and DSNs
//
//   - postgres: github.com/jackc/pgx/v5/stdlib,
//     postgres://user:pass@host:5432/erp?sslmode=disable
//   - mysql (MySQL and MariaDB): github.com/go-sql-driver/mysql,
//     user:pass@tcp(host:3306)/erp?parseTime=true
//   - sqlite: github.com/mattn/go-sqlite3 (cgo), file:/var/lib/erp.db?mode=rw&_busy_timeout=5000
//   - sqlserver: github.com/microsoft/go-mssqldb,
//     sqlserver://user:pass@host:1433?database=erp
//
// SQL Server cannot run on the machines this project is tested on: its
// placeholder rewriting (@p1, repeated names, [identifiers], N'...'
// literals) is covered by unit tests only, and the rest of this package by
// tests against real PostgreSQL, MariaDB and SQLite databases.
//
// The pool takes Config.MaxOpenConns, MaxIdleConns and ConnMaxLifetime
// (defaults 10, 5 and 30 minutes). README.md beside this file has a worked
// example for each database.
package sqlsource
