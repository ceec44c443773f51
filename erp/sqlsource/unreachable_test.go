package sqlsource

import (
	"context"
	"testing"
	"time"
)

// TestUnreachable needs no database: nothing listens on port 1, so New must
// fail fast with an error wrapping erp.ErrUnavailable.
func TestUnreachable(t *testing.T) {
	tests := []struct {
		driver string
		dsn    string
	}{
		{"postgres", "postgres://recauda:recauda@127.0.0.1:1/recauda_test?sslmode=disable&connect_timeout=2"},
		{"mysql", "recauda:recauda@tcp(127.0.0.1:1)/recauda_test?timeout=2s"},
		{"sqlserver", "sqlserver://sa:secret@127.0.0.1:1?database=erp&dial+timeout=2"},
	}
	for _, tt := range tests {
		t.Run(tt.driver, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			s, err := New(ctx, Config{Driver: tt.driver, DSN: tt.dsn, Query: "SELECT * FROM invoices WHERE doc = :id_number"}, nil)
			if err == nil {
				_ = s.Close()
				t.Fatalf("New: got no error, want one wrapping erp.ErrUnavailable")
			}
			assertUnavailable(t, err)
			if elapsed := time.Since(start); elapsed > 4*time.Second {
				t.Errorf("New returned after %v, want within the 3s deadline", elapsed)
			}
		})
	}
}
