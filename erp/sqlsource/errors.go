package sqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"

	"recauda-bridge/erp"
)

// unavailable wraps err so that it matches both erp.ErrUnavailable and the
// cause (context.DeadlineExceeded, the driver's error).
func unavailable(op string, err error) error {
	return fmt.Errorf("sqlsource: %s: %w: %w", op, erp.ErrUnavailable, err)
}

// transient reports whether err is worth retrying: the database could not
// be reached or did not answer in time, the connection broke, or the server
// gave up on the statement for a reason that passes (deadlock, serialization
// failure, shutdown, too many connections). Everything else (syntax, a
// constraint, a missing table) will fail the same way again.
func transient(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, sql.ErrTxDone),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE):
		return true
	}

	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) >= 2 {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"40", // transaction rollback: serialization failure, deadlock
			"53", // insufficient resources
			"57", // operator intervention: shutdown, statement timeout, cancel
			"58": // system error
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return true
	}

	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1040, // too many connections
			1053, // server shutdown in progress
			1205, // lock wait timeout
			1213, // deadlock
			1317, // query execution was interrupted
			1467, // auto-increment read failed: how InnoDB reports a deadlock or
			//       lock wait timeout on the AUTO-INC lock (INSERT ... SELECT)
			1927, // connection was killed (MariaDB)
			1969, // max_statement_time exceeded (MariaDB)
			2006, // server has gone away
			2013, // lost connection during query
			3024: // max_execution_time exceeded (MySQL)
			return true
		}
		return false
	}

	var msErr mssql.Error
	if errors.As(err, &msErr) {
		switch msErr.Number {
		case 1205, // deadlock victim
			-2,    // timeout
			233,   // no process on the other end of the pipe
			10053, // transport-level error
			10054, // connection reset
			40197, // Azure: service error, retry
			40501, // Azure: service busy
			40613: // Azure: database not available
			return true
		}
		return false
	}

	var netErr net.Error
	return errors.As(err, &netErr)
}
