package faulttest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// TestCheckDBFindsHalfWrittenTransactions writes, behind the store's back,
// what a broken transaction would leave, and checks that CheckDB names each
// one; a clean database has no problems.
func TestCheckDBFindsHalfWrittenTransactions(t *testing.T) {
	const ts = "2026-11-22 15:00:00"
	tests := []struct {
		name string
		sql  []string
		want string
	}{
		{"clean", nil, ""},
		{"claim without its timeline event", []string{
			`INSERT INTO charges (ref_payment, id_number, amount, currency_type, status, send_count, created_at, updated_at)
				VALUES ('R-1', '70000001', '100', 'COP', 'sent', 1, '` + ts + `', '` + ts + `')`,
		}, "a claimed charge has its send on the timeline"},
		{"applied webhook without its timeline entry", []string{
			`INSERT INTO charges (id, ref_payment, id_number, amount, currency_type, status, send_count, created_at, updated_at)
				VALUES (1, 'R-1', '70000001', '100', 'COP', 'sent', 0, '` + ts + `', '` + ts + `')`,
			`INSERT INTO webhook_events (received_at, body, body_hash, transaction_id, status, charge_id, outcome)
				VALUES ('` + ts + `', '{}', 'h', '77', 'Aprobada', 1, 'applied')`,
		}, "an applied webhook changed its charge and wrote its timeline entry"},
		{"paid charge without its write-back", []string{
			`INSERT INTO charges (id, ref_payment, id_number, amount, currency_type, status, send_count, transaction_id, paid_at, created_at, updated_at)
				VALUES (1, 'R-1', '70000001', '100', 'COP', 'paid', 0, '77', '` + ts + `', '` + ts + `', '` + ts + `')`,
		}, "a paid charge has its write-back job"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "bridge.db")
			st, err := store.Open(ctx, models.DialectSQLite, path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			st.Close()
			rw, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range tc.sql {
				if _, err := rw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			rw.Close()
			db, err := OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			problems, err := CheckDB(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(problems, "\n")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("problems:\n%s\nwant one naming %q", got, tc.want)
			}
		})
	}
}
