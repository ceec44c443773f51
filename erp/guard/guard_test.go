package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shopspring/decimal"
	"github.com/sony/gobreaker/v2"

	"recauda-bridge/erp"
)

// fakeSource is an erp.Source whose answer is a function field.
type fakeSource struct {
	pending func(ctx context.Context, idNumber string) ([]erp.Charge, error)
}

func (f *fakeSource) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	return f.pending(ctx, idNumber)
}

// fakeRecorder adds erp.PaymentRecorder.
type fakeRecorder struct {
	fakeSource
	record func(ctx context.Context, p erp.Payment) error
}

func (f *fakeRecorder) RecordPayment(ctx context.Context, p erp.Payment) error {
	return f.record(ctx, p)
}

// fakeSwitchedRecorder adds a CanRecord of its own.
type fakeSwitchedRecorder struct {
	fakeRecorder
	canRecord bool
}

func (f *fakeSwitchedRecorder) CanRecord() bool { return f.canRecord }

// fakeChecker adds erp.HealthChecker.
type fakeChecker struct {
	fakeSource
	check func(ctx context.Context) error
}

func (f *fakeChecker) Check(ctx context.Context) error { return f.check(ctx) }

// fakeClock is the injected clock for the cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func charges(idNumber string) []erp.Charge {
	return []erp.Charge{{
		RefPayment: "REF-" + idNumber,
		IDNumber:   idNumber,
		Amount:     decimal.RequireFromString("150000"),
		Currency:   "COP",
	}}
}

// countingSource answers charges(idNumber) and counts its calls.
func countingSource(calls *atomic.Int64) *fakeSource {
	return &fakeSource{pending: func(_ context.Context, id string) ([]erp.Charge, error) {
		calls.Add(1)
		return charges(id), nil
	}}
}

// gatedSource counts its calls, signals entered on each, and answers only
// once release is closed (or its ctx ends).
func gatedSource(calls *atomic.Int64, entered chan<- string, release <-chan struct{}) *fakeSource {
	return &fakeSource{pending: func(ctx context.Context, id string) ([]erp.Charge, error) {
		calls.Add(1)
		entered <- id
		select {
		case <-release:
			return charges(id), nil
		case <-ctx.Done():
			return nil, fmt.Errorf("fake: %w: %w", erp.ErrUnavailable, ctx.Err())
		}
	}}
}

// letWaitersJoin gives goroutines that are about to call PendingCharges time
// to join the call in flight; singleflight offers no way to observe that.
func letWaitersJoin() { time.Sleep(100 * time.Millisecond) }

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m
}

func callsTotal(m *Metrics, source, op, result string) float64 {
	return testutil.ToFloat64(m.calls.WithLabelValues(source, op, result))
}

func TestCoalescing(t *testing.T) {
	tests := []struct {
		name      string
		ids       int
		perID     int
		wantCalls int64
	}{
		{name: "100 callers one id share one call", ids: 1, perID: 100, wantCalls: 1},
		{name: "different ids get separate calls", ids: 5, perID: 20, wantCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			entered := make(chan string, tt.ids*tt.perID)
			release := make(chan struct{})
			m := newTestMetrics(t)
			g := New(gatedSource(&calls, entered, release), Options{Name: "fake", Metrics: m}) // cache off

			var wg sync.WaitGroup
			errs := make(chan error, tt.ids*tt.perID)
			for i := range tt.ids {
				id := fmt.Sprintf("10%02d", i)
				for range tt.perID {
					wg.Go(func() {
						got, err := g.PendingCharges(t.Context(), id)
						switch {
						case err != nil:
							errs <- err
						case len(got) != 1 || got[0].IDNumber != id:
							errs <- fmt.Errorf("got %+v, want the charge of %s", got, id)
						}
					})
				}
			}
			for range tt.wantCalls {
				<-entered
			}
			letWaitersJoin()
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("got %d calls to the source, want %d", got, tt.wantCalls)
			}
			if got := callsTotal(m, "fake", "pending_charges", "ok"); got != float64(tt.wantCalls) {
				t.Errorf("got ok = %v, want %d", got, tt.wantCalls)
			}
			wantCoalesced := float64(tt.ids*tt.perID) - float64(tt.wantCalls)
			if got := callsTotal(m, "fake", "pending_charges", "coalesced"); got != wantCoalesced {
				t.Errorf("got coalesced = %v, want %v", got, wantCoalesced)
			}
		})
	}
}

// An in-memory source is called by each caller itself: two concurrent
// lookups of one customer are two calls, both under way at once, and a
// panic is still an ErrUnavailable. Its answers are still cached.
func TestInMemorySourceIsCalledDirectly(t *testing.T) {
	var inFlight, most, calls atomic.Int32
	both := make(chan struct{})
	var once sync.Once
	inner := &fakeSource{pending: func(_ context.Context, id string) ([]erp.Charge, error) {
		calls.Add(1)
		if id == "666" {
			panic("bug")
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > most.Load() {
			most.Store(n)
		}
		if n == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(time.Second):
		}
		return []erp.Charge{{RefPayment: "R-" + id}}, nil
	}}
	g := New(inner, Options{InMemory: true})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			got, err := g.PendingCharges(t.Context(), "1001")
			if err != nil || len(got) != 1 || got[0].RefPayment != "R-1001" {
				t.Errorf("got %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if most.Load() != 2 {
		t.Errorf("at most %d calls at once, want 2 (no coalescing)", most.Load())
	}
	if _, err := g.PendingCharges(t.Context(), "666"); !errors.Is(err, erp.ErrUnavailable) {
		t.Errorf("panicking in-memory source: got %v, want ErrUnavailable", err)
	}

	cached := New(inner, Options{CacheTTL: time.Minute})
	calls.Store(0)
	for range 3 {
		if _, err := cached.PendingCharges(t.Context(), "2002"); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("cached in-memory source called %d times, want 1", calls.Load())
	}
}

func TestFirstCallerCancelledOthersStillAnswered(t *testing.T) {
	var calls atomic.Int64
	entered := make(chan string, 1)
	release := make(chan struct{})
	var innerErr atomic.Value // the inner ctx's Err when it answered
	inner := gatedSource(&calls, entered, release)
	pending := inner.pending
	inner.pending = func(ctx context.Context, id string) ([]erp.Charge, error) {
		cs, err := pending(ctx, id)
		innerErr.Store(fmt.Sprint(ctx.Err()))
		return cs, err
	}
	clock := newFakeClock()
	g := New(inner, Options{CacheTTL: time.Minute, Now: clock.Now})

	firstCtx, cancelFirst := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := g.PendingCharges(firstCtx, "1001")
		firstErr <- err
	}()
	<-entered // the first caller's call is in flight

	second := make(chan error, 1)
	var secondGot []erp.Charge
	go func() {
		var err error
		secondGot, err = g.PendingCharges(t.Context(), "1001")
		second <- err
	}()
	letWaitersJoin()

	cancelFirst()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: got %v, want context.Canceled", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller: got %v, want the answer", err)
	}
	if len(secondGot) != 1 || secondGot[0].RefPayment != "REF-1001" {
		t.Errorf("second caller: got %+v, want REF-1001", secondGot)
	}
	if got := innerErr.Load(); got != "<nil>" {
		t.Errorf("source's ctx: got Err %v, want nil (not cancelled with the first caller)", got)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("got %d calls to the source, want 1", got)
	}
	// The shared call's answer was cached even though its starter left.
	if _, err := g.PendingCharges(t.Context(), "1001"); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("after the cached lookup: got %d calls, want 1", got)
	}
}

// TestJoinerOutlivesLeadersDeadline: a caller that joined a call whose
// starter's deadline ran out asks again under its own deadline; a shared
// failure that is not a deadline is not asked again.
func TestJoinerOutlivesLeadersDeadline(t *testing.T) {
	var calls atomic.Int64
	entered := make(chan struct{}, 2)
	failWith := make(chan error, 1)
	inner := &fakeSource{pending: func(ctx context.Context, id string) ([]erp.Charge, error) {
		if calls.Add(1) > 1 {
			return charges(id), nil
		}
		entered <- struct{}{}
		select {
		case err := <-failWith:
			return nil, err
		case <-ctx.Done():
			return nil, fmt.Errorf("fake: %w: %w", erp.ErrUnavailable, ctx.Err())
		}
	}}
	// lookUpAlongside: a leader's call under leaderCtx, a joiner without a
	// deadline, then the call fails with fail if it is set.
	lookUpAlongside := func(g *Source, leaderCtx context.Context, fail error) (leaderErr, joinerErr error, joinerGot []erp.Charge) {
		leader := make(chan error, 1)
		go func() {
			_, err := g.PendingCharges(leaderCtx, "1001")
			leader <- err
		}()
		<-entered
		joiner := make(chan error, 1)
		go func() {
			var err error
			joinerGot, err = g.PendingCharges(t.Context(), "1001")
			joiner <- err
		}()
		letWaitersJoin()
		if fail != nil {
			failWith <- fail
		}
		return <-leader, <-joiner, joinerGot
	}

	leaderCtx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	leaderErr, joinerErr, got := lookUpAlongside(New(inner, Options{}), leaderCtx, nil)
	if !errors.Is(leaderErr, context.DeadlineExceeded) {
		t.Fatalf("leader: %v, want its deadline", leaderErr)
	}
	if joinerErr != nil || len(got) != 1 || got[0].RefPayment != "REF-1001" {
		t.Fatalf("joiner: %v %+v, want the answer of a call of its own", joinerErr, got)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls to the source, want 2", n)
	}

	calls.Store(0)
	leaderErr, joinerErr, _ = lookUpAlongside(New(inner, Options{}), t.Context(), fmt.Errorf("fake: status 500: %w", erp.ErrUnavailable))
	if leaderErr == nil || joinerErr == nil {
		t.Fatalf("leader %v, joiner %v: want both to share the failure", leaderErr, joinerErr)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls after a shared failure that is not a deadline, want 1", n)
	}
}

func TestCallerDeadline(t *testing.T) {
	var sawDeadline atomic.Bool
	inner := &fakeSource{pending: func(ctx context.Context, _ string) ([]erp.Charge, error) {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		<-ctx.Done()
		return nil, ctx.Err() // a careless adapter: bare, not wrapping ErrUnavailable
	}}
	g := New(inner, Options{})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := g.PendingCharges(ctx, "1001")
	if !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if !sawDeadline.Load() {
		t.Error("source's ctx had no deadline, want the caller's")
	}
}

// The core calls the guard directly, on the request's goroutine: a source
// that ignores its context must still not hold the caller.
func TestBoundedEvenWhenSourceIgnoresContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	inner := &fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
		<-release
		return nil, nil
	}}
	var src erp.Source = New(inner, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := src.PendingCharges(ctx, "1001")
	if !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("returned after %s, want at the 20ms deadline", waited)
	}
}

func TestCallTimeoutWhenCallerHasNoDeadline(t *testing.T) {
	inner := &fakeSource{pending: func(ctx context.Context, _ string) ([]erp.Charge, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("fake: %w: %w", erp.ErrUnavailable, ctx.Err())
	}}
	g := New(inner, Options{CallTimeout: 20 * time.Millisecond})
	_, err := g.PendingCharges(context.Background(), "1001")
	if !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

// CallTimeout is the lookup's deadline even for a caller willing to wait
// longer, and the caller is answered by then whatever the source does.
func TestCallTimeoutBoundsACallerWithALaterDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name    string
		pending func(ctx context.Context, _ string) ([]erp.Charge, error)
	}{
		{"honours its context", func(ctx context.Context, _ string) ([]erp.Charge, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
		{"ignores its context", func(context.Context, string) ([]erp.Charge, error) {
			<-release
			return nil, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(&fakeSource{pending: tt.pending}, Options{CallTimeout: 20 * time.Millisecond})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err := g.PendingCharges(ctx, "1001")
			if !errors.Is(err, erp.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
			}
			if waited := time.Since(start); waited > time.Second {
				t.Errorf("returned after %s, want at the 20ms CallTimeout", waited)
			}
		})
	}
}

func TestCache(t *testing.T) {
	errBoom := errors.New("boom")
	type step struct {
		advance   time.Duration
		id        string
		wantCalls int64 // calls to the source so far, after this lookup
		wantErr   error
	}
	tests := []struct {
		name    string
		ttl     time.Duration
		max     int
		failIDs map[string]bool // the source fails for these ids
		steps   []step
	}{
		{
			name: "hit within ttl",
			ttl:  30 * time.Second,
			steps: []step{
				{id: "1", wantCalls: 1},
				{advance: 29 * time.Second, id: "1", wantCalls: 1},
			},
		},
		{
			name: "miss after ttl",
			ttl:  30 * time.Second,
			steps: []step{
				{id: "1", wantCalls: 1},
				{advance: 30 * time.Second, id: "1", wantCalls: 2},
				{advance: time.Second, id: "1", wantCalls: 2},
			},
		},
		{
			name:    "errors not cached",
			ttl:     30 * time.Second,
			failIDs: map[string]bool{"1": true},
			steps: []step{
				{id: "1", wantCalls: 1, wantErr: errBoom},
				{id: "1", wantCalls: 2, wantErr: errBoom},
			},
		},
		{
			name: "ttl 0 turns the cache off",
			steps: []step{
				{id: "1", wantCalls: 1},
				{id: "1", wantCalls: 2},
			},
		},
		{
			name: "least recently used evicted",
			ttl:  time.Minute,
			max:  2,
			steps: []step{
				{id: "a", wantCalls: 1},
				{id: "b", wantCalls: 2},
				{id: "a", wantCalls: 2}, // a is now the most recently used
				{id: "c", wantCalls: 3}, // evicts b
				{id: "a", wantCalls: 3},
				{id: "c", wantCalls: 3},
				{id: "b", wantCalls: 4},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			inner := &fakeSource{pending: func(_ context.Context, id string) ([]erp.Charge, error) {
				calls.Add(1)
				if tt.failIDs[id] {
					return nil, errBoom
				}
				return charges(id), nil
			}}
			clock := newFakeClock()
			g := New(inner, Options{CacheTTL: tt.ttl, CacheMaxEntries: tt.max, Now: clock.Now})
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				got, err := g.PendingCharges(t.Context(), s.id)
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: got error %v, want %v", i, err, s.wantErr)
				}
				if err == nil && (len(got) != 1 || got[0].IDNumber != s.id) {
					t.Fatalf("step %d: got %+v, want the charge of %s", i, got, s.id)
				}
				if n := calls.Load(); n != s.wantCalls {
					t.Fatalf("step %d: got %d calls to the source, want %d", i, n, s.wantCalls)
				}
			}
			if tt.max > 0 && g.cache.len() > tt.max {
				t.Errorf("got %d cached entries, want at most %d", g.cache.len(), tt.max)
			}
		})
	}
}

func TestCacheReturnsCopies(t *testing.T) {
	var calls atomic.Int64
	clock := newFakeClock()
	g := New(countingSource(&calls), Options{CacheTTL: time.Minute, Now: clock.Now})

	first, err := g.PendingCharges(t.Context(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	first[0].RefPayment = "MUTATED"
	_ = append(first[:0], erp.Charge{RefPayment: "APPENDED"})

	second, err := g.PendingCharges(t.Context(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	if second[0].RefPayment != "REF-1001" {
		t.Errorf("got %q from the cache, want REF-1001 (a caller's change leaked in)", second[0].RefPayment)
	}
	if calls.Load() != 1 {
		t.Errorf("got %d calls, want 1", calls.Load())
	}
}

func TestEmptyAnswerIsEmptySliceAndCached(t *testing.T) {
	var calls atomic.Int64
	inner := &fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
		calls.Add(1)
		return nil, nil
	}}
	g := New(inner, Options{CacheTTL: time.Minute, Now: newFakeClock().Now})
	for range 2 {
		got, err := g.PendingCharges(t.Context(), "1001")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("got %#v, %v; want an empty non-nil slice, nil", got, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("got %d calls, want 1", calls.Load())
	}
}

// fakeReverser adds erp.ReversalRecorder; fakeSwitchedReverser a CanReverse
// of its own.
type fakeReverser struct {
	fakeRecorder
	reverse func(ctx context.Context, r erp.Reversal) error
}

func (f *fakeReverser) RecordReversal(ctx context.Context, r erp.Reversal) error {
	return f.reverse(ctx, r)
}

type fakeSwitchedReverser struct {
	fakeReverser
	canReverse bool
}

func (f *fakeSwitchedReverser) CanReverse() bool { return f.canReverse }

func TestRecordReversal(t *testing.T) {
	var calls atomic.Int64
	var reversed atomic.Int64
	reverser := func() fakeReverser {
		return fakeReverser{
			fakeRecorder: fakeRecorder{fakeSource: *countingSource(&calls), record: func(context.Context, erp.Payment) error { return nil }},
			reverse:      func(context.Context, erp.Reversal) error { reversed.Add(1); return nil },
		}
	}
	plain := &fakeRecorder{fakeSource: *countingSource(&calls), record: func(context.Context, erp.Payment) error { return nil }}
	on, off := reverser(), &fakeSwitchedReverser{fakeReverser: reverser()}
	tests := []struct {
		name        string
		src         erp.Source
		wantCan     bool
		wantErr     error
		wantReverse int64
	}{
		{"delegates", &on, true, nil, 1},
		{"records payments only", plain, false, erp.ErrUnsupported, 0},
		{"own CanReverse false", off, false, erp.ErrUnsupported, 0},
		{"nested guard", New(&on, Options{}), true, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reversed.Store(0)
			reg := prometheus.NewRegistry()
			m, err := NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			g := New(tt.src, Options{CacheTTL: time.Minute, Now: newFakeClock().Now, Metrics: m, Name: "x"})
			if got := g.CanReverse(); got != tt.wantCan {
				t.Errorf("CanReverse: got %v, want %v", got, tt.wantCan)
			}
			if got := erp.CanReverse(g); got != tt.wantCan {
				t.Errorf("erp.CanReverse: got %v, want %v", got, tt.wantCan)
			}
			if _, err := g.PendingCharges(t.Context(), "1001"); err != nil {
				t.Fatal(err)
			}
			before := calls.Load()
			err = g.RecordReversal(t.Context(), erp.Reversal{IDNumber: "1001", TransactionID: "tx-1"})
			if (tt.wantErr == nil && err != nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("RecordReversal: got %v, want %v", err, tt.wantErr)
			}
			if got := reversed.Load(); got != tt.wantReverse {
				t.Errorf("reversals reaching the source: got %d, want %d", got, tt.wantReverse)
			}
			if tt.wantErr == nil {
				// The reversed charge is owed again: the lookup asks the ERP.
				if _, err := g.PendingCharges(t.Context(), "1001"); err != nil {
					t.Fatal(err)
				}
				if calls.Load() != before+1 {
					t.Errorf("lookup after the reversal answered from the cache, want a fresh call")
				}
				if got := callsTotal(m, "x", "record_reversal", "ok"); got != 1 {
					t.Errorf("calls_total{op=record_reversal,result=ok}: got %v, want 1", got)
				}
			}
		})
	}
}

func TestRecordPaymentInvalidatesCache(t *testing.T) {
	var calls atomic.Int64
	inner := &fakeRecorder{
		fakeSource: *countingSource(&calls),
		record:     func(context.Context, erp.Payment) error { return nil },
	}
	g := New(inner, Options{CacheTTL: time.Minute, Now: newFakeClock().Now})

	for _, id := range []string{"1001", "2002"} {
		if _, err := g.PendingCharges(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.RecordPayment(t.Context(), erp.Payment{IDNumber: "1001", TransactionID: "tx-1"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1001", "2002"} {
		if _, err := g.PendingCharges(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("got %d calls, want 3 (1001 asked again after its payment, 2002 still cached)", got)
	}
}

func TestLookupInFlightDuringPaymentIsNotCached(t *testing.T) {
	var calls atomic.Int64
	entered := make(chan string, 1)
	release := make(chan struct{})
	inner := &fakeRecorder{
		fakeSource: *gatedSource(&calls, entered, release),
		record:     func(context.Context, erp.Payment) error { return nil },
	}
	g := New(inner, Options{CacheTTL: time.Minute, Now: newFakeClock().Now})

	done := make(chan error, 1)
	go func() {
		_, err := g.PendingCharges(t.Context(), "1001")
		done <- err
	}()
	<-entered
	if err := g.RecordPayment(t.Context(), erp.Payment{IDNumber: "1001"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := g.PendingCharges(t.Context(), "1001"); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("got %d calls, want 2 (the answer begun before the payment must not be cached)", got)
	}
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	var calls atomic.Int64
	var failing atomic.Bool
	failing.Store(true)
	inner := &fakeSource{pending: func(_ context.Context, id string) ([]erp.Charge, error) {
		calls.Add(1)
		if failing.Load() {
			return nil, fmt.Errorf("fake: connection refused: %w", erp.ErrUnavailable)
		}
		return charges(id), nil
	}}
	m := newTestMetrics(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	const openTimeout = 50 * time.Millisecond
	g := New(inner, Options{
		Name:    "fake",
		Metrics: m,
		Logger:  logger,
		Breaker: BreakerOptions{FailureThreshold: 3, OpenTimeout: openTimeout},
	})

	for i := range 3 {
		_, err := g.PendingCharges(t.Context(), "1001")
		if !errors.Is(err, erp.ErrUnavailable) || errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("failure %d: got %v, want ErrUnavailable from the source", i, err)
		}
	}
	if got := testutil.ToFloat64(m.state.WithLabelValues("fake")); got != 2 {
		t.Errorf("got circuit state %v, want 2 (open)", got)
	}

	_, err := g.PendingCharges(t.Context(), "1001")
	if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, erp.ErrUnavailable) {
		t.Fatalf("while open: got %v, want ErrCircuitOpen and ErrUnavailable", err)
	}
	if got := calls.Load(); got != 3 {
		t.Fatalf("while open: got %d calls to the source, want 3 (refused before reaching it)", got)
	}
	if got := callsTotal(m, "fake", "pending_charges", "circuit_open"); got != 1 {
		t.Errorf("got circuit_open = %v, want 1", got)
	}
	if got := callsTotal(m, "fake", "pending_charges", "unavailable"); got != 3 {
		t.Errorf("got unavailable = %v, want 3", got)
	}

	failing.Store(false)
	time.Sleep(openTimeout + 20*time.Millisecond)
	got, err := g.PendingCharges(t.Context(), "1001")
	if err != nil || len(got) != 1 {
		t.Fatalf("probe after the open timeout: got %v, %v; want the answer", got, err)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("got %d calls, want 4 (the probe reached the source)", got)
	}
	if got := testutil.ToFloat64(m.state.WithLabelValues("fake")); got != 0 {
		t.Errorf("got circuit state %v, want 0 (closed)", got)
	}
	for _, want := range []string{
		`level=WARN msg="erp circuit breaker changed state" source=fake from=closed to=open`,
		`source=fake from=open to=half-open`,
		`source=fake from=half-open to=closed`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs %q: want a line with %q", logs.String(), want)
		}
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	var calls atomic.Int64
	inner := &fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
		calls.Add(1)
		return nil, erp.ErrUnavailable
	}}
	const openTimeout = 50 * time.Millisecond
	g := New(inner, Options{Breaker: BreakerOptions{FailureThreshold: 1, OpenTimeout: openTimeout}})

	_, _ = g.PendingCharges(t.Context(), "1001") // opens
	time.Sleep(openTimeout + 20*time.Millisecond)
	if _, err := g.PendingCharges(t.Context(), "1001"); errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("probe: got %v, want the source's own error", err)
	}
	if _, err := g.PendingCharges(t.Context(), "1001"); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after a failed probe: got %v, want ErrCircuitOpen", err)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("got %d calls, want 2", got)
	}
}

func TestBreakerIgnoresWhatIsNotAnOutage(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{name: "source reports context.Canceled", err: fmt.Errorf("fake: %w: %w", erp.ErrUnavailable, context.Canceled)},
		{name: "source answered with another error", err: errors.New("fake: bad id number")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			inner := &fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
				calls.Add(1)
				return nil, tt.err
			}}
			g := New(inner, Options{Breaker: BreakerOptions{FailureThreshold: 2}})
			for range 5 {
				if _, err := g.PendingCharges(t.Context(), "1001"); errors.Is(err, ErrCircuitOpen) {
					t.Fatalf("got %v, want the circuit to stay closed", err)
				}
			}
			if got := calls.Load(); got != 5 {
				t.Errorf("got %d calls, want 5", got)
			}
		})
	}
}

// A cancellation says nothing about the ERP: it neither counts as a failure
// nor, like a success would, resets the run of failures.
func TestBreakerCancellationDoesNotResetFailures(t *testing.T) {
	answers := []error{
		erp.ErrUnavailable,
		erp.ErrUnavailable,
		fmt.Errorf("fake: %w: %w", erp.ErrUnavailable, context.Canceled),
		erp.ErrUnavailable,
	}
	var calls atomic.Int64
	inner := &fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
		if n := calls.Add(1); n <= int64(len(answers)) {
			return nil, answers[n-1]
		}
		return nil, nil
	}}
	g := New(inner, Options{Breaker: BreakerOptions{FailureThreshold: 3}})
	for range answers {
		if _, err := g.PendingCharges(t.Context(), "1001"); errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("got %v before the third failure, want the source's error", err)
		}
	}
	if _, err := g.PendingCharges(t.Context(), "1001"); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("got %v, want ErrCircuitOpen after 3 failures around a cancellation", err)
	}
}

func TestBreakerIgnoresCallersLeaving(t *testing.T) {
	var calls atomic.Int64
	entered := make(chan string, 10)
	release := make(chan struct{})
	g := New(gatedSource(&calls, entered, release), Options{Breaker: BreakerOptions{FailureThreshold: 2}})

	for _, id := range []string{"1001", "1002", "1003"} {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := g.PendingCharges(ctx, id)
			done <- err
		}()
		<-entered
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, erp.ErrUnavailable) {
			t.Fatalf("got %v, want context.Canceled alone", err)
		}
	}
	close(release)
	if _, err := g.PendingCharges(t.Context(), "1004"); err != nil {
		t.Fatalf("got %v, want the answer (closed circuit)", err)
	}
}

func TestBreakerCountsDeadlines(t *testing.T) {
	inner := &fakeSource{pending: func(ctx context.Context, _ string) ([]erp.Charge, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	g := New(inner, Options{Breaker: BreakerOptions{FailureThreshold: 2}})
	// Different ids, so that no lookup joins a call still finishing.
	for _, id := range []string{"1001", "1002"} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		_, err := g.PendingCharges(ctx, id)
		cancel()
		if !errors.Is(err, erp.ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	}
	// The caller may return on its own deadline a moment before the shared
	// call reports to the breaker.
	eventually(t, func() bool { return g.breaker.State() == gobreaker.StateOpen })
	if _, err := g.PendingCharges(t.Context(), "1003"); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("got %v, want ErrCircuitOpen after 2 deadlines", err)
	}
}

// eventually waits up to a second for cond.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 1s")
}

func TestOptionalAbilities(t *testing.T) {
	errBoom := errors.New("boom")
	pending := func(context.Context, string) ([]erp.Charge, error) { return nil, nil }
	var recorded []erp.Payment
	var recordMu sync.Mutex

	plain := &fakeSource{pending: pending}
	recorder := &fakeRecorder{
		fakeSource: fakeSource{pending: pending},
		record: func(_ context.Context, p erp.Payment) error {
			recordMu.Lock()
			defer recordMu.Unlock()
			recorded = append(recorded, p)
			return nil
		},
	}
	failingRecorder := &fakeRecorder{
		fakeSource: fakeSource{pending: pending},
		record:     func(context.Context, erp.Payment) error { return fmt.Errorf("fake: %w", erp.ErrUnavailable) },
	}
	switchedOff := &fakeSwitchedRecorder{fakeRecorder: *recorder, canRecord: false}
	switchedOn := &fakeSwitchedRecorder{fakeRecorder: *recorder, canRecord: true}
	checker := &fakeChecker{fakeSource: fakeSource{pending: pending}, check: func(context.Context) error { return errBoom }}
	healthy := &fakeChecker{fakeSource: fakeSource{pending: pending}, check: func(context.Context) error { return nil }}

	t.Run("RecordPayment", func(t *testing.T) {
		tests := []struct {
			name          string
			src           erp.Source
			wantCanRecord bool
			wantErr       error
			wantRecorded  int
		}{
			{name: "delegates", src: recorder, wantCanRecord: true, wantRecorded: 1},
			{name: "source without it", src: plain, wantErr: erp.ErrUnsupported},
			{name: "source's error kept", src: failingRecorder, wantCanRecord: true, wantErr: erp.ErrUnavailable},
			{name: "own CanRecord false", src: switchedOff, wantErr: erp.ErrUnsupported},
			{name: "own CanRecord true", src: switchedOn, wantCanRecord: true, wantRecorded: 1},
			{name: "nested guard", src: New(recorder, Options{}), wantCanRecord: true, wantRecorded: 1},
			{name: "nested guard without it", src: New(plain, Options{}), wantErr: erp.ErrUnsupported},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				recordMu.Lock()
				recorded = nil
				recordMu.Unlock()
				g := New(tt.src, Options{})
				if got := g.CanRecord(); got != tt.wantCanRecord {
					t.Errorf("CanRecord: got %v, want %v", got, tt.wantCanRecord)
				}
				err := g.RecordPayment(t.Context(), erp.Payment{TransactionID: "tx-1"})
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
				recordMu.Lock()
				defer recordMu.Unlock()
				if len(recorded) != tt.wantRecorded {
					t.Errorf("got %d payments recorded, want %d", len(recorded), tt.wantRecorded)
				}
				if tt.wantRecorded == 1 && recorded[0].TransactionID != "tx-1" {
					t.Errorf("got %+v, want tx-1", recorded[0])
				}
			})
		}
	})

	t.Run("Check", func(t *testing.T) {
		tests := []struct {
			name    string
			src     erp.Source
			wantErr error
		}{
			{name: "delegates the error", src: checker, wantErr: errBoom},
			{name: "delegates success", src: healthy},
			{name: "source without it", src: plain, wantErr: erp.ErrUnsupported},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := New(tt.src, Options{}).Check(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
			})
		}
	})

	t.Run("Unwrap", func(t *testing.T) {
		if got := New(plain, Options{}).Unwrap(); got != plain {
			t.Errorf("got %v, want the wrapped source", got)
		}
	})
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// A second NewMetrics on the same registry shares the collectors.
	m2, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("second NewMetrics: got %v, want nil", err)
	}

	var calls atomic.Int64
	clock := newFakeClock()
	a := New(&fakeRecorder{
		fakeSource: *countingSource(&calls),
		record:     func(context.Context, erp.Payment) error { return fmt.Errorf("fake: %w", erp.ErrUnavailable) },
	}, Options{Name: "a", Metrics: m, CacheTTL: time.Minute, Now: clock.Now})
	b := New(&fakeChecker{
		fakeSource: fakeSource{pending: func(context.Context, string) ([]erp.Charge, error) {
			return nil, errors.New("fake: garbage")
		}},
		check: func(context.Context) error { return nil },
	}, Options{Name: "b", Metrics: m2})

	for range 3 {
		if _, err := a.PendingCharges(t.Context(), "1001"); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.RecordPayment(t.Context(), erp.Payment{IDNumber: "1001"})
	_, _ = b.PendingCharges(t.Context(), "1001")
	_ = b.Check(t.Context())
	_ = b.RecordPayment(t.Context(), erp.Payment{}) // unsupported: not counted

	tests := []struct {
		source, op, result string
		want               float64
	}{
		{"a", "pending_charges", "ok", 1},
		{"a", "pending_charges", "cache_hit", 2},
		{"a", "record_payment", "unavailable", 1},
		{"b", "pending_charges", "error", 1},
		{"b", "check", "ok", 1},
		{"b", "record_payment", "error", 0},
	}
	for _, tt := range tests {
		if got := callsTotal(m, tt.source, tt.op, tt.result); got != tt.want {
			t.Errorf("calls_total{source=%q,op=%q,result=%q}: got %v, want %v", tt.source, tt.op, tt.result, got, tt.want)
		}
	}

	wantState := `
# HELP recauda_erp_circuit_state State of the source's circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE recauda_erp_circuit_state gauge
recauda_erp_circuit_state{source="a"} 0
recauda_erp_circuit_state{source="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantState), "recauda_erp_circuit_state"); err != nil {
		t.Error(err)
	}
	// Durations are observed only for calls that reached the source.
	counts := map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "recauda_erp_call_duration_seconds" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			var labels []string
			for _, l := range metric.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			counts[strings.Join(labels, "/")] = metric.GetHistogram().GetSampleCount()
		}
	}
	for key, want := range map[string]uint64{
		"pending_charges/a": 1, "record_payment/a": 1, "check/a": 0,
		"pending_charges/b": 1, "record_payment/b": 0, "check/b": 1,
	} {
		if got := counts[key]; got != want {
			t.Errorf("duration samples %s: got %d, want %d", key, got, want)
		}
	}
}

func TestNoMetricsNoLogger(t *testing.T) {
	var calls atomic.Int64
	g := New(countingSource(&calls), Options{}) // every field zero
	if _, err := g.PendingCharges(t.Context(), "1001"); err != nil {
		t.Fatal(err)
	}
	if err := g.Check(t.Context()); !errors.Is(err, erp.ErrUnsupported) {
		t.Errorf("got %v, want ErrUnsupported", err)
	}
}

func BenchmarkCacheHit(b *testing.B) {
	var calls atomic.Int64
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	g := New(countingSource(&calls), Options{Name: "bench", CacheTTL: time.Hour, Metrics: m})
	ctx := context.Background()
	if _, err := g.PendingCharges(ctx, "1001"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.PendingCharges(ctx, "1001"); err != nil {
			b.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		b.Fatalf("got %d calls, want 1", calls.Load())
	}
}
