package file_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/file"
)

const fixtures = "../../testdata/erp"

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// copyFixture puts fixture name into a fresh directory as dst and returns its path.
func copyFixture(t *testing.T, name, dst string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), dst)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func open(t *testing.T, cfg file.Config) (*file.Source, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	src, err := file.New(cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: got error %v, want nil", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return src, logs
}

func refsOf(t *testing.T, src erp.Source, id string) []string {
	t.Helper()
	charges, err := src.PendingCharges(context.Background(), id)
	if err != nil {
		t.Fatalf("PendingCharges: got error %v, want nil", err)
	}
	out := []string{}
	for _, c := range charges {
		out = append(out, c.RefPayment)
	}
	return out
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replace writes b to a temporary file beside path and renames it over path,
// the way editors and exports save.
func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestNewServesJSONAndCSV(t *testing.T) {
	tests := []struct {
		fixture, as string
		id          string
		want        []string
	}{
		{"charges.json", "charges.json", "1032456789", []string{"FAC-1001", "FAC-1002"}},
		{"charges.csv", "charges.csv", "1032456789", []string{"FAC-1001", "FAC-1002"}},
		{"charges.csv", "EXPORT.CSV", "79845123", []string{"FAC-2001"}},
		{"charges-semicolon.csv", "charges.csv", "1017234567", []string{"FAC-4001", "FAC-4002"}},
		{"charges.json", "charges.json", "00000", []string{}},
		{"charges.json", "charges.json", " 52789456 ", []string{"FAC-3001"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" as "+tt.as+" "+tt.id, func(t *testing.T) {
			src, _ := open(t, file.Config{Path: copyFixture(t, tt.fixture, tt.as)})
			if got := refsOf(t, src, tt.id); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if err := src.Check(context.Background()); err != nil {
				t.Errorf("Check: got %v, want nil", err)
			}
		})
	}
}

func TestNewRejectsAnInvalidFile(t *testing.T) {
	tests := []struct{ fixture, as string }{
		{"invalid.json", "charges.json"},
		{"missing-column.csv", "charges.csv"},
		{"charges.json", "charges.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+" as "+tt.as, func(t *testing.T) {
			src, err := file.New(file.Config{Path: copyFixture(t, tt.fixture, tt.as)}, nil)
			if err == nil {
				src.Close()
				t.Fatal("got nil error, want one")
			}
		})
	}
	if _, err := file.New(file.Config{Path: filepath.Join(t.TempDir(), "absent.json")}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: got %v, want ErrNotExist", err)
	}
	if _, err := file.New(file.Config{}, nil); err == nil {
		t.Error("empty path: got nil error, want one")
	}
}

func TestBrokenRecordsAreDefectsOrSkippedAndLogged(t *testing.T) {
	src, logs := open(t, file.Config{Path: copyFixture(t, "broken.csv", "charges.csv")})
	charges, err := src.PendingCharges(context.Background(), "1032456789")
	if err != nil {
		t.Fatal(err)
	}
	var withDefects []string
	for _, c := range charges {
		if len(c.Defects) > 0 {
			withDefects = append(withDefects, c.RefPayment)
		}
	}
	if want := []string{"BRK-1", "BRK-2"}; !slices.Equal(withDefects, want) {
		t.Errorf("charges with defects: got %v, want %v", withDefects, want)
	}
	out := logs.String()
	if got, want := strings.Count(out, `"msg":"file source: record skipped"`), 4; got != want {
		t.Errorf("skip warnings: got %d, want %d\n%s", got, want, out)
	}
	if !strings.Contains(out, `"skipped":4`) {
		t.Errorf("load summary without the skip count:\n%s", out)
	}
	for _, personal := range []string{"1032456789", "79845123", "María", "Carlos"} {
		if strings.Contains(out, personal) {
			t.Errorf("logs contain personal data %q:\n%s", personal, out)
		}
	}
}

func TestHotReload(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string, b []byte)
	}{
		{"rename over", replace},
		{"write in place", func(t *testing.T, path string, b []byte) {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyFixture(t, "charges.csv", "charges.csv")
			src, _ := open(t, file.Config{Path: path})
			if got := refsOf(t, src, "1017234567"); len(got) != 0 {
				t.Fatalf("before: got %v, want none", got)
			}
			b, err := os.ReadFile(filepath.Join(fixtures, "charges-semicolon.csv"))
			if err != nil {
				t.Fatal(err)
			}
			tt.write(t, path, b)
			eventually(t, "the new content", func() bool {
				return slices.Equal(refsOf(t, src, "1017234567"), []string{"FAC-4001", "FAC-4002"})
			})
			if got := refsOf(t, src, "1032456789"); len(got) != 0 {
				t.Errorf("old customer after reload: got %v, want none", got)
			}
		})
	}
}

func TestBrokenNewFileKeepsLastGoodContent(t *testing.T) {
	path := copyFixture(t, "charges.json", "charges.json")
	src, logs := open(t, file.Config{Path: path})
	want := []string{"FAC-1001", "FAC-1002"}

	replace(t, path, []byte(`{"payments": [ {"recauda_information": `)) // cut short
	eventually(t, "the failed reload to be logged", func() bool {
		return strings.Contains(logs.String(), "reload failed")
	})
	if got := refsOf(t, src, "1032456789"); !slices.Equal(got, want) {
		t.Errorf("after a broken file: got %v, want %v", got, want)
	}
	if err := src.Check(context.Background()); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("Check after a broken file: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("failed reload not logged at error level:\n%s", logs)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a deleted file must not empty the source either
	if got := refsOf(t, src, "1032456789"); !slices.Equal(got, want) {
		t.Errorf("after deletion: got %v, want %v", got, want)
	}

	replace(t, path, []byte(`{"payments":[]}`))
	eventually(t, "the fixed file", func() bool {
		return len(refsOf(t, src, "1032456789")) == 0 && src.Check(context.Background()) == nil
	})
}

func TestUnrelatedFilesInTheDirectoryAreIgnored(t *testing.T) {
	path := copyFixture(t, "charges.json", "charges.json")
	src, logs := open(t, file.Config{Path: path})
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := src.RecordPayment(context.Background(), erp.Payment{TransactionID: "t1", RefPayment: "FAC-1001"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if got := strings.Count(logs.String(), `"msg":"file source: loaded"`); got != 1 {
		t.Errorf("loads: got %d, want 1 (no reload for other files or the journal)", got)
	}
}

func TestCancelledContext(t *testing.T) {
	src, _ := open(t, file.Config{Path: copyFixture(t, "charges.json", "charges.json")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.PendingCharges(ctx, "1032456789"); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("PendingCharges: got %v, want ErrUnavailable", err)
	}
	if err := src.RecordPayment(ctx, erp.Payment{TransactionID: "x"}); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("RecordPayment: got %v, want ErrUnavailable", err)
	}
	if err := src.Check(ctx); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("Check: got %v, want ErrUnavailable", err)
	}
}

func payment(tx, ref string) erp.Payment {
	return erp.Payment{
		RefPayment:    ref,
		IDNumber:      "1032456789",
		Amount:        decimal.RequireFromString("20000.00"),
		Currency:      "COP",
		TransactionID: tx,
		PaidAt:        time.Date(2026, 3, 2, 10, 15, 0, 0, time.FixedZone("COT", -5*3600)),
		Status:        "paid",
		PaymentMethod: "PSE",
	}
}

func journalLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	path := copyFixture(t, "charges.json", "charges.json")
	journal := path + ".payments.jsonl"

	src, err := file.New(file.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []erp.Payment{payment("txn-123", "FAC-1001"), payment("txn-123", "FAC-1001"), payment("txn-124", "GONE-1")} {
		if err := src.RecordPayment(ctx, p); err != nil {
			t.Fatalf("RecordPayment %s: got %v, want nil", p.TransactionID, err)
		}
	}
	if err := src.RecordPayment(ctx, payment("", "FAC-1001")); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("empty transaction id: got %v, want a non-retryable error", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.RecordPayment(ctx, payment("txn-125", "FAC-1001")); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("after Close: got %v, want ErrUnavailable", err)
	}

	lines := journalLines(t, journal)
	wantFirst := `{"transaction_id":"txn-123","ref_payment":"FAC-1001","id_number":"1032456789","amount":"20000","currency_type":"COP","status":"paid","payment_method":"PSE","paid_at":"2026-03-02T10:15:00-05:00"}`
	if len(lines) != 2 || lines[0] != wantFirst {
		t.Fatalf("journal: got %q, want 2 lines, the first %s", lines, wantFirst)
	}

	// A crash left a torn line; re-open: known ids stay known, the torn line
	// is ended before the next append.
	f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"transaction_id":"txn-9`); err != nil {
		t.Fatal(err)
	}
	f.Close()

	src2, logs := open(t, file.Config{Path: path})
	for _, p := range []erp.Payment{payment("txn-123", "FAC-1001"), payment("txn-124", "GONE-1"), payment("txn-200", "FAC-1002")} {
		if err := src2.RecordPayment(ctx, p); err != nil {
			t.Fatalf("RecordPayment %s after re-open: got %v, want nil", p.TransactionID, err)
		}
	}
	lines = journalLines(t, journal)
	if len(lines) != 4 || !strings.HasPrefix(lines[3], `{"transaction_id":"txn-200",`) {
		t.Fatalf("journal after re-open: got %q, want the 2 old lines, the torn one and txn-200", lines)
	}
	var last map[string]string
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil {
		t.Errorf("last line: got %v, want valid JSON", err)
	}
	if !strings.Contains(logs.String(), "unreadable journal line skipped") {
		t.Errorf("torn line not logged:\n%s", logs)
	}
}

func TestJournalReversal(t *testing.T) {
	ctx := context.Background()
	path := copyFixture(t, "charges.json", "charges.json")
	journal := path + ".payments.jsonl"
	rev := erp.Reversal{RefPayment: "FAC-1001", IDNumber: "1032456789", Amount: decimal.RequireFromString("20000"), Currency: "COP",
		TransactionID: "txn-123", ReversedAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), PaymentMethod: "PSE"}

	src, err := file.New(file.Config{Path: path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.RecordPayment(ctx, payment("txn-123", "FAC-1001")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := src.RecordReversal(ctx, rev); err != nil {
			t.Fatalf("RecordReversal %d: %v", i+1, err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	// Re-opened, the journal still knows both lines: neither is written again.
	src2, _ := open(t, file.Config{Path: path})
	if err := src2.RecordPayment(ctx, payment("txn-123", "FAC-1001")); err != nil {
		t.Fatal(err)
	}
	if err := src2.RecordReversal(ctx, rev); err != nil {
		t.Fatal(err)
	}
	lines := journalLines(t, journal)
	wantRev := `{"transaction_id":"txn-123","ref_payment":"FAC-1001","id_number":"1032456789","amount":"20000","currency_type":"COP","status":"reversed","payment_method":"PSE","reversed_at":"2026-03-03T09:00:00Z"}`
	if len(lines) != 2 || !strings.Contains(lines[0], `"status":"paid"`) || lines[1] != wantRev {
		t.Fatalf("journal: got %q, want the payment then %s, once each", lines, wantRev)
	}
	if err := src2.RecordReversal(ctx, erp.Reversal{RefPayment: "FAC-1001"}); err == nil || errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("empty transaction id: got %v, want a non-retryable error", err)
	}
}

func TestJournalPathConfig(t *testing.T) {
	path := copyFixture(t, "charges.csv", "charges.csv")
	journal := filepath.Join(t.TempDir(), "pagos.jsonl")
	src, _ := open(t, file.Config{Path: path, JournalPath: journal})
	if err := src.RecordPayment(context.Background(), payment("t-1", "FAC-1001")); err != nil {
		t.Fatal(err)
	}
	if got := journalLines(t, journal); len(got) != 1 {
		t.Errorf("journal lines: got %d, want 1", len(got))
	}
	if _, err := os.Stat(path + ".payments.jsonl"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("default journal: got %v, want it absent", err)
	}
	if _, err := file.New(file.Config{Path: path, JournalPath: filepath.Join(t.TempDir(), "no", "such", "dir.jsonl")}, nil); err == nil {
		t.Error("journal in a missing directory: got nil error, want one")
	}
}

func TestConcurrentUse(t *testing.T) {
	path := copyFixture(t, "charges.json", "charges.json")
	src, _ := open(t, file.Config{Path: path})
	alt, err := os.ReadFile(filepath.Join(fixtures, "broken.json"))
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				charges, err := src.PendingCharges(ctx, "1032456789")
				if err != nil || len(charges) == 0 {
					t.Errorf("got %d charges, %v; want some", len(charges), err)
					return
				}
				charges[0].References = append(charges[0].References, "mutated")
				charges[0].Defects = append(charges[0].Defects, erp.Defect{})
				if err := src.RecordPayment(ctx, payment(fmt.Sprintf("tx-%d", j%20), "FAC-1001")); err != nil {
					t.Error(err)
					return
				}
				_ = src.Check(ctx)
				_ = i
			}
		})
	}
	for k := range 6 {
		content := orig
		if k%2 == 0 {
			content = alt
		}
		replace(t, path, content)
		time.Sleep(150 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if got := len(journalLines(t, path+".payments.jsonl")); got != 20 {
		t.Errorf("journal lines: got %d, want 20", got)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	src, err := file.New(file.Config{Path: copyFixture(t, "charges.json", "charges.json")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if got := refsOf(t, src, "1032456789"); len(got) != 2 {
		t.Errorf("lookup after Close: got %v, want the last content", got)
	}
	if err := src.Check(context.Background()); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("Check after Close: got %v, want ErrUnavailable", err)
	}
}

// TestReloadOnSymlinkSwap follows a file the way Kubernetes mounts a
// ConfigMap: charges.json -> ..data/charges.json, and an update swaps the
// ..data symlink, so no event names charges.json itself.
func TestReloadOnSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	put := func(version, fixture string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(fixtures, fixture))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, version, "charges.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(version, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	put("v1", "charges.json")
	path := filepath.Join(dir, "charges.json")
	if err := os.Symlink(filepath.Join("..data", "charges.json"), path); err != nil {
		t.Fatal(err)
	}
	src, _ := open(t, file.Config{Path: path, JournalPath: filepath.Join(t.TempDir(), "j.jsonl")})
	if got := refsOf(t, src, "79845123"); !slices.Equal(got, []string{"FAC-2001"}) {
		t.Fatalf("before: got %v, want [FAC-2001]", got)
	}
	put("v2", "broken.json")
	eventually(t, "the swapped content", func() bool {
		return slices.Equal(refsOf(t, src, "79845123"), []string{"DUP-1", "DUP-1", "OK-1"})
	})
}
