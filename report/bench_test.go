package report

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"recauda-bridge/models"
	"recauda-bridge/store"
)

// benchPayments is the size of the range BenchmarkExport exports;
// REPORT_BENCH_ROWS changes it (to see that the peak does not grow with it).
var benchPayments = func() int {
	if n, err := strconv.Atoi(os.Getenv("REPORT_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}()

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

// benchDB is a SQLite file, migrated by the real migrations, holding
// benchPayments applied approvals with bodies the size of Efipay's example,
// spread over 30 days. It is written once per process, straight in SQL:
// settling them one by one would take minutes.
func benchDB(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := (func() (string, error) { return filepath.Abs(b.TempDir()) })()
		if err != nil {
			benchErr = err
			return
		}
		// b.TempDir is removed when the first benchmark ends: keep one of
		// the process's own.
		dir = filepath.Join(filepath.Dir(filepath.Dir(dir)), fmt.Sprintf("report-bench-%d", time.Now().UnixNano()))
		benchPath = filepath.Join(dir, "bench.db")
		benchErr = seedBench(benchPath)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPath
}

func seedBench(path string) error {
	ctx := context.Background()
	if err := mkdirAll(filepath.Dir(path)); err != nil {
		return err
	}
	st, err := store.Open(ctx, models.DialectSQLite, path, store.Options{})
	if err != nil {
		return err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return err
	}
	st.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	charge, err := tx.Prepare(`INSERT INTO charges (id, ref_payment, id_number, payer_name, amount, currency_type, status, created_at, updated_at)
		VALUES (?, ?, ?, 'Ana María Gómez Restrepo', '150000.50', 'COP', 'paid', ?, ?)`)
	if err != nil {
		return err
	}
	event, err := tx.Prepare(`INSERT INTO webhook_events (received_at, approved_at, body, body_hash, transaction_id, status, amount,
		currency_type, production, payment_method, ref_payment, charge_id, outcome, status_after)
		VALUES (?, ?, ?, 'h', ?, 'Aprobada', '150000.50', 'COP', 1, 'pse', ?, ?, 'applied', 'paid')`)
	if err != nil {
		return err
	}
	start := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
	const fmtTime = "2006-01-02 15:04:05.999999999-07:00"
	for i := 1; i <= benchPayments; i++ {
		at := start.Add(time.Duration(i) * (30 * 24 * time.Hour / time.Duration(benchPayments))).Format(fmtTime)
		ref := fmt.Sprintf("FAC-2026-%07d", i)
		if _, err := charge.Exec(i, ref, fmt.Sprint(1000000+i%5000), at, at); err != nil {
			return err
		}
		body := fmt.Sprintf(`{"transaction":{"transaction_id":%d,"amount":150000.5,"currency_type":"COP","value_cop":150000.5,`+
			`"payment_method":"pse","payment_method_source":"Bancolombia","trazability_id":"%d","transaction_details":{"name":"Ana María Gómez Restrepo",`+
			`"identification_type":"CC","identification_number":"%d","email":"ana@example.co","country":"57","phone":"3001234567",`+
			`"number_card":"","installments":"1","franchise":"","status_message":"Aprobada"},"status":"Aprobada",`+
			`"url_response":"https://efipay.co/r/abc","approved_at":"2026-11-01T05:00:00.000000Z","production":true,"created_at":"2026-11-01T05:00:00.000000Z",`+
			`"customer_payer":{"id":"9f1c","name":"Ana","email":"ana@example.co"}},"checkout":{"payment_gateway":{"advanced_option":{"references":["%s"]}}}}`,
			i, 700000+i, 1000000+i%5000, ref)
		if _, err := event.Exec(at, at, body, fmt.Sprint(i), ref, i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// BenchmarkExport exports benchPayments payments in each format and reports
// the peak heap seen while it ran (sampled every millisecond): it stays the
// same whatever the number of rows, since none is held.
func BenchmarkExport(b *testing.B) {
	path := benchDB(b)
	ctx := context.Background()
	st, err := store.Open(ctx, models.DialectSQLite, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := New(st, nil, bank)
	q := Query{From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			var peak atomic.Uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			runtime.GC()
			go func() {
				defer close(done)
				var m runtime.MemStats
				for {
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			var written int64
			b.ResetTimer()
			for range b.N {
				cw := &countingWriter{}
				if err := svc.Export(ctx, cw, format, q); err != nil {
					b.Fatal(err)
				}
				written = cw.n
			}
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(written)/(1<<20), "file-MiB")
			b.ReportMetric(float64(benchPayments), "rows")
		})
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }
