package execsource

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"recauda-bridge/erp"
)

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "execsource", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// syncBuffer is a log sink safe for the goroutines exec uses.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newSource(t *testing.T, cfg Config) (*Source, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, logs
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestFlatCharges(t *testing.T) {
	s, logs := newSource(t, Config{Command: []string{script(t, "charges.sh"), "--format", "json"}})
	got, err := s.PendingCharges(context.Background(), "1032456789")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	// FAC-9999 is another customer's and is dropped.
	if len(got) != 2 {
		t.Fatalf("got %d charges, want 2: %+v", len(got), got)
	}
	c := got[0]
	if c.RefPayment != "FAC-1001" || c.IDNumber != "1032456789" || c.PayerName != "María Fernanda Gómez" ||
		!c.Amount.Equal(dec("3450000")) || c.Currency != "COP" || c.LimitDate != "2026-05-15" ||
		!reflect.DeepEqual(c.References, []string{"EST-1032", "SEM-2026-1"}) || c.HasComments || len(c.Defects) != 0 {
		t.Errorf("got %+v", c)
	}
	want := []erp.Defect{{Field: "recauda_information.amount", Message: `amount is not a number: "tres mil"`}}
	if got[1].RefPayment != "FAC-1002" || !reflect.DeepEqual(got[1].Defects, want) {
		t.Errorf("got %+v, want FAC-1002 with defects %+v", got[1], want)
	}
	if l := logs.String(); !strings.Contains(l, "looking up charges") || !strings.Contains(l, "other customers") {
		t.Errorf("log lacks the command's stderr or the dropped-record warning:\n%s", l)
	}
}

func TestEfipayShape(t *testing.T) {
	s, _ := newSource(t, Config{Command: []string{script(t, "payments.sh")}})
	got, err := s.PendingCharges(context.Background(), "123456789")
	if err != nil {
		t.Fatalf("PendingCharges: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d charges, want 2: %+v", len(got), got)
	}
	c := got[0]
	if c.RefPayment != "CUOTA-04" || !c.Amount.Equal(dec("20000")) || c.Advance == nil || c.Advance.Type != "Valor Minimo" ||
		!c.Advance.Value.Equal(dec("10000")) || string(c.Metadata) != `{"contract":"K-9"}` || !c.HasComments ||
		c.CommentsLabel != "Observaciones" || c.LimitDate != "2026-04-30" || len(c.Defects) != 0 {
		t.Errorf("got %+v", c)
	}
	// The second item does not decode (id_number is a number, amount is
	// words): it is read field by field and held back for its amount.
	want := []erp.Defect{{Field: "recauda_information.amount", Message: `amount is not a number: "veinte mil"`}}
	if got[1].RefPayment != "CUOTA-05" || got[1].IDNumber != "123456789" || got[1].PayerName != "Juan Pérez" || !reflect.DeepEqual(got[1].Defects, want) {
		t.Errorf("got %+v, want CUOTA-05 with defects %+v", got[1], want)
	}
}

func TestLookupFailures(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		maxOut   int64
		wantExit int
		wantLog  string
		wantErr  error
	}{
		{name: "non-zero exit", script: "fail.sh", wantExit: 3, wantLog: "cannot connect to the ERP database"},
		{name: "bad JSON", script: "badjson.sh"},
		{name: "output over the cap", script: "big.sh", maxOut: 4096, wantErr: errOutputTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, logs := newSource(t, Config{Command: []string{script(t, tt.script)}, MaxOutputBytes: tt.maxOut, Timeout: 20 * time.Second})
			start := time.Now()
			got, err := s.PendingCharges(context.Background(), "123456")
			if !errors.Is(err, erp.ErrUnavailable) {
				t.Fatalf("got %v, %v; want ErrUnavailable", got, err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %s; the command should have been stopped at once", time.Since(start))
			}
			var ee *exitError
			if tt.wantExit != 0 && (!errors.As(err, &ee) || ee.code != tt.wantExit) {
				t.Errorf("got %v, want exit status %d", err, tt.wantExit)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

func TestStderrIsCapped(t *testing.T) {
	s, logs := newSource(t, Config{Command: []string{"/bin/sh", "-c",
		`cat >/dev/null; i=0; while [ $i -lt 100 ]; do echo "line $i $(printf '%01000d' 0)" >&2; i=$((i+1)); done; echo '{"charges":[]}'`, "sh"}})
	if _, err := s.PendingCharges(context.Background(), "123456"); err != nil {
		t.Fatal(err)
	}
	l := logs.String()
	if n := strings.Count(l, "command stderr\""); n != maxStderrLines {
		t.Errorf("got %d stderr lines logged, want %d", n, maxStderrLines)
	}
	if !strings.Contains(l, "omitted=80") {
		t.Errorf("log does not say how many lines were left out:\n%s", l)
	}
	for _, line := range strings.Split(l, "\n") {
		if len(line) > maxStderrLineSize+200 {
			t.Errorf("logged a line of %d bytes, want at most about %d", len(line), maxStderrLineSize)
		}
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("EXEC_TEST_SECRET", "s3cr3t")
	t.Setenv("BRIDGE_ONLY", "leak")
	cmd := []string{"/bin/sh", "-c",
		`cat >/dev/null; printf '{"charges":[{"ref_payment":"%s","amount":1,"description":"%s|%s|%s"}]}' "$1" "$ERP_SECRET" "${BRIDGE_ONLY:-none}" "$(pwd)"`, "sh"}
	dir := t.TempDir()
	for _, clean := range []bool{false, true} {
		s, _ := newSource(t, Config{Command: cmd, Dir: dir, CleanEnv: clean, Env: map[string]string{"ERP_SECRET": "${EXEC_TEST_SECRET}"}})
		got, err := s.PendingCharges(context.Background(), "123456")
		if err != nil {
			t.Fatal(err)
		}
		inherited := "leak"
		if clean {
			inherited = "none"
		}
		real, _ := filepath.EvalSymlinks(dir)
		if len(got) != 1 || got[0].RefPayment != "123456" || (got[0].Description != "s3cr3t|"+inherited+"|"+dir && got[0].Description != "s3cr3t|"+inherited+"|"+real) {
			t.Errorf("clean_env %v: got %+v", clean, got)
		}
	}
}

func TestRefusesOptionLikeID(t *testing.T) {
	s, _ := newSource(t, Config{Command: []string{script(t, "charges.sh")}})
	if _, err := s.PendingCharges(context.Background(), "--help"); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want a refusal that is not ErrUnavailable", err)
	}
}

func TestWriteback(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	t.Setenv("LEDGER", ledger)
	s, logs := newSource(t, Config{Command: []string{script(t, "charges.sh")}, WritebackCommand: []string{script(t, "writeback.sh")}})
	if !s.CanRecord() {
		t.Fatal("got CanRecord false, want true")
	}
	p := erp.Payment{
		RefPayment: "FAC-1001", IDNumber: "1032456789", Amount: dec("3450000.50"), Currency: "COP",
		TransactionID: "tx-42", PaidAt: time.Date(2026, 4, 1, 15, 4, 5, 0, time.UTC), Status: "paid", PaymentMethod: "PSE",
	}
	for i := range 2 {
		if err := s.RecordPayment(context.Background(), p); err != nil {
			t.Fatalf("RecordPayment %d: %v", i, err)
		}
	}
	b, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ref_payment":"FAC-1001","id_number":"1032456789","amount":3450000.5,"currency":"COP","transaction_id":"tx-42","paid_at":"2026-04-01T15:04:05Z","status":"paid","payment_method":"PSE"}` + "\n"
	if string(b) != want {
		t.Errorf("got ledger\n%s\nwant\n%s", b, want)
	}
	if !strings.Contains(logs.String(), "already recorded") {
		t.Errorf("log lacks the script's stderr:\n%s", logs.String())
	}

	tests := []struct {
		ref         string
		notFound    bool
		unavailable bool
	}{
		{"UNKNOWN", true, false},
		{"REFUSED", false, false},
		{"FLAKY", false, true},
	}
	for _, tt := range tests {
		p.RefPayment = tt.ref
		err := s.RecordPayment(context.Background(), p)
		if err == nil || errors.Is(err, erp.ErrNotFound) != tt.notFound || errors.Is(err, erp.ErrUnavailable) != tt.unavailable {
			t.Errorf("%s: got %v, want notFound=%v unavailable=%v", tt.ref, err, tt.notFound, tt.unavailable)
		}
	}
}

func TestReversal(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "ledger.jsonl")
	t.Setenv("LEDGER", ledger)
	wb := script(t, "writeback.sh")
	s, _ := newSource(t, Config{Command: []string{script(t, "charges.sh")}, WritebackCommand: []string{wb},
		ReversalCommand: []string{wb, "--reversal"}})
	if !s.CanReverse() {
		t.Fatal("got CanReverse false, want true")
	}
	p := erp.Payment{
		RefPayment: "FAC-1001", IDNumber: "1032456789", Amount: dec("3450000.50"), Currency: "COP",
		TransactionID: "tx-42", PaidAt: time.Date(2026, 4, 1, 15, 4, 5, 0, time.UTC), Status: "paid", PaymentMethod: "PSE",
	}
	if err := s.RecordPayment(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r := erp.Reversal{RefPayment: "FAC-1001", IDNumber: "1032456789", Amount: dec("3450000.50"), Currency: "COP",
		TransactionID: "tx-42", ReversedAt: time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC), PaymentMethod: "PSE"}
	for i := range 2 {
		if err := s.RecordReversal(context.Background(), r); err != nil {
			t.Fatalf("RecordReversal %d: %v", i, err)
		}
	}
	// A payment the ERP never recorded: nothing to undo.
	if err := s.RecordReversal(context.Background(), erp.Reversal{RefPayment: "FAC-1001", TransactionID: "tx-never"}); err != nil {
		t.Fatalf("RecordReversal of an unknown payment: %v", err)
	}
	b, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ref_payment":"FAC-1001","id_number":"1032456789","amount":3450000.5,"currency":"COP","transaction_id":"tx-42","paid_at":"2026-04-01T15:04:05Z","status":"paid","payment_method":"PSE"}` + "\n" +
		`{"kind":"reversal","ref_payment":"FAC-1001","id_number":"1032456789","amount":3450000.5,"currency":"COP","transaction_id":"tx-42","reversed_at":"2026-04-02T09:00:00Z","status":"reversed","payment_method":"PSE"}` + "\n"
	if string(b) != want {
		t.Errorf("got ledger\n%s\nwant\n%s", b, want)
	}
	for _, tt := range []struct {
		ref                   string
		notFound, unavailable bool
	}{{"UNKNOWN", true, false}, {"REFUSED", false, false}, {"FLAKY", false, true}} {
		r.RefPayment = tt.ref
		err := s.RecordReversal(context.Background(), r)
		if err == nil || errors.Is(err, erp.ErrNotFound) != tt.notFound || errors.Is(err, erp.ErrUnavailable) != tt.unavailable {
			t.Errorf("%s: got %v, want notFound=%v unavailable=%v", tt.ref, err, tt.notFound, tt.unavailable)
		}
	}

	plain, _ := newSource(t, Config{Command: []string{script(t, "charges.sh")}, WritebackCommand: []string{wb}})
	if plain.CanReverse() {
		t.Error("without reversal_command: got CanReverse true, want false")
	}
	if err := plain.RecordReversal(context.Background(), r); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("without reversal_command: got %v, want ErrUnsupported", err)
	}
}

func TestWritebackUnsupported(t *testing.T) {
	s, _ := newSource(t, Config{Command: []string{script(t, "charges.sh")}})
	if s.CanRecord() {
		t.Error("got CanRecord true, want false")
	}
	if err := s.RecordPayment(context.Background(), erp.Payment{}); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no command", Config{}, "command: is required"},
		{"missing program", Config{Command: []string{"/nonexistent/erp.sh"}}, "no such file"},
		{"not in PATH", Config{Command: []string{"no-such-erp-tool"}}, "not found in PATH"},
		{"not executable", Config{Command: []string{notExec}}, "not an executable file"},
		{"bad dir", Config{Command: []string{"/bin/sh"}, Dir: "/nonexistent"}, "dir:"},
		{"relative to dir", Config{Command: []string{"./missing.sh"}, Dir: dir}, `"./missing.sh"`},
		{"unset env", Config{Command: []string{"/bin/sh"}, Env: map[string]string{"X": "${EXEC_TEST_UNSET}"}}, "EXEC_TEST_UNSET is not set"},
		{"bad writeback", Config{Command: []string{"/bin/sh"}, WritebackCommand: []string{notExec}}, "writeback_command:"},
		{"reversal without writeback", Config{Command: []string{"/bin/sh"}, ReversalCommand: []string{"/bin/sh"}}, "reversal_command: needs writeback_command"},
		{"bad reversal", Config{Command: []string{"/bin/sh"}, WritebackCommand: []string{"/bin/sh"}, ReversalCommand: []string{notExec}}, "reversal_command:"},
		{"negative timeout", Config{Command: []string{"/bin/sh"}, Timeout: -time.Second}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "erp.sh")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, _ := newSource(t, Config{Command: []string{prog}})
	if err := s.Check(context.Background()); err != nil {
		t.Errorf("got %v, want nil", err)
	}
	os.Remove(prog)
	if err := s.Check(context.Background()); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("got %v, want ErrUnavailable", err)
	}
}

func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "execsource", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Exec Config `yaml:"exec"`
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&file); err != nil {
		t.Fatalf("decode: %v", err)
	}
	c := file.Exec
	if !reflect.DeepEqual(c.Command, []string{"/opt/recauda/pending-charges.sh", "--company", "1"}) || c.Timeout != 3*time.Second ||
		c.WritebackTimeout != 10*time.Second || !c.CleanEnv || c.Env["ERP_DB_PASSWORD"] != "${ERP_DB_PASSWORD}" || c.MaxOutputBytes != 1<<20 {
		t.Errorf("got %+v", c)
	}
}

// TestStderrIsMasked: what a command prints on stderr reaches the log with
// ID numbers and the payer names of its output masked.
func TestStderrIsMasked(t *testing.T) {
	s, logs := newSource(t, Config{Command: []string{script(t, "chatty.sh")}})
	if _, err := s.PendingCharges(context.Background(), "43123456"); err != nil {
		t.Fatal(err)
	}
	l := logs.String()
	for _, want := range []string{"*****456", "C*** O***, L*** M***", "command stderr"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
	for _, personal := range []string{"43123456", "Luz", "Marina", "Castaño", "Ospina"} {
		if strings.Contains(l, personal) {
			t.Errorf("log shows %q:\n%s", personal, l)
		}
	}
}
