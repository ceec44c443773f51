package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// enqueueWriteback creates a write-back job the way production does: a
// charge is claimed, then a paid webhook is settled with a write-back.
func enqueueWriteback(t *testing.T, s *Store, ref, txn string) Writeback {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Claim(ctx, ClaimRequest{Offers: []Offer{offer(ref, "1032456789")}}); err != nil {
		t.Fatalf("claim %s: %v", ref, err)
	}
	res, err := s.Settle(ctx, WebhookDelivery{
		Body: []byte(`{"transaction":"` + txn + `"}`), TransactionID: txn, Status: "Aprobada",
		Amount: decimal.RequireFromString("150000.50"), Currency: "COP", References: []string{ref},
	}, func(c ChargeState) Decision {
		return Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid,
			Writeback: []byte(`{"RefPayment":"` + ref + `","TransactionID":"` + txn + `"}`)}
	})
	if err != nil || res.WritebackID == 0 {
		t.Fatalf("settle %s: got job %d, err %v; want a job", ref, res.WritebackID, err)
	}
	job, err := s.GetWriteback(ctx, res.WritebackID)
	if err != nil {
		t.Fatalf("get job %d: %v", res.WritebackID, err)
	}
	return job
}

// timelineKinds lists the kinds of a charge's timeline entries, oldest first.
func timelineKinds(t *testing.T, s *Store, chargeID int64) []string {
	t.Helper()
	var kinds []string
	if err := s.read.Model(&models.ChargeEventRow{}).Where("charge_id = ?", chargeID).Order("id").Pluck("kind", &kinds).Error; err != nil {
		t.Fatal(err)
	}
	return kinds
}

func countKind(kinds []string, kind string) int {
	n := 0
	for _, k := range kinds {
		if k == kind {
			n++
		}
	}
	return n
}

func mustLease(t *testing.T, s *Store, lease time.Duration) Writeback {
	t.Helper()
	job, err := s.LeaseWriteback(context.Background(), lease)
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	return job
}

func wantNoLease(t *testing.T, s *Store) {
	t.Helper()
	if job, err := s.LeaseWriteback(context.Background(), time.Minute); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lease got job %d (err %v), want ErrNotFound", job.ID, err)
	}
}

func TestEnqueuedWritebackIsPendingAndDue(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		job := enqueueWriteback(t, s, "W1", "tx-1")
		if job.State != models.WritebackPending || job.Attempts != 0 || !job.NextAttemptAt.Equal(clk.now()) {
			t.Fatalf("job = %+v, want pending, 0 attempts, due now", job)
		}
		if job.RefPayment != "W1" || job.TransactionID != "tx-1" || !strings.Contains(string(job.Payment), "tx-1") {
			t.Fatalf("job = %+v, want W1 / tx-1 and its payment", job)
		}
	})
}

func TestLeaseWriteback(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		ctx := context.Background()

		t.Run("oldest due first, never the same job twice", func(t *testing.T) {
			clk := newClock(t0)
			s := db.open(t, clk)
			a := enqueueWriteback(t, s, "A", "tx-a")
			clk.add(time.Second)
			b := enqueueWriteback(t, s, "B", "tx-b")
			if got := mustLease(t, s, time.Minute); got.ID != a.ID {
				t.Fatalf("first lease got %d, want %d (oldest due)", got.ID, a.ID)
			}
			if got := mustLease(t, s, time.Minute); got.ID != b.ID {
				t.Fatalf("second lease got %d, want %d", got.ID, b.ID)
			}
			wantNoLease(t, s)
		})

		t.Run("expired lease is leased again", func(t *testing.T) {
			clk := newClock(t0)
			s := db.open(t, clk)
			a := enqueueWriteback(t, s, "A", "tx-a")
			mustLease(t, s, time.Minute)
			clk.add(time.Minute)
			wantNoLease(t, s) // the lease ends at now+1m, exclusive
			clk.add(time.Microsecond)
			if got := mustLease(t, s, time.Minute); got.ID != a.ID {
				t.Fatalf("lease after expiry got %d, want %d", got.ID, a.ID)
			}
		})

		t.Run("done and cancelled jobs are never leased", func(t *testing.T) {
			clk := newClock(t0)
			s := db.open(t, clk)
			a := enqueueWriteback(t, s, "A", "tx-a")
			b := enqueueWriteback(t, s, "B", "tx-b")
			if _, err := s.CancelWriteback(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			if got := mustLease(t, s, time.Minute); got.ID != a.ID {
				t.Fatalf("lease got %d, want %d", got.ID, a.ID)
			}
			if err := s.CompleteWriteback(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			clk.add(24 * time.Hour)
			wantNoLease(t, s)
		})

		t.Run("not due before next attempt", func(t *testing.T) {
			clk := newClock(t0)
			s := db.open(t, clk)
			a := enqueueWriteback(t, s, "A", "tx-a")
			mustLease(t, s, time.Minute)
			next := clk.now().Add(10 * time.Second)
			if err := s.FailWriteback(ctx, a.ID, "erp down", next); err != nil {
				t.Fatal(err)
			}
			wantNoLease(t, s)
			clk.set(next)
			if got := mustLease(t, s, time.Minute); got.ID != a.ID || got.Attempts != 1 {
				t.Fatalf("lease at next attempt got %+v, want job %d with 1 attempt", got, a.ID)
			}
		})

		t.Run("empty queue", func(t *testing.T) {
			s := db.open(t, newClock(t0))
			wantNoLease(t, s)
		})

		t.Run("lease must be positive", func(t *testing.T) {
			s := db.open(t, newClock(t0))
			enqueueWriteback(t, s, "A", "tx-a")
			if _, err := s.LeaseWriteback(ctx, 0); err == nil {
				t.Fatal("lease of 0 got no error, want one")
			}
		})
	})
}

func TestConcurrentLeasesHandOutEachJobOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		const jobs = 20
		for i := 0; i < jobs; i++ {
			enqueueWriteback(t, s, fmt.Sprintf("C%02d", i), fmt.Sprintf("tx-%02d", i))
		}
		var mu sync.Mutex
		leased := map[int64]int{}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					job, err := s.LeaseWriteback(context.Background(), time.Minute)
					if errors.Is(err, ErrNotFound) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					leased[job.ID]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(leased) != jobs {
			t.Fatalf("leased %d distinct jobs, want %d", len(leased), jobs)
		}
		for id, n := range leased {
			if n != 1 {
				t.Errorf("job %d leased %d times, want 1", id, n)
			}
		}
	})
}

func TestCompleteAndFailWriteback(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		job := enqueueWriteback(t, s, "F1", "tx-f1")

		long := strings.Repeat("é", 1500)
		next := clk.now().Add(time.Second)
		mustLease(t, s, time.Minute)
		if err := s.FailWriteback(ctx, job.ID, long, next); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetWriteback(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Attempts != 1 || got.State != models.WritebackPending || !got.NextAttemptAt.Equal(next) {
			t.Fatalf("after failure: %+v, want 1 attempt, pending, next %s", got, next)
		}
		if n := utf8.RuneCountInString(got.LastError); n != 1000 {
			t.Fatalf("last_error has %d characters, want 1000", n)
		}
		// The lease is released: the job is leasable as soon as it is due.
		clk.set(next)
		mustLease(t, s, time.Minute)
		clk.add(time.Second)
		if err := s.CompleteWriteback(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetWriteback(ctx, job.ID)
		if got.State != models.WritebackDone || got.Attempts != 2 || got.DoneAt == nil || !got.DoneAt.Equal(clk.now()) {
			t.Fatalf("after completion: %+v, want done, 2 attempts, done_at %s", got, clk.now())
		}
		// Completing again (a repeated delivery) changes nothing.
		if err := s.CompleteWriteback(ctx, job.ID); err != nil {
			t.Fatalf("second completion: %v, want nil", err)
		}
		if again, _ := s.GetWriteback(ctx, job.ID); again.Attempts != 2 {
			t.Fatalf("second completion made attempts %d, want 2", again.Attempts)
		}
		if err := s.FailWriteback(ctx, job.ID, "late", clk.now()); !errors.Is(err, ErrConflict) {
			t.Fatalf("failing a done job: got %v, want ErrConflict", err)
		}
		kinds := timelineKinds(t, s, job.ChargeID)
		if countKind(kinds, "writeback_failed") != 1 || countKind(kinds, "writeback_done") != 1 {
			t.Fatalf("timeline = %v, want one writeback_failed and one writeback_done", kinds)
		}
		for _, op := range []func() error{
			func() error { return s.CompleteWriteback(ctx, 999) },
			func() error { return s.FailWriteback(ctx, 999, "x", clk.now()) },
			func() error { _, err := s.GetWriteback(ctx, 999); return err },
		} {
			if err := op(); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown job: got %v, want ErrNotFound", err)
			}
		}
	})
}

func TestCompleteWritebackCancelledInFlight(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		job := enqueueWriteback(t, s, "K1", "tx-k1")
		mustLease(t, s, time.Minute)
		if _, err := s.CancelWriteback(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.FailWriteback(ctx, job.ID, "erp down", clk.now()); !errors.Is(err, ErrConflict) {
			t.Fatalf("failing a cancelled job: got %v, want ErrConflict", err)
		}
		// The ERP recorded the payment after all: the job says so.
		if err := s.CompleteWriteback(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetWriteback(ctx, job.ID); got.State != models.WritebackDone {
			t.Fatalf("state = %s, want done", got.State)
		}
	})
}

func TestRetryAndCancelWriteback(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		job := enqueueWriteback(t, s, "R1", "tx-r1")

		mustLease(t, s, time.Minute)
		if err := s.FailWriteback(ctx, job.ID, "erp down", clk.now().Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.CancelWriteback(ctx, job.ID)
		if err != nil || got.State != models.WritebackCancelled {
			t.Fatalf("cancel: %+v (err %v), want cancelled", got, err)
		}
		got, err = s.CancelWriteback(ctx, job.ID)
		if err != nil || got.State != models.WritebackCancelled {
			t.Fatalf("second cancel: %+v (err %v), want cancelled, no error", got, err)
		}
		clk.add(time.Hour)
		wantNoLease(t, s)

		clk.add(time.Second)
		got, err = s.RetryWriteback(ctx, job.ID)
		if err != nil || got.State != models.WritebackPending || !got.NextAttemptAt.Equal(clk.now()) || got.Attempts != 1 || got.LastError != "erp down" {
			t.Fatalf("retry: %+v (err %v), want pending, due now, attempts and last error kept", got, err)
		}
		// Retrying a pending job in flight releases its lease at once.
		mustLease(t, s, time.Hour)
		if _, err := s.RetryWriteback(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		mustLease(t, s, time.Minute)
		if err := s.CompleteWriteback(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RetryWriteback(ctx, job.ID); !errors.Is(err, ErrConflict) {
			t.Fatalf("retry of a done job: got %v, want ErrConflict", err)
		}
		if _, err := s.CancelWriteback(ctx, job.ID); !errors.Is(err, ErrConflict) {
			t.Fatalf("cancel of a done job: got %v, want ErrConflict", err)
		}
		if _, err := s.RetryWriteback(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("retry of unknown job: got %v, want ErrNotFound", err)
		}
		if _, err := s.CancelWriteback(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel of unknown job: got %v, want ErrNotFound", err)
		}
		kinds := timelineKinds(t, s, job.ChargeID)
		want := map[string]int{"writeback_enqueued": 1, "writeback_failed": 1, "writeback_cancelled": 1, "writeback_retry": 2, "writeback_done": 1}
		for kind, n := range want {
			if got := countKind(kinds, kind); got != n {
				t.Errorf("timeline has %d %s, want %d (timeline %v)", got, kind, n, kinds)
			}
		}
	})
}

func TestListWritebacks(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		clk := newClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		s := db.open(t, clk)
		ctx := context.Background()
		var ids []int64
		for i := 0; i < 7; i++ {
			ids = append(ids, enqueueWriteback(t, s, fmt.Sprintf("L%d", i), fmt.Sprintf("tx-%d", i)).ID)
			clk.add(time.Second)
		}
		for _, id := range ids[:2] {
			if _, err := s.CancelWriteback(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name      string
			f         WritebackFilter
			wantIDs   []int64
			wantTotal int64
		}{
			{"first page newest first", WritebackFilter{PerPage: 3}, []int64{ids[6], ids[5], ids[4]}, 7},
			{"last page", WritebackFilter{Page: 3, PerPage: 3}, []int64{ids[0]}, 7},
			{"past the end", WritebackFilter{Page: 4, PerPage: 3}, nil, 7},
			{"by state", WritebackFilter{State: models.WritebackCancelled}, []int64{ids[1], ids[0]}, 2},
			{"pending page 2", WritebackFilter{State: models.WritebackPending, Page: 2, PerPage: 2}, []int64{ids[4], ids[3]}, 5},
			{"no match", WritebackFilter{State: models.WritebackDone}, nil, 0},
			{"huge page", WritebackFilter{Page: 1 << 62, PerPage: 500}, nil, 7},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, total, err := s.ListWritebacks(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var gotIDs []int64
				for _, w := range got {
					gotIDs = append(gotIDs, w.ID)
				}
				if total != tc.wantTotal || fmt.Sprint(gotIDs) != fmt.Sprint(tc.wantIDs) {
					t.Fatalf("got %v total %d, want %v total %d", gotIDs, total, tc.wantIDs, tc.wantTotal)
				}
			})
		}
	})
}

func TestWritebackStatsAndDue(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
		clk := newClock(t0)
		s := db.open(t, clk)
		ctx := context.Background()

		n, oldest, err := s.WritebackStats(ctx)
		if err != nil || n != 0 || !oldest.IsZero() {
			t.Fatalf("empty stats: %d %s (err %v), want 0 and zero time", n, oldest, err)
		}
		if _, ok, err := s.DueWritebackAt(ctx); err != nil || ok {
			t.Fatalf("empty due: ok %v (err %v), want false", ok, err)
		}

		a := enqueueWriteback(t, s, "S1", "tx-1")
		clk.add(time.Minute)
		b := enqueueWriteback(t, s, "S2", "tx-2")
		clk.add(time.Minute)
		n, oldest, err = s.WritebackStats(ctx)
		if err != nil || n != 2 || !oldest.Equal(t0) {
			t.Fatalf("stats: %d %s (err %v), want 2 and %s", n, oldest, err, t0)
		}

		due, ok, err := s.DueWritebackAt(ctx)
		if err != nil || !ok || !due.Equal(t0) {
			t.Fatalf("due = %s %v (err %v), want %s", due, ok, err, t0)
		}
		// A leased job is due when its lease ends, not at its next attempt.
		mustLease(t, s, 5*time.Minute) // a, until t0+7m
		due, _, _ = s.DueWritebackAt(ctx)
		if want := t0.Add(time.Minute); !due.Equal(want) {
			t.Fatalf("due with a leased = %s, want b's %s", due, want)
		}
		mustLease(t, s, time.Minute) // b, until t0+3m
		due, _, _ = s.DueWritebackAt(ctx)
		if want := t0.Add(3 * time.Minute); !due.Equal(want) {
			t.Fatalf("due with both leased = %s, want the end of b's lease %s", due, want)
		}
		if err := s.FailWriteback(ctx, b.ID, "erp down", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		due, _, _ = s.DueWritebackAt(ctx)
		if want := t0.Add(7 * time.Minute); !due.Equal(want) {
			t.Fatalf("due = %s, want the end of a's lease %s", due, want)
		}

		if err := s.CompleteWriteback(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		n, oldest, err = s.WritebackStats(ctx)
		if err != nil || n != 1 || !oldest.Equal(t0.Add(time.Minute)) {
			t.Fatalf("stats after a done: %d %s (err %v), want 1 and %s", n, oldest, err, t0.Add(time.Minute))
		}
	})
}
