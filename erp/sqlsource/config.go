package sqlsource

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"recauda-bridge/models"
)

// Config says which database to ask and how. The zero values of the pool
// settings take the defaults DefaultMaxOpenConns, DefaultMaxIdleConns and
// DefaultConnMaxLifetime.
type Config struct {
	// Driver is "postgres", "mysql" (MySQL and MariaDB), "sqlite" or
	// "sqlserver". The aliases "postgresql", "pgx", "mariadb", "sqlite3" and
	// "mssql" are accepted too.
	Driver string `yaml:"driver"`
	// DSN is the driver's connection string; it holds a password, so it is
	// never logged. Examples are in the package documentation.
	DSN string `yaml:"dsn"`
	// Query is the lookup the merchant writes: one SELECT that uses
	// :id_number and names its columns after Efipay's fields.
	Query string `yaml:"query"`
	// WritebackQuery, optional, records a payment in the ERP. It may hold
	// several statements separated by ";", run in order in one transaction,
	// and must be idempotent on :transaction_id.
	WritebackQuery string `yaml:"writeback_query"`
	// ReversalQuery, optional, records that a payment the write-back query
	// recorded was reversed. Like WritebackQuery it may hold several
	// statements and must be idempotent on :transaction_id.
	ReversalQuery string `yaml:"reversal_query"`
	// MaxOpenConns caps the connections to the database.
	MaxOpenConns int `yaml:"max_open_conns"`
	// MaxIdleConns caps the idle connections kept in the pool.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ConnMaxLifetime closes connections older than this, so that a fail-over
	// or a DNS change is followed.
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
}

// Pool defaults, taken when the Config field is zero.
const (
	DefaultMaxOpenConns    = 10
	DefaultMaxIdleConns    = 5
	DefaultConnMaxLifetime = 30 * time.Minute
)

// LogValue keeps the DSN, which holds a password, out of the logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("driver", c.Driver),
		slog.Bool("writeback", strings.TrimSpace(c.WritebackQuery) != ""),
		slog.Bool("reversal", strings.TrimSpace(c.ReversalQuery) != ""),
		slog.Int("max_open_conns", c.MaxOpenConns),
		slog.Int("max_idle_conns", c.MaxIdleConns),
		slog.Duration("conn_max_lifetime", c.ConnMaxLifetime),
	)
}

// withDefaults fills the zero pool settings and checks the rest.
func (c Config) withDefaults() (Config, dialect, error) {
	d, ok := dialectFor(c.Driver)
	if !ok {
		return c, dialect{}, fmt.Errorf("sqlsource: unknown driver %q (want postgres, mysql, sqlite or sqlserver)", c.Driver)
	}
	if strings.TrimSpace(c.DSN) == "" {
		return c, d, fmt.Errorf("sqlsource: dsn is empty")
	}
	if strings.TrimSpace(c.Query) == "" {
		return c, d, fmt.Errorf("sqlsource: query is empty")
	}
	if c.MaxOpenConns < 0 || c.MaxIdleConns < 0 || c.ConnMaxLifetime < 0 {
		return c, d, fmt.Errorf("sqlsource: pool settings cannot be negative")
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = DefaultMaxOpenConns
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = min(DefaultMaxIdleConns, c.MaxOpenConns)
	}
	if c.MaxIdleConns > c.MaxOpenConns {
		return c, d, fmt.Errorf("sqlsource: max_idle_conns (%d) is more than max_open_conns (%d)", c.MaxIdleConns, c.MaxOpenConns)
	}
	if c.ConnMaxLifetime == 0 {
		c.ConnMaxLifetime = DefaultConnMaxLifetime
	}
	return c, d, nil
}

// dialect is what differs between the databases: the database/sql driver,
// the placeholders, and the lexical rules the parameter rewriter must know to
// leave literals, quoted identifiers and comments alone.
type dialect struct {
	name       string // canonical Config.Driver value
	driverName string // database/sql driver name

	numbered          bool   // placeholders carry a number: prefix + n, reusable
	placeholderPrefix string // "$" or "@p"; unused when !numbered

	backslashEscapes      bool // '...' (and "..." strings) take backslash escapes
	doubleQuotedStrings   bool // "..." is a string, not an identifier
	escapeStrings         bool // E'...' takes backslash escapes
	dollarQuotes          bool // $$...$$ and $tag$...$tag$ strings; $1 placeholders
	backticks             bool // `identifier`
	brackets              bool // [identifier]
	hashComments          bool // # comment
	dashCommentNeedsSpace bool // "--" opens a comment only before a blank
	nestedComments        bool // /* /* */ */ nests
	questionMarks         bool // "?" is the driver's placeholder: reject it by hand
	atParams              bool // "@p1" is the driver's placeholder: reject it by hand

	// probeWrap: the start-up check runs SELECT * FROM (<query>) q WHERE
	// 1=0, which reads no row. Without it the query itself is sent, in a
	// transaction that is rolled back, and only its columns are read: the
	// SQLite driver steps nothing until the first row is asked for, so
	// nothing runs (and a subquery would rename duplicate columns and blur
	// syntax errors); SQL Server runs the query (a derived table there
	// cannot hold an ORDER BY or a WITH).
	probeWrap bool
	// readOnlyTx: the driver supports sql.TxOptions{ReadOnly: true}.
	readOnlyTx bool
}

func dialectFor(driver string) (dialect, bool) {
	name, _ := models.SQLDialect(strings.ToLower(strings.TrimSpace(driver)))
	switch name {
	case models.DialectPostgres:
		return dialect{
			name: name, driverName: "pgx",
			numbered: true, placeholderPrefix: "$",
			escapeStrings: true, dollarQuotes: true, nestedComments: true,
			probeWrap: true, readOnlyTx: true,
		}, true
	case models.DialectMySQL:
		return dialect{
			name: name, driverName: "mysql",
			backslashEscapes: true, doubleQuotedStrings: true, backticks: true,
			hashComments: true, dashCommentNeedsSpace: true, questionMarks: true,
			probeWrap: true, readOnlyTx: true,
		}, true
	case models.DialectSQLite:
		return dialect{
			name: name, driverName: "sqlite3",
			backticks: true, brackets: true, questionMarks: true,
		}, true
	case models.DialectSQLServer:
		return dialect{
			name: name, driverName: "sqlserver",
			numbered: true, placeholderPrefix: "@p",
			brackets: true, nestedComments: true, atParams: true,
		}, true
	}
	return dialect{}, false
}
