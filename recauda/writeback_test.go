package recauda

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // to read the timeline straight from the file
	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/erp/erptest"
	"recauda-bridge/models"
	"recauda-bridge/store"
)

// wbClock is a settable clock shared by the store and the worker.
type wbClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wbClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *wbClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func newWBClock() *wbClock { return &wbClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)} }

// wbOpen opens (and migrates) the SQLite file at path; the test closes it.
func wbOpen(t *testing.T, path string, clk *wbClock) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, models.DialectSQLite, path, store.Options{Now: clk.now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

// wbEnqueue creates a write-back job the way production does: the charge is
// claimed by a lookup, then a paid webhook is settled with a write-back.
// payment nil means a well-formed erp.Payment.
func wbEnqueue(t *testing.T, st *store.Store, ref, txn string, payment []byte) int64 {
	t.Helper()
	ctx := context.Background()
	amount := decimal.RequireFromString("150000.50")
	_, err := st.Claim(ctx, store.ClaimRequest{Offers: []store.Offer{{
		RefPayment: ref, IDNumber: "1032456789", PayerName: "Ana Gómez", Description: "Cuota " + ref,
		Amount: amount, Currency: "COP", Payload: []byte(`{"ref":"` + ref + `"}`),
	}}})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if payment == nil {
		payment, err = json.Marshal(erp.Payment{RefPayment: ref, IDNumber: "1032456789", Amount: amount, Currency: "COP",
			TransactionID: txn, PaidAt: time.Date(2026, 11, 22, 11, 59, 0, 0, time.UTC), Status: models.StatusPaid, PaymentMethod: "PSE"})
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := st.Settle(ctx, store.WebhookDelivery{
		Body: []byte(`{}`), TransactionID: txn, Status: "Aprobada", Amount: amount, Currency: "COP", References: []string{ref},
	}, func(store.ChargeState) store.Decision {
		return store.Decision{Outcome: models.OutcomeApplied, NewStatus: models.StatusPaid, Writeback: payment}
	})
	if err != nil || res.WritebackID == 0 {
		t.Fatalf("settle: job %d, err %v; want a job", res.WritebackID, err)
	}
	return res.WritebackID
}

// wbTimeline counts the kinds of a job's charge timeline, read from the file.
func wbTimeline(t *testing.T, path string, jobID int64) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT e.kind FROM charge_events e JOIN writebacks w ON w.charge_id = e.charge_id WHERE w.id = ?`, jobID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kinds := map[string]int{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		kinds[k]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return kinds
}

// failingSource fails its first n write-backs with an ERP outage that quotes
// the customer's ID number, then records.
func failingSource(n int64) (*erptest.Source, *atomic.Int64) {
	var calls atomic.Int64
	return &erptest.Source{RecordPaymentFunc: func(_ context.Context, p erp.Payment) error {
		if calls.Add(1) <= n {
			return fmt.Errorf("alegra: customer %s: 503 Service Unavailable: %w", p.IDNumber, erp.ErrUnavailable)
		}
		return nil
	}}, &calls
}

// newTestWorker is a worker with the default config and no jitter, so each
// back-off is exactly 1s, 2s, 4s...
func newTestWorker(st *store.Store, rec erp.PaymentRecorder, cfg WorkerConfig, clk *wbClock, log *slog.Logger) *Worker {
	w := NewWorker(st, rec, cfg, clk.now, log)
	w.jitter = func() float64 { return 1 }
	return w
}

// failOnce runs one delivery that must fail as attempt n, checks the job
// and moves the clock to its next attempt.
func failOnce(t *testing.T, w *Worker, st *store.Store, clk *wbClock, id int64, n int) {
	t.Helper()
	ctx := context.Background()
	if ok, err := w.RunOnce(ctx); !ok || err != nil {
		t.Fatalf("attempt %d: RunOnce = %v, %v; want true, nil", n, ok, err)
	}
	job, err := st.GetWriteback(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantNext := clk.now().Add(time.Second << (n - 1))
	if job.State != models.WritebackPending || job.Attempts != n || !job.NextAttemptAt.Equal(wantNext) {
		t.Fatalf("after attempt %d: state %s, attempts %d, next %s; want pending, %d, %s",
			n, job.State, job.Attempts, job.NextAttemptAt, n, wantNext)
	}
	if !strings.Contains(job.LastError, "503") {
		t.Fatalf("last_error = %q, want the ERP's cause", job.LastError)
	}
	if ok, err := w.RunOnce(ctx); ok || err != nil {
		t.Fatalf("before its back-off: RunOnce = %v, %v; want false, nil", ok, err)
	}
	clk.set(job.NextAttemptAt)
}

func wantDone(t *testing.T, st *store.Store, src *erptest.Source, path string, id int64, attempts int) {
	t.Helper()
	job, err := st.GetWriteback(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != models.WritebackDone || job.Attempts != attempts || job.DoneAt == nil {
		t.Fatalf("job: state %s, attempts %d, done_at %v; want done, %d, set", job.State, job.Attempts, job.DoneAt, attempts)
	}
	rec := src.Recorded()
	if len(rec) != 1 || rec[0].TransactionID != "tx-1" || rec[0].RefPayment != "R1" || !rec[0].Amount.Equal(decimal.RequireFromString("150000.50")) {
		t.Fatalf("recorded %+v, want tx-1 for R1 once", rec)
	}
	kinds := wbTimeline(t, path, id)
	if kinds["writeback_failed"] != attempts-1 || kinds["writeback_done"] != 1 {
		t.Fatalf("timeline %v, want %d writeback_failed and 1 writeback_done", kinds, attempts-1)
	}
}

func TestWorkerRetriesUntilRecorded(t *testing.T) {
	clk := newWBClock()
	path := filepath.Join(t.TempDir(), "wb.db")
	st := wbOpen(t, path, clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	src, calls := failingSource(5)
	var logs bytes.Buffer
	w := newTestWorker(st, src, WorkerConfig{}, clk, slog.New(slog.NewTextHandler(&logs, nil)))

	for n := 1; n <= 5; n++ {
		failOnce(t, w, st, clk, id, n)
	}
	if ok, err := w.RunOnce(context.Background()); !ok || err != nil {
		t.Fatalf("last attempt: RunOnce = %v, %v; want true, nil", ok, err)
	}
	wantDone(t, st, src, path, id, 6)
	if calls.Load() != 6 {
		t.Fatalf("RecordPayment called %d times, want 6", calls.Load())
	}
	if ok, err := w.RunOnce(context.Background()); ok || err != nil {
		t.Fatalf("after done: RunOnce = %v, %v; want false, nil", ok, err)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN msg=\"write-back failed\"") != 5 || !strings.Contains(out, "ref_payment=R1") || !strings.Contains(out, "attempt=5") {
		t.Fatalf("logs lack 5 warnings with ref_payment and attempt:\n%s", out)
	}
	if strings.Contains(out, "1032456789") || !strings.Contains(out, "*******789") {
		t.Fatalf("logs show the ID number unmasked or not at all:\n%s", out)
	}
}

func TestWorkerKeepsTryingAcrossRestart(t *testing.T) {
	clk := newWBClock()
	path := filepath.Join(t.TempDir(), "wb.db")
	st := wbOpen(t, path, clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	src, _ := failingSource(5) // the ERP outlives the bridge's restart
	w := newTestWorker(st, src, WorkerConfig{}, clk, nil)
	for n := 1; n <= 3; n++ {
		failOnce(t, w, st, clk, id, n)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = wbOpen(t, path, clk)
	w = newTestWorker(st, src, WorkerConfig{}, clk, nil)
	for n := 4; n <= 5; n++ {
		failOnce(t, w, st, clk, id, n)
	}
	if ok, err := w.RunOnce(context.Background()); !ok || err != nil {
		t.Fatalf("last attempt: RunOnce = %v, %v; want true, nil", ok, err)
	}
	wantDone(t, st, src, path, id, 6)
}

func TestWorkerTakesOverJobOfCrashedWorker(t *testing.T) {
	clk := newWBClock()
	path := filepath.Join(t.TempDir(), "wb.db")
	st := wbOpen(t, path, clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	// A worker leased the job and died before recording anything.
	if _, err := st.LeaseWriteback(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = wbOpen(t, path, clk)
	src := &erptest.Source{}
	w := newTestWorker(st, src, WorkerConfig{}, clk, nil)
	if ok, err := w.RunOnce(context.Background()); ok || err != nil {
		t.Fatalf("while leased: RunOnce = %v, %v; want false, nil", ok, err)
	}
	clk.set(clk.now().Add(time.Minute + time.Microsecond))
	if ok, err := w.RunOnce(context.Background()); !ok || err != nil {
		t.Fatalf("after the lease: RunOnce = %v, %v; want true, nil", ok, err)
	}
	wantDone(t, st, src, path, id, 1)
}

func TestWorkerParksWhatRetryingCannotFix(t *testing.T) {
	tests := []struct {
		name      string
		payment   []byte
		err       error
		wantCause string
		wantCalls int
	}{
		{"undecodable payload", []byte(`{"Amount": not json`), nil, "cannot be decoded", 0},
		{"erp refuses", nil, fmt.Errorf("alegra: invoice R1: %w", erp.ErrNotFound), "invoice R1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := newWBClock()
			st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
			id := wbEnqueue(t, st, "R1", "tx-1", tc.payment)
			var calls atomic.Int64
			src := &erptest.Source{RecordPaymentFunc: func(context.Context, erp.Payment) error { calls.Add(1); return tc.err }}
			w := newTestWorker(st, src, WorkerConfig{MaxBackoff: 7 * time.Minute}, clk, nil)
			if ok, err := w.RunOnce(context.Background()); !ok || err != nil {
				t.Fatalf("RunOnce = %v, %v; want true, nil", ok, err)
			}
			job, _ := st.GetWriteback(context.Background(), id)
			if want := clk.now().Add(7 * time.Minute); job.State != models.WritebackPending || job.Attempts != 1 || !job.NextAttemptAt.Equal(want) {
				t.Fatalf("job: state %s, attempts %d, next %s; want pending (never dropped), 1, %s", job.State, job.Attempts, job.NextAttemptAt, want)
			}
			if !strings.Contains(job.LastError, tc.wantCause) || calls.Load() != int64(tc.wantCalls) {
				t.Fatalf("last_error %q, calls %d; want %q, %d", job.LastError, calls.Load(), tc.wantCause, tc.wantCalls)
			}
		})
	}
}

func TestWorkerCallTimeout(t *testing.T) {
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	src := &erptest.Source{RecordPaymentFunc: func(ctx context.Context, _ erp.Payment) error {
		<-ctx.Done() // an ERP that never answers
		return ctx.Err()
	}}
	w := newTestWorker(st, src, WorkerConfig{CallTimeout: 50 * time.Millisecond}, clk, nil)
	if ok, err := w.RunOnce(context.Background()); !ok || err != nil {
		t.Fatalf("RunOnce = %v, %v; want true, nil", ok, err)
	}
	job, _ := st.GetWriteback(context.Background(), id)
	if job.Attempts != 1 || !strings.Contains(job.LastError, "deadline") || !job.NextAttemptAt.Equal(clk.now().Add(time.Second)) {
		t.Fatalf("job: attempts %d, last_error %q, next %s; want 1, a deadline, in 1s", job.Attempts, job.LastError, job.NextAttemptAt)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt        int
		wantLo, wantHi time.Duration
	}{
		{0, 500 * time.Millisecond, time.Second},
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{10, 256 * time.Second, 512 * time.Second},
		{11, 5 * time.Minute, 10 * time.Minute},
		{20, 5 * time.Minute, 10 * time.Minute},
		{1000, 5 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			for _, j := range []float64{0, 0.5, 0.999999} {
				got := Backoff(tc.attempt, time.Second, 10*time.Minute, func() float64 { return j })
				if got < tc.wantLo || got > tc.wantHi {
					t.Errorf("Backoff(%d) with jitter %v = %s, want within [%s, %s]", tc.attempt, j, got, tc.wantLo, tc.wantHi)
				}
			}
			if lo := Backoff(tc.attempt, time.Second, 10*time.Minute, func() float64 { return 0 }); lo != tc.wantLo {
				t.Errorf("Backoff(%d) with jitter 0 = %s, want %s", tc.attempt, lo, tc.wantLo)
			}
			if hi := Backoff(tc.attempt, time.Second, 10*time.Minute, func() float64 { return 1 }); hi != tc.wantHi {
				t.Errorf("Backoff(%d) with jitter 1 = %s, want %s", tc.attempt, hi, tc.wantHi)
			}
			for i := 0; i < 100; i++ {
				if got := Backoff(tc.attempt, time.Second, 10*time.Minute, nil); got < tc.wantLo || got > tc.wantHi {
					t.Fatalf("Backoff(%d) with random jitter = %s, want within [%s, %s]", tc.attempt, got, tc.wantLo, tc.wantHi)
				}
			}
		})
	}
}

// runWorker starts w.Run and returns a function that waits (bounded) for it
// to return.
func runWorker(t *testing.T, ctx context.Context, w *Worker) func() {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s")
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWorkerRunStopsOnCancel(t *testing.T) {
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
	w := newTestWorker(st, &erptest.Source{}, WorkerConfig{Poll: time.Hour}, clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	wait := runWorker(t, ctx, w)
	time.Sleep(20 * time.Millisecond) // let it reach its sleep
	cancel()
	wait()
}

func TestWorkerKickDeliversAtOnce(t *testing.T) {
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
	src := &erptest.Source{}
	w := newTestWorker(st, src, WorkerConfig{Poll: time.Hour}, clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := runWorker(t, ctx, w)
	time.Sleep(20 * time.Millisecond) // asleep for an hour unless kicked
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	w.Kick()
	w.Kick() // never blocks
	waitFor(t, "the kicked job to be delivered", func() bool {
		job, err := st.GetWriteback(context.Background(), id)
		return err == nil && job.State == models.WritebackDone
	})
	cancel()
	wait()
	if n := len(src.Recorded()); n != 1 {
		t.Fatalf("recorded %d payments, want 1", n)
	}
}

func TestWorkerRunFinishesJobInFlight(t *testing.T) {
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	started, release := make(chan struct{}), make(chan struct{})
	var callErr atomic.Value
	src := &erptest.Source{RecordPaymentFunc: func(ctx context.Context, _ erp.Payment) error {
		close(started)
		<-release
		callErr.Store(fmt.Sprint(ctx.Err()))
		return nil
	}}
	w := newTestWorker(st, src, WorkerConfig{}, clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	wait := runWorker(t, ctx, w)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the job was not delivered")
	}
	cancel()
	close(release)
	wait()
	if got := callErr.Load(); got != "<nil>" {
		t.Fatalf("the call's ctx ended with %v after Run was cancelled, want <nil>", got)
	}
	job, _ := st.GetWriteback(context.Background(), id)
	if job.State != models.WritebackDone {
		t.Fatalf("state = %s, want done: a job in flight finishes", job.State)
	}
}

func TestWorkerWithoutRecorder(t *testing.T) {
	clk := newWBClock()
	st := wbOpen(t, filepath.Join(t.TempDir(), "wb.db"), clk)
	id := wbEnqueue(t, st, "R1", "tx-1", nil)
	for name, rec := range map[string]erp.PaymentRecorder{"nil": nil, "cannot record": cannotRecord{}} {
		t.Run(name, func(t *testing.T) {
			w := NewWorker(st, rec, WorkerConfig{}, clk.now, nil)
			done := make(chan error, 1)
			go func() { done <- w.Run(context.Background()) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run without a recorder did not return at once")
			}
			if ok, err := w.RunOnce(context.Background()); ok || err != nil {
				t.Fatalf("RunOnce = %v, %v; want false, nil", ok, err)
			}
		})
	}
	if job, _ := st.GetWriteback(context.Background(), id); job.State != models.WritebackPending || job.Attempts != 0 {
		t.Fatalf("job: state %s, attempts %d; want untouched", job.State, job.Attempts)
	}
}

// cannotRecord is a recorder configured off, like an exec source without a
// write-back command.
type cannotRecord struct{}

func (cannotRecord) CanRecord() bool { return false }
func (cannotRecord) RecordPayment(context.Context, erp.Payment) error {
	return errors.New("must not be called")
}
