package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/store/storetest"
)

// eachBenchStore runs fn on an empty, migrated store of each dialect:
// SQLite in a file (synchronous=FULL), PostgreSQL in a schema of its own on
// RECAUDA_TEST_POSTGRES_DSN (skipped without it).
func eachBenchStore(b *testing.B, fn func(b *testing.B, s *Store)) {
	dialects := []struct {
		dialect string
		dsn     func(testing.TB) string
	}{
		{models.DialectSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "bench.db") }},
		{models.DialectPostgres, storetest.PostgresDSN},
	}
	for _, d := range dialects {
		b.Run(d.dialect, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, d.dialect, d.dsn(b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			fn(b, s)
		})
	}
}

// BenchmarkClaim claims 3 new refs per op from 32 goroutines, so that
// SQLite's group committer batches them as under load: what a first offer
// costs the store.
func BenchmarkClaim(b *testing.B) {
	eachBenchStore(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		var n atomic.Int64
		parallelOps(b, func() {
			c := n.Add(1)
			id := fmt.Sprintf("%d", 70000000+c)
			req := ClaimRequest{ResendAfter: 24 * time.Hour}
			for k := range 3 {
				req.Offers = append(req.Offers, offer(fmt.Sprintf("B-%d-%d", c, k), id))
			}
			got, err := s.Claim(ctx, req)
			if err != nil || len(got.Refs) != 3 {
				b.Fatalf("claim: %v, %v", got.Refs, err)
			}
		})
	})
}

// BenchmarkSettle settles one approved webhook per op from 32 goroutines,
// each for a charge claimed beforehand: what webhook intake costs the store
// once the HTTP request is parsed. The body is the size of Efipay's
// documented example.
func BenchmarkSettle(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("..", "testdata", "efipay", "webhook-example.json"))
	if err != nil {
		b.Fatal(err)
	}
	amount := decimal.RequireFromString("150000.50")
	eachBenchStore(b, func(b *testing.B, s *Store) {
		ctx := context.Background()
		for start := 0; start < b.N; start += 300 {
			req := ClaimRequest{}
			for i := start; i < min(start+300, b.N); i++ {
				req.Offers = append(req.Offers, offer(fmt.Sprintf("S-%d", i), fmt.Sprintf("%d", 80000000+start)))
			}
			if _, err := s.Claim(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		var n atomic.Int64
		parallelOps(b, func() {
			i := n.Add(1) - 1
			tx := fmt.Sprintf("T-%d", i)
			d := WebhookDelivery{Body: body, TransactionID: tx, Status: "Aprobada", Amount: amount, Currency: "COP",
				Production: true, PaymentMethod: "PSE", References: []string{fmt.Sprintf("S-%d", i)}}
			paid, at := amount, s.now()
			res, err := s.Settle(ctx, d, func(c ChargeState) Decision {
				return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid, PaidAmount: &paid, PaidAt: &at,
					TransactionID: tx, Writeback: []byte(`{"ref":"` + c.RefPayment + `","tx":"` + tx + `"}`)}
			})
			if err != nil || res.Outcome != models.OutcomeApplied || res.WritebackID == 0 {
				b.Fatalf("settle %s: %+v, %v", tx, res, err)
			}
		})
	})
}

// parallelOps runs op b.N times from 16 goroutines per core (32 here), so
// that SQLite's committer batches their writes as under load, reporting
// allocations and the process's CPU per op.
func parallelOps(b *testing.B, op func()) {
	b.SetParallelism(16)
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
}

// reportCPU resets the timer and returns what reports the process's CPU
// time per op since then (both cores' worth: what the store costs the
// machine, not only the wall time per op). On PostgreSQL the server's own
// CPU is not in it.
func reportCPU(b *testing.B) func() {
	b.ResetTimer()
	start := processCPU()
	return func() {
		if used := processCPU() - start; used > 0 {
			b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
		}
	}
}
