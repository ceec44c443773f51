package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// seedPayment claims ref for id and settles an approval of amount at
// approvedAt, as the webhook does.
func seedPayment(t *testing.T, st *store.Store, ref, txn, amount string, approvedAt time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Claim(ctx, store.ClaimRequest{Offers: []store.Offer{{RefPayment: ref, IDNumber: "900100", PayerName: "Ana Gómez",
		Description: "Cuota", Amount: decimal.RequireFromString(amount), Currency: "COP", Payload: []byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Settle(ctx, store.WebhookDelivery{Body: []byte(`{"transaction":{}}`), TransactionID: txn, Status: "Aprobada",
		Amount: decimal.RequireFromString(amount), Currency: "COP", PaymentMethod: "pse", ApprovedAt: approvedAt, References: []string{ref}},
		func(store.ChargeState) store.Decision {
			return store.Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid}
		})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReportCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "report.db")
	base := map[string]string{"DATABASE_URL": db}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"migrate"}, envOf(base), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, models.DialectSQLite, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 on the 1st in Bogota, and noon on the 2nd.
	seedPayment(t, st, "R-1", "11", "1000.50", time.Date(2026, 12, 2, 4, 30, 0, 0, time.UTC))
	seedPayment(t, st, "R-2", "12", "2000", time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC))
	st.Close()

	bank := map[string]string{"DATABASE_URL": db, "ASOBANCARIA_NIT": "900123456", "ASOBANCARIA_BANK_CODE": "007",
		"ASOBANCARIA_ACCOUNT": "123456789", "ASOBANCARIA_ACCOUNT_TYPE": "01", "ASOBANCARIA_SERVICE_CODE": "7709998000001"}
	out := filepath.Join(dir, "out.txt")
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string // in stdout, or in the -o file
		notWant  []string
	}{
		{"the 1st in Bogota", []string{"report", "--from", "2026-12-01"}, base, 0, []string{"payer_name", "R-1,", "1000.50"}, []string{"R-2"}},
		{"both days, for Excel", []string{"report", "--from", "2026-12-01", "--to", "2026-12-02", "--format", "csv-excel"}, base, 0,
			[]string{"\uFEFF", "R-1;", "1000,50", "R-2;", "2000,00"}, nil},
		{"asobancaria without settings", []string{"report", "--from", "2026-12-01", "--format", "asobancaria2001"}, base, 1, nil, nil},
		{"asobancaria to a file", []string{"report", "--from", "2026-12-02", "--format", "asobancaria2001", "-o", out}, bank, 0,
			[]string{"01090012345620261202007", "09000000001000000000000200000"}, nil},
		{"no --from", []string{"report"}, base, 2, nil, nil},
		{"a bad day", []string{"report", "--from", "1/12/2026"}, base, 2, nil, nil},
		{"to before from", []string{"report", "--from", "2026-12-02", "--to", "2026-12-01"}, base, 2, nil, nil},
		{"unknown format", []string{"report", "--from", "2026-12-02", "--format", "pdf"}, base, 2, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout.Reset()
			stderr.Reset()
			err := run(ctx, tc.args, envOf(tc.env), &stdout, &stderr)
			if got := exitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (err %v), want %d\nstderr: %s", got, err, tc.wantCode, stderr.String())
			}
			got := stdout.String()
			if i := indexOf(tc.args, "-o"); i >= 0 {
				b, err := os.ReadFile(tc.args[i+1])
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
		})
	}
}

func indexOf(args []string, s string) int {
	for i, a := range args {
		if a == s {
			return i
		}
	}
	return -1
}
