package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkClaim claims 3 new refs per op on SQLite (synchronous=FULL),
// from 32 goroutines, so that the group committer batches them as under
// load: what a first offer costs the store.
func BenchmarkClaim(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, SQLite, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
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
		}
	})
}
