package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A customer with one charge of each kind: November's fee overdue, December's with an
// early-payment discount that has lapsed, January's current. The dates are
// long past or far ahead, so the test holds on any day.
const overdueCSV = `ref_payment,id_number,payer_name,description,amount,currency_type,limit_date,discount_type,discount_value,discount_before_on
FEE-NOV,1032456789,María Fernanda Gómez,Cuota de noviembre,150000,COP,2020-11-30,,,
FEE-DEC,1032456789,María Fernanda Gómez,Cuota de diciembre,150000,COP,2099-12-31,Porcentaje,5,2020-12-05
FEE-JAN,1032456789,María Fernanda Gómez,Cuota de enero,150000,COP,2099-01-31,,,
`

func TestPreviewAndCheckSourceSayWhatTheyDidWithOverdueCharges(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "charges.csv")
	if err := os.WriteFile(csvPath, []byte(overdueCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(policy string) map[string]string {
		m := map[string]string{"ERP_SOURCE": "file", "ERP_FILE": csvPath, "ERP_JOURNAL": filepath.Join(dir, "journal.jsonl"),
			"DATABASE_URL": filepath.Join(dir, policy+".db")}
		if policy != "" {
			m["OVERDUE_POLICY"] = policy
		}
		return m
	}
	tests := []struct {
		name     string
		args     []string
		policy   string
		wantCode int
		want     []string
	}{
		{"preview, default policy", []string{"preview", "1032456789"}, "", 0, []string{
			"SEND", "FEE-NOV", "overdue since 2020-11-30, sent without a limit date (OVERDUE_POLICY=offer)",
			"discount expired on 2020-12-05, sent without it", "3 charges: 3 would be sent, 0 held back",
		}},
		{"preview, extend", []string{"preview", "1032456789"}, "extend:3d", 0, []string{
			"overdue since 2020-11-30, sent with limit date", "(OVERDUE_POLICY=extend:3d)", "3 would be sent, 0 held back",
		}},
		{"preview, hold", []string{"preview", "1032456789"}, "hold", 0, []string{
			"overdue since 2020-11-30, held back (OVERDUE_POLICY=hold)", "advanced_options.limit_date  not_before_today",
			"discount expired on 2020-12-05, sent without it", "2 would be sent, 1 held back",
		}},
		{"check-source", []string{"check-source", "1032456789"}, "", 0, []string{
			"OVERDUE_POLICY=offer", "valid  FEE-NOV", "overdue since 2020-11-30, sent without a limit date (OVERDUE_POLICY=offer)",
			"discount expired on 2020-12-05, sent without it", "3 charges for 1032456789, all valid",
		}},
		{"check-source, hold", []string{"check-source", "1032456789"}, "hold", 0, []string{
			"HELD BACK  FEE-NOV", "overdue since 2020-11-30, held back (OVERDUE_POLICY=hold)", "1 would be held back",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if tc.args[0] == "preview" { // preview reads a database it does not migrate
				if err := run(context.Background(), []string{"migrate"}, envOf(env(tc.policy)), &stdout, &stderr); err != nil {
					t.Fatal(err)
				}
				stdout.Reset()
			}
			err := run(context.Background(), tc.args, envOf(env(tc.policy)), &stdout, &stderr)
			if got := exitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (%v), want %d\n%s\n%s", got, err, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

func TestServeRefusesABadOverduePolicy(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{
		"DATABASE_URL": filepath.Join(t.TempDir(), "bad.db"), "OVERDUE_POLICY": "extend:3",
	}), &stdout, &stderr)
	if exitCode(err) != 1 {
		t.Fatalf("exit code = %d (%v), want 1", exitCode(err), err)
	}
	for _, want := range []string{"OVERDUE_POLICY", "offer", "extend:<N>d", "hold", `"extend:3"`} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
}
