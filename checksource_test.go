package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqliteERP creates an ERP database from testdata/sqlsource/sqlite-schema.sql
// and returns its DSN.
func sqliteERP(t *testing.T) string {
	t.Helper()
	schema, err := os.ReadFile("testdata/sqlsource/sqlite-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "erp.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatalf("schema: %v", err)
	}
	return "file:" + path + "?mode=rw"
}

func TestCheckSource(t *testing.T) {
	dir := t.TempDir()
	query, err := os.ReadFile("testdata/sqlsource/sqlite-query.sql")
	if err != nil {
		t.Fatal(err)
	}
	// A lookup command whose second record has an amount nobody can read.
	execScript := filepath.Join(dir, "charges.sh")
	if err := os.WriteFile(execScript, []byte(`#!/bin/sh
for last; do :; done
cat <<JSON
{"charges":[
  {"ref_payment":"FAC-1001","id_number":"$last","payer_name":"María Fernanda Gómez","description":"Matrícula 2030-1","amount":3450000,"currency_type":"COP","limit_date":"2030-05-15"},
  {"ref_payment":"FAC-1002","id_number":"$last","payer_name":"María Fernanda Gómez","description":"Seguro estudiantil","amount":"tres mil","currency_type":"COP"}
]}
JSON
`), 0o700); err != nil {
		t.Fatal(err)
	}
	execConfig := filepath.Join(dir, "exec.yaml")
	if err := os.WriteFile(execConfig, []byte("exec:\n  command: ["+execScript+"]\n  timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := map[string]string{"ERP_SOURCE": "file", "ERP_FILE": "testdata/erp/charges.csv", "ERP_JOURNAL": filepath.Join(dir, "journal.jsonl")}
	sqlite := map[string]string{"ERP_SOURCE": "sql", "ERP_SQL_DRIVER": "sqlite", "ERP_SQL_DSN": sqliteERP(t), "ERP_SQL_QUERY": string(query)}
	deadSQL := map[string]string{
		"ERP_SOURCE": "sql", "ERP_SQL_DRIVER": "postgres",
		"ERP_SQL_DSN":   "postgres://reader:secret@127.0.0.1:1/erp?sslmode=disable&connect_timeout=2",
		"ERP_SQL_QUERY": "SELECT number AS ref_payment FROM invoices WHERE document = :id_number",
	}
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantCode   int
		wantStdout []string
		notStdout  []string
	}{
		{
			name: "file source, customer with valid charges", env: file, args: []string{"1032456789"},
			wantStdout: []string{
				"OK    configuration (ERP_SOURCE=file",
				"OK    source file built",
				"OK    health check",
				"OK    write-back: configured",
				"OK    reversals: configured",
				"OK    sample lookup for 1032456789: 2 charges",
				"valid  FAC-1001  COP 3450000",
				"verdict: OK: source file answers; 2 charges for 1032456789, all valid",
			},
			notStdout: []string{"FAIL", "HELD BACK"},
		},
		{
			name: "file source, unknown customer", env: file, args: []string{"99999999"},
			wantStdout: []string{"0 charges", "verdict: OK: source file answers; no pending charges for 99999999"},
		},
		{
			name: "file source without an ID number checks only the source", env: file,
			wantStdout: []string{"SKIP  sample lookup: no ID_NUMBER given", "verdict: OK: source file answers"},
			notStdout:  []string{"OK    sample lookup"},
		},
		{
			name: "file source, file missing", env: map[string]string{"ERP_SOURCE": "file", "ERP_FILE": filepath.Join(dir, "none.csv")},
			args: []string{"1032456789"}, wantCode: 1,
			wantStdout: []string{"FAIL  source file cannot be built", "verdict: FAIL: source file cannot be built"},
		},
		{
			name: "sql source on SQLite", env: sqlite, args: []string{"1020304050"},
			wantStdout: []string{
				"OK    source sql built: the database answers; the query runs and returns the required columns",
				"OK    health check",
				"SKIP  write-back: not configured",
				"OK    sample lookup for 1020304050: 2 charges",
				"valid  FV-1001",
				"verdict: OK: source sql answers; 2 charges for 1020304050, all valid",
			},
		},
		{
			name: "sql source, database unreachable", env: deadSQL, args: []string{"1020304050"}, wantCode: 1,
			wantStdout: []string{"OK    configuration", "FAIL  source sql cannot be built", "erp source unavailable", "verdict: FAIL: source sql cannot be built"},
			notStdout:  []string{"secret"},
		},
		{
			name: "sql source, incomplete configuration", env: map[string]string{"ERP_SOURCE": "sql", "ERP_SQL_DRIVER": "postgres"}, wantCode: 1,
			wantStdout: []string{"FAIL  configuration", "ERP_SQL_DSN", "ERP_SQL_QUERY", "verdict: FAIL: configuration"},
		},
		{
			name: "exec source holds back what it cannot read", env: map[string]string{"ERP_SOURCE": "exec", "ERP_CONFIG": execConfig},
			args: []string{"1032456789"},
			wantStdout: []string{
				"OK    health check",
				"OK    sample lookup for 1032456789: 2 charges",
				"valid      FAC-1001",
				"HELD BACK  FAC-1002  recauda_information.amount  unreadable: amount is not a number",
				"verdict: OK: source exec answers; 2 charges for 1032456789, 1 valid, 1 would be held back",
			},
		},
		{name: "bad ID number", env: file, args: []string{"12ab"}, wantCode: 2},
		{name: "two ID numbers", env: file, args: []string{"1032456789", "79845123"}, wantCode: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"check-source"}, tc.args...), envOf(tc.env), &stdout, &stderr)
			if got := exitCode(err); got != tc.wantCode {
				t.Fatalf("exit code = %d (err %v), want %d\nstdout: %s\nstderr: %s", got, err, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, want := range tc.wantStdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, not := range tc.notStdout {
				if strings.Contains(stdout.String(), not) {
					t.Errorf("stdout has %q:\n%s", not, stdout.String())
				}
			}
		})
	}
}
