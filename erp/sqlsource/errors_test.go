package sqlsource

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	mssql "github.com/microsoft/go-mssqldb"

	"recauda-bridge/erp"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"bad connection", driver.ErrBadConn, true},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"postgres deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"postgres serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"postgres admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"postgres unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"postgres syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, true},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, true},
		{"mysql auto-increment lock", &mysql.MySQLError{Number: 1467}, true},
		{"mysql gone away", mysql.ErrInvalidConn, true},
		{"mysql duplicate key", &mysql.MySQLError{Number: 1062}, false},
		{"mysql unknown table", &mysql.MySQLError{Number: 1146}, false},
		{"sqlserver deadlock", mssql.Error{Number: 1205}, true},
		{"sqlserver constraint", mssql.Error{Number: 2627}, false},
		{"anything else", errors.New("no such table: facturas"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := transient(tt.err); got != tt.want {
				t.Errorf("transient(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestWritebackErr(t *testing.T) {
	if err := writebackErr("write-back", "commit", &mysql.MySQLError{Number: 1213}); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("deadlock: got %v, want erp.ErrUnavailable", err)
	}
	cause := &pgconn.PgError{Code: "23503", Message: "violates foreign key constraint"}
	err := writebackErr("reversal", "statement 1", cause)
	if errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("foreign key: got %v, want a permanent error", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Errorf("foreign key: got %v, want the driver's error kept", err)
	}
	if err := unavailable("lookup", context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("unavailable: got %v, want it to match both the sentinel and the cause", err)
	}
}
