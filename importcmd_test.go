package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/recauda/ledgerimport"
	"recauda-bridge/store"
)

// importEnv is the environment of an import into a fresh database.
func importEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "ledger.db")
	return map[string]string{"DATABASE_URL": db, "ERP_SOURCE": "local"}, db
}

// runImport runs `recauda-bridge import args...` and returns its exit code
// and outputs.
func runImport(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"import"}, args...), envOf(env), &stdout, &stderr)
	return exitCode(err), stdout.String(), stderr.String()
}

// ledgerOf opens the database at path and returns its ledger charges by ref.
func ledgerOf(t *testing.T, path string) map[string]store.LedgerCharge {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, models.DialectSQLite, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]store.LedgerCharge{}
	for page := 1; ; page++ {
		rows, _, err := st.ListLedger(ctx, store.LedgerFilter{Page: page, PerPage: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return out
		}
		for _, r := range rows {
			out[r.Charge.RefPayment] = r
		}
	}
}

// future is a limit date that stays valid while the test runs.
func future(months int) string { return time.Now().AddDate(0, months, 0).Format(time.DateOnly) }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportHundredThousandRows imports a generated 100,000-row CSV, then
// the same file again. Off a terminal there is no progress bar: stderr stays
// empty and stdout holds only the summary.
func TestImportHundredThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 rows: not in -short")
	}
	const n = 100_000
	path := filepath.Join(t.TempDir(), "cartera.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "ref_payment,id_number,payer_name,description,amount,currency_type,limit_date,references,has_comments,advance_type,advance_value,plan")
	due := future(2)
	for i := range n {
		adv := ","
		if i%10 == 0 {
			adv = "Porcentaje Minimo,30"
		}
		fmt.Fprintf(w, "CUOTA-%06d,%d,Cliente Número %d,Cuota de administración %d,%d.50,COP,%s,APTO-%d,si,%s,plan-%d\n",
			i, 1_000_000_000+i/4, i/4, i, 150_000+i, due, i%500, adv, i%3)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	env, db := importEnv(t)

	start := time.Now()
	code, stdout, stderr := runImport(t, env, path)
	t.Logf("first import of %d rows: %s", n, time.Since(start).Round(time.Millisecond))
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q, want 0 and nothing\nstdout: %s", code, stderr, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "import cartera.csv: 100000 rows, 100000 charges, in ") ||
		lines[1] != "created 100000, updated 0, unchanged 0, rejected 0" {
		t.Fatalf("stdout: got %q, want only the two summary lines", stdout)
	}

	start = time.Now()
	code, stdout, stderr = runImport(t, env, "--skip-invalid", path)
	t.Logf("re-import: %s", time.Since(start).Round(time.Millisecond))
	if code != 0 || stderr != "" || !strings.HasSuffix(stdout, "created 0, updated 0, unchanged 100000, rejected 0\n") {
		t.Fatalf("re-import: exit %d, stderr %q, stdout %q; want all unchanged", code, stderr, stdout)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, models.DialectSQLite, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, total, err := st.ListLedger(ctx, store.LedgerFilter{PerPage: 1}); err != nil || total != n {
		t.Fatalf("ledger holds %d charges (%v), want %d", total, err, n)
	}
	lc, err := st.LedgerCharge(ctx, "CUOTA-000010")
	if err != nil {
		t.Fatal(err)
	}
	c := lc.Charge
	if c.Amount.String() != "150010.5" || c.Advance == nil || c.IDNumber != "1000000002" || string(c.Metadata) != `{"plan":"plan-1"}` ||
		!c.HasComments || c.LimitDate != due {
		t.Errorf("CUOTA-000010 = %+v", c)
	}
}

func TestImportBrokenRows(t *testing.T) {
	due := future(1)
	content := strings.Join([]string{
		"ref_payment,id_number,payer_name,description,amount,currency_type,limit_date",
		"OK-1,1032456789,María Fernanda Gómez,Matrícula primer semestre,3450000,COP," + due,
		"BAD-AMOUNT,1032456789,María Fernanda Gómez,Intereses de mora,18333.333,COP," + due,
		"BAD-DATE,1032456789,María Fernanda Gómez,Seguro estudiantil,85000,COP,2027-02-30",
		",1032456789,María Fernanda Gómez,Sin referencia,1000,COP," + due,
		"OK-2,79845123,Carlos Andrés Rodríguez,Cuota de administración,350000,COP," + due,
		"DUP,79845123,Carlos Andrés Rodríguez,Cuota A,1000,COP," + due,
		"DUP,79845123,Carlos Andrés Rodríguez,Cuota B,1000,COP," + due,
		"SHORT,79845123",
	}, "\n") + "\n"
	path := writeFile(t, "cartera.csv", content)
	env, db := importEnv(t)

	code, stdout, stderr := runImport(t, env, path)
	if code != 1 || stderr != "" {
		t.Fatalf("all or nothing: exit %d, stderr %q, want 1 and nothing", code, stderr)
	}
	for _, want := range []string{
		"line 3\tref_payment=BAD-AMOUNT\trecauda_information.amount\tdecimal_places\t",
		"line 4\tref_payment=BAD-DATE\tadvanced_options.limit_date\tdate\t",
		"line 5\tref_payment=?\t(row)\tunreadable\tref_payment is empty",
		"line 7\tref_payment=DUP\trecauda_information.ref_payment\tduplicate_ref_payment\tref_payment appears 2 times in the file: line 7, line 8",
		"line 8\tref_payment=DUP\t",
		"line 9\tref_payment=?\t(row)\tunreadable\t2 fields, the header has 7",
		"nothing imported: 6 charge(s) rejected; fix them, or rerun with --skip-invalid to import the 2 valid one(s)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if ledger := ledgerOf(t, db); len(ledger) != 0 {
		t.Fatalf("all or nothing imported %d charges, want none", len(ledger))
	}

	code, stdout, _ = runImport(t, env, path, "--skip-invalid")
	if code != 0 || !strings.Contains(stdout, "created 2, updated 0, unchanged 0, rejected 6") {
		t.Fatalf("--skip-invalid: exit %d, stdout:\n%s\nwant 2 created, 6 rejected", code, stdout)
	}
	ledger := ledgerOf(t, db)
	if _, ok1 := ledger["OK-1"]; !ok1 || len(ledger) != 2 || ledger["OK-2"].Charge.IDNumber != "79845123" {
		t.Fatalf("ledger after --skip-invalid: %v, want OK-1 and OK-2", ledger)
	}

	// Once fixed, the file imports whole; the rows already in are unchanged.
	fixed := strings.NewReplacer("18333.333", "18333.33", "2027-02-30", due, ",1032456789,María Fernanda Gómez,Sin referencia", "NOREF,1032456789,María Fernanda Gómez,Sin referencia",
		"DUP,79845123,Carlos Andrés Rodríguez,Cuota B", "DUP-B,79845123,Carlos Andrés Rodríguez,Cuota B", "SHORT,79845123\n", "").Replace(content)
	code, stdout, _ = runImport(t, env, writeFile(t, "fixed.csv", fixed))
	if code != 0 || !strings.Contains(stdout, "created 5, updated 0, unchanged 2, rejected 0") {
		t.Fatalf("fixed file: exit %d, stdout:\n%s", code, stdout)
	}
}

func TestImportChangesAndRefusals(t *testing.T) {
	due := future(1)
	env, db := importEnv(t)
	header := "ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n"
	first := header + "A,1032456789,María Fernanda Gómez,Cuota de enero,1000,COP," + due + "\n" +
		"B,1032456789,María Fernanda Gómez,Cuota de febrero,1000,COP," + due + "\n"
	if code, stdout, _ := runImport(t, env, writeFile(t, "a.csv", first)); code != 0 {
		t.Fatalf("first import: exit %d\n%s", code, stdout)
	}
	// B is paid meanwhile; the next file changes both.
	ctx := context.Background()
	st, err := store.Open(ctx, models.DialectSQLite, db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.LedgerRecordPayment(ctx, erp.Payment{RefPayment: "B", TransactionID: "T1", Amount: models.MustMoney("1000").Decimal,
		Currency: "COP", Status: models.StatusPaid}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	second := strings.ReplaceAll(first, ",1000,", ",2000,")
	code, stdout, _ := runImport(t, env, writeFile(t, "b.csv", second))
	if code != 1 || !strings.Contains(stdout, "line 3\tref_payment=B\trecauda_information.ref_payment\tledger_state\tthe ledger's charge is paid and cannot change") ||
		!strings.Contains(stdout, "nothing imported") {
		t.Fatalf("all or nothing with a paid charge changed: exit %d\n%s", code, stdout)
	}
	if got := ledgerOf(t, db)["A"].Charge.Amount.String(); got != "1000" {
		t.Fatalf("A = %s after a refused import, want 1000", got)
	}
	code, stdout, _ = runImport(t, env, "--skip-invalid", writeFile(t, "b.csv", second))
	if code != 0 || !strings.Contains(stdout, "created 0, updated 1, unchanged 0, rejected 1") {
		t.Fatalf("--skip-invalid: exit %d\n%s", code, stdout)
	}
	if got := ledgerOf(t, db)["A"].Charge.Amount.String(); got != "2000" {
		t.Fatalf("A = %s, want 2000", got)
	}
}

func TestImportRecurringRows(t *testing.T) {
	// The first due date is a 31st, so that shorter months show the clamping.
	firstDue := func() time.Time {
		base := time.Now().AddDate(0, 1, 0)
		for m := 0; ; m++ {
			if d := time.Date(base.Year(), base.Month()+time.Month(m), 31, 0, 0, 0, 0, time.UTC); d.Day() == 31 {
				return d
			}
		}
	}()
	content := "ref_payment,id_number,payer_name,description,amount,currency_type,recurrence,periods,first_due,discount_type,discount_value,discount_before_on\n" +
		"ADM-301,79845123,Carlos Andrés Rodríguez,Administración {period},350000,COP,monthly,4," + firstDue.Format(time.DateOnly) +
		",Valor,10000," + firstDue.AddDate(0, 0, -20).Format(time.DateOnly) + "\n" +
		"BAD,79845123,Carlos Andrés Rodríguez,Administración,350000,COP,yearly,0,2030-02-30,,,\n"
	env, db := importEnv(t)
	code, stdout, _ := runImport(t, env, "--skip-invalid", writeFile(t, "recurring.csv", content))
	if code != 0 || !strings.Contains(stdout, "import recurring.csv: 2 rows, 5 charges") ||
		!strings.Contains(stdout, "created 4, updated 0, unchanged 0, rejected 1") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"line 3\tref_payment=BAD\trecurrence\tone_of", "line 3\tref_payment=BAD\tperiods\trange", "line 3\tref_payment=BAD\tfirst_due\tdate"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	ledger := ledgerOf(t, db)
	for k := range 4 {
		due := ledgerimport.AddMonths(firstDue, k)
		label := due.Format("2006-01")
		c, ok := ledger["ADM-301-"+label]
		if !ok {
			t.Fatalf("no charge ADM-301-%s; ledger %v", label, ledger)
		}
		if c.Charge.LimitDate != due.Format(time.DateOnly) || c.Charge.Description != "Administración "+label ||
			c.Charge.Discount == nil || c.Charge.Discount.BeforeOn != ledgerimport.AddMonths(firstDue.AddDate(0, 0, -20), k).Format(time.DateOnly) {
			t.Errorf("period %d: got %s %q discount %+v", k, c.Charge.LimitDate, c.Charge.Description, c.Charge.Discount)
		}
	}
}

func TestImportArguments(t *testing.T) {
	env, _ := importEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout for 0/1, in stderr for 2
	}{
		{"no file", nil, 2, "import takes exactly one FILE"},
		{"two files", []string{"a.csv", "b.csv"}, 2, "import takes exactly one FILE"},
		{"unknown flag", []string{"--dry-run", "a.csv"}, 2, "unknown flag --dry-run"},
		{"missing file", []string{"nope.csv"}, 1, ""},
		{"wrong extension", []string{writeFile(t, "cartera.txt", "x")}, 1, ""},
		{"no header", []string{writeFile(t, "empty.csv", "")}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runImport(t, env, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, stdout, stderr)
			}
			if out := map[bool]string{true: stderr, false: stdout}[tt.code == 2]; !strings.Contains(out, tt.out) {
				t.Errorf("output lacks %q: %s", tt.out, out)
			}
		})
	}
}

// TestLocalLedgerFullLoop: a charge imported into the ledger is offered by
// the lookup (ERP_SOURCE=local), Efipay's approved webhook marks it paid, the
// write-back worker records the payment in the ledger, and the charge is no
// longer pending there.
func TestLocalLedgerFullLoop(t *testing.T) {
	env, db := importEnv(t)
	content := "ref_payment,id_number,payer_name,description,amount,currency_type,limit_date\n" +
		"LOOP-1,1032456789,María Fernanda Gómez,Matrícula primer semestre,3450000,COP," + future(1) + "\n" +
		"LOOP-2,1032456789,María Fernanda Gómez,Seguro estudiantil,85000,COP," + future(1) + "\n"
	if code, stdout, _ := runImport(t, env, writeFile(t, "loop.csv", content)); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, stdout)
	}
	ctx := context.Background()
	a, err := newApp(ctx, envOf(env), io.Discard, readWriteMigrate)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()

	l, err := a.service.Offer(ctx, "1032456789")
	if err != nil {
		t.Fatal(err)
	}
	if l.Sent() != 2 || !strings.Contains(string(l.Body()), `"ref_payment":"LOOP-1"`) {
		t.Fatalf("lookup sent %d: %s, want LOOP-1 and LOOP-2", l.Sent(), l.Body())
	}
	body := []byte(`{"transaction":{"transaction_id":9001,"amount":3450000,"currency_type":"COP","value_cop":3450000,` +
		`"payment_method":"pse","status":"Aprobada","approved_at":"2026-11-22T15:41:54Z","production":true},` +
		`"checkout":{"payment_gateway":{"advanced_option":{"references":["LOOP-1"]}}}}`)
	res, err := a.service.Settle(ctx, body)
	if err != nil || res.Outcome != models.OutcomeApplied || res.WritebackID == 0 {
		t.Fatalf("settle: got %+v %v, want applied with a write-back", res, err)
	}
	w := recauda.NewWorker(a.store, a.source.(erp.PaymentRecorder), recauda.WorkerConfig{}, time.Now, slog.New(slog.DiscardHandler))
	if did, err := w.RunOnce(ctx); !did || err != nil {
		t.Fatalf("worker: did %v, err %v; want the write-back delivered", did, err)
	}

	c := ledgerOf(t, db)["LOOP-1"]
	if c.Status != models.LedgerPaid || c.PaidAmount.String() != "3450000" || c.TransactionID != "9001" {
		t.Fatalf("LOOP-1 in the ledger: %s paid %s txn %s, want paid 3450000 by 9001", c.Status, c.PaidAmount, c.TransactionID)
	}
	pending, err := a.source.PendingCharges(ctx, "1032456789")
	if err != nil || len(pending) != 1 || pending[0].RefPayment != "LOOP-2" {
		t.Fatalf("pending after payment: %+v %v, want LOOP-2 only", pending, err)
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := newProgressBar(&buf, "importing", 1000)
	for done := 500; done <= 1000; done += 500 {
		bar.set(done)
	}
	bar.finish()
	if got, want := buf.String(), "\rimporting  50% [===============>              ] 500/1000"+
		"\rimporting 100% [==============================] 1000/1000\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if terminal(&buf) != nil {
		t.Error("a buffer is taken for a terminal")
	}
	var none *progressBar // off a terminal: draws nothing, never fails
	none.set(1)
	none.finish()
}
