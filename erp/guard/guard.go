// Package guard wraps every erp.Source in the protections the lookup path
// needs whatever the adapter: every lookup answers by its deadline (the
// ERP timeout) even when the adapter ignores its context, a panicking
// adapter is an unavailable ERP, concurrent lookups for the same customer
// share one call, successful answers are cached for a short time, a circuit
// breaker stops asking an ERP that keeps failing, and every call is
// measured. It is the only owner of these protections: the core trusts
// that its source is guarded and calls it directly.
//
// The core builds one guard per source and only ever talks to the guard:
//
//	metrics, err := guard.NewMetrics(registry) // once per registry
//	src := guard.New(adapter, guard.Options{Name: "file", CallTimeout: 3 * time.Second, CacheTTL: 30 * time.Second, Metrics: metrics, Logger: log})
//
// A guard forwards the optional abilities (erp.PaymentRecorder,
// erp.ReversalRecorder, erp.HealthChecker) of what it wraps, answering erp.ErrUnsupported when the
// wrapped source lacks them, so the core never needs to unwrap it.
package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"
	"golang.org/x/sync/singleflight"

	"recauda-bridge/erp"
)

// ErrCircuitOpen means the guard refused to ask the source because its circuit
// breaker is open (or half-open with its probes already in flight). Errors
// carrying it also wrap erp.ErrUnavailable, so the core answers 503 without
// knowing about the breaker; errors.Is tells the two apart when it matters.
var ErrCircuitOpen = errors.New("erp circuit open")

// Defaults applied by New to zero-valued Options.
const (
	DefaultName                = "erp"
	DefaultCacheMaxEntries     = 10_000
	DefaultFailureThreshold    = 5
	DefaultOpenTimeout         = 10 * time.Second
	DefaultHalfOpenMaxRequests = 1
	DefaultCallTimeout         = 15 * time.Second
)

// Options configures a guard. The zero value is usable: no cache, no metrics,
// logs discarded, breaker with the defaults above.
type Options struct {
	// Name identifies the source in metrics and logs. It must be unique among
	// the guards that share one Metrics, or their series merge. Default "erp".
	Name string
	// CacheTTL is how long a successful answer is served from memory.
	// 0 turns the cache off (lookups are still coalesced).
	CacheTTL time.Duration
	// CacheMaxEntries bounds the cache; the least recently used customer is
	// evicted first. 0 means DefaultCacheMaxEntries.
	CacheMaxEntries int
	// Breaker configures the circuit breaker around PendingCharges.
	Breaker BreakerOptions
	// CallTimeout bounds each lookup (ERP_TIMEOUT): the source is asked under
	// the caller's deadline or CallTimeout from now, whichever comes first,
	// and the caller gets its answer by then whatever the source does. An
	// InMemory source is not bounded: it answers at once. 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// InMemory says that the source answers from memory at once, without
	// I/O or waiting (erp/file, erp/demo): it is called on the caller's
	// goroutine, without a timeout or coalescing, which would cost more
	// than they save.
	InMemory bool
	// Metrics receives the guard's measurements; nil means none. Build it once
	// per registry with NewMetrics and pass the same value to every guard: a
	// guard takes a *Metrics rather than a prometheus.Registerer so that two
	// guards never try to register the same collectors twice.
	Metrics *Metrics
	// Logger receives a warning whenever the breaker changes state; nil
	// discards.
	Logger *slog.Logger
	// Now is the cache's clock; nil means time.Now. The breaker keeps its own
	// wall clock (gobreaker does not take one).
	Now func() time.Time
}

// BreakerOptions configures the circuit breaker. Only errors wrapping
// erp.ErrUnavailable or context.DeadlineExceeded count as failures; a
// context.Canceled is ignored (it says the caller left, not that the ERP is
// down) and any other error counts as a success (the ERP answered).
type BreakerOptions struct {
	// FailureThreshold is how many consecutive failures open the circuit.
	// 0 means DefaultFailureThreshold.
	FailureThreshold uint32
	// OpenTimeout is how long the circuit stays open before it lets a probe
	// through (half-open). 0 means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is how many probes may run while half-open; that many
	// consecutive successes close the circuit, one failure opens it again.
	// 0 means DefaultHalfOpenMaxRequests.
	HalfOpenMaxRequests uint32
}

// Source is an erp.Source wrapped by a guard. It is safe for concurrent use.
type Source struct {
	src         erp.Source
	name        string
	callTimeout time.Duration
	cache       *cache // nil when the cache is off
	group       singleflight.Group
	breaker     *gobreaker.CircuitBreaker[[]erp.Charge]
	metrics     *sourceMetrics // nil when there are no metrics
	logger      *slog.Logger
	// inMemory: Options.InMemory.
	inMemory bool
}

var (
	_ erp.Source           = (*Source)(nil)
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)

// New wraps src. Zero fields of opts take the defaults documented on Options.
func New(src erp.Source, opts Options) *Source {
	s := &Source{
		src:         src,
		name:        opts.Name,
		callTimeout: opts.CallTimeout,
		logger:      opts.Logger,
		inMemory:    opts.InMemory,
	}
	if s.name == "" {
		s.name = DefaultName
	}
	if s.callTimeout <= 0 {
		s.callTimeout = DefaultCallTimeout
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if opts.CacheTTL > 0 {
		now := opts.Now
		if now == nil {
			now = time.Now
		}
		maxEntries := opts.CacheMaxEntries
		if maxEntries <= 0 {
			maxEntries = DefaultCacheMaxEntries
		}
		s.cache = newCache(opts.CacheTTL, maxEntries, now)
	}
	if opts.Metrics != nil {
		s.metrics = opts.Metrics.forSource(s.name)
	}

	b := opts.Breaker
	if b.FailureThreshold == 0 {
		b.FailureThreshold = DefaultFailureThreshold
	}
	if b.OpenTimeout <= 0 {
		b.OpenTimeout = DefaultOpenTimeout
	}
	if b.HalfOpenMaxRequests == 0 {
		b.HalfOpenMaxRequests = DefaultHalfOpenMaxRequests
	}
	s.breaker = gobreaker.NewCircuitBreaker[[]erp.Charge](gobreaker.Settings{
		Name:        s.name,
		MaxRequests: b.HalfOpenMaxRequests,
		Timeout:     b.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= b.FailureThreshold
		},
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
		IsSuccessful:  func(err error) bool { return !isUnavailable(err) },
		OnStateChange: s.onStateChange,
	})
	return s
}

// Unwrap returns the source the guard wraps.
func (s *Source) Unwrap() erp.Source { return s.src }

// CanRecord reports whether RecordPayment can do anything: the wrapped source
// can record payments (erp.CanRecord).
func (s *Source) CanRecord() bool { return erp.CanRecord(s.src) }

// CanReverse reports whether RecordReversal can do anything: the wrapped
// source records payments and reversals (erp.CanReverse).
func (s *Source) CanReverse() bool {
	return s.CanRecord() && erp.CanReverse(s.src)
}

// PendingCharges answers from the cache when it can; otherwise it asks the
// source through the circuit breaker, sharing the call with every concurrent
// lookup for the same idNumber.
//
// Each caller gets its own copy of the slice, so appending to it or assigning
// its elements is safe. The Charges' own slices and pointers (References,
// Advance, Metadata...) are shared with the cache and other callers and must
// be treated as read-only.
//
// Errors: an error wrapping erp.ErrUnavailable when the source is down, slow
// past the deadline or refused by the open circuit (then also ErrCircuitOpen);
// the caller's ctx.Err(), wrapped, when the caller leaves first.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.callerGone(err)
	}
	if s.cache != nil {
		if charges, ok := s.cache.get(idNumber); ok {
			s.metrics.count(opPendingCharges, resultCacheHit)
			return charges, nil
		}
	}

	// An in-memory source answers at once: no call worth sharing, and no
	// goroutine to hand the lookup to.
	if s.inMemory {
		return s.call(ctx, idNumber)
	}
	// The lookup's deadline: the caller returns by then (DoChan below)
	// whatever the source does, and call turns a panic into an error.
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()

	// The shared call must not die with the caller that started it, or every
	// waiter fails too: each caller waits on its own ctx (DoChan), and fetch
	// runs under context.WithoutCancel(ctx) (keeping the request ID) with the
	// first caller's deadline, which keeps the call bounded. A caller whose
	// joined call ran out of that earlier deadline asks once more under its
	// own, rather than failing for its predecessor's timeout.
	for retried := false; ; retried = true {
		var led bool // written by fn before the result is sent on ch; read only after receiving it
		ch := s.group.DoChan(idNumber, func() (any, error) {
			led = true
			return s.fetch(ctx, idNumber)
		})
		select {
		case r := <-ch:
			if !led {
				s.metrics.count(opPendingCharges, resultCoalesced)
			}
			if r.Err != nil {
				if !led && !retried && ctx.Err() == nil && errors.Is(r.Err, context.DeadlineExceeded) {
					continue
				}
				return nil, r.Err
			}
			return cloneCharges(r.Val.([]erp.Charge)), nil
		case <-ctx.Done():
			return nil, s.callerGone(ctx.Err())
		}
	}
}

// fetch makes the one call to the source that concurrent lookups share,
// under ctx's deadline (PendingCharges gives it one). Its result is never
// handed out as is: each caller takes its own copy.
func (s *Source) fetch(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	deadline, _ := ctx.Deadline()
	callCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	return s.call(callCtx, idNumber)
}

// call asks the source through the breaker under ctx, counts and times the
// call, and caches a copy of the answer.
func (s *Source) call(callCtx context.Context, idNumber string) ([]erp.Charge, error) {
	var gen uint64
	if s.cache != nil {
		gen = s.cache.generation()
	}

	var start time.Time
	charges, err := s.breaker.Execute(func() (out []erp.Charge, err error) {
		start = time.Now()
		// A panicking adapter is a failing ERP, not a reason to stop the
		// server: singleflight would re-raise it where nothing can recover.
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("erp source %s panicked: %v: %w", s.name, r, erp.ErrUnavailable)
			}
		}()
		return s.src.PendingCharges(callCtx, idNumber)
	})
	if !start.IsZero() {
		s.metrics.observe(opPendingCharges, time.Since(start))
	}
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		s.metrics.count(opPendingCharges, resultCircuitOpen)
		return nil, fmt.Errorf("erp source %s: %w: %w", s.name, ErrCircuitOpen, erp.ErrUnavailable)
	case err != nil:
		s.metrics.count(opPendingCharges, classify(err))
		return nil, s.wrap("pending charges", err)
	}
	s.metrics.count(opPendingCharges, resultOK)
	if charges == nil {
		charges = []erp.Charge{} // "none pending" is an empty slice, never nil
	}
	if s.cache != nil {
		s.cache.put(idNumber, cloneCharges(charges), gen)
	}
	return charges, nil
}

// RecordPayment forwards p to the wrapped source and drops the customer's
// cached lookup, whose answer the payment makes stale. It answers
// erp.ErrUnsupported when CanRecord is false.
//
// Write-backs do not go through the circuit breaker: the worker that sends
// them already retries with back-off, and a write-back failing must not stop
// lookups (nor the reverse). They are measured like lookups.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	rec, ok := s.src.(erp.PaymentRecorder)
	if !ok || !s.CanRecord() {
		return fmt.Errorf("erp source %s: record payment: %w", s.name, erp.ErrUnsupported)
	}
	return s.record(p.IDNumber, opRecordPayment, "record payment", func() error { return rec.RecordPayment(ctx, p) })
}

// RecordReversal forwards r to the wrapped source and drops the customer's
// cached lookup, in which the reversed charge is missing. It answers
// erp.ErrUnsupported when CanReverse is false. Like RecordPayment, it does
// not go through the circuit breaker.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	rev, ok := s.src.(erp.ReversalRecorder)
	if !ok || !s.CanReverse() {
		return fmt.Errorf("erp source %s: record reversal: %w", s.name, erp.ErrUnsupported)
	}
	return s.record(r.IDNumber, opRecordReversal, "record reversal", func() error { return rev.RecordReversal(ctx, r) })
}

// record runs a write to the ERP about idNumber's charges, measured as op.
// It drops the customer's cache entry whatever the outcome: the ERP may have
// recorded the write even if the answer never came back. Forget makes the
// next lookup start a fresh call instead of joining one begun before it.
func (s *Source) record(idNumber string, o op, what string, write func() error) error {
	if s.cache != nil {
		s.cache.invalidate(idNumber)
	}
	s.group.Forget(idNumber)

	start := time.Now()
	err := write()
	s.metrics.observe(o, time.Since(start))
	s.metrics.count(o, classify(err))
	if err != nil {
		return s.wrap(what, err)
	}
	return nil
}

// Check forwards to the wrapped source's health check, or answers
// erp.ErrUnsupported when it has none (callers decide whether that means
// healthy). It bypasses the breaker so that readiness reflects the ERP itself.
func (s *Source) Check(ctx context.Context) error {
	hc, ok := s.src.(erp.HealthChecker)
	if !ok {
		return fmt.Errorf("erp source %s: check: %w", s.name, erp.ErrUnsupported)
	}
	start := time.Now()
	err := hc.Check(ctx)
	s.metrics.observe(opCheck, time.Since(start))
	s.metrics.count(opCheck, classify(err))
	if err != nil {
		return s.wrap("check", err)
	}
	return nil
}

// wrap adds the source name to err and makes a bare deadline error from the
// source wrap erp.ErrUnavailable too, as the erp.Source contract asks, so the
// core maps it to 503 whichever adapter forgot.
func (s *Source) wrap(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, erp.ErrUnavailable) {
		return fmt.Errorf("erp source %s: %s: %w: %w", s.name, op, erp.ErrUnavailable, err)
	}
	return fmt.Errorf("erp source %s: %s: %w", s.name, op, err)
}

// callerGone is the error for a caller whose ctx ended before the answer. A
// deadline also wraps erp.ErrUnavailable: the ERP did not answer in time.
func (s *Source) callerGone(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("erp source %s: pending charges: %w: %w", s.name, erp.ErrUnavailable, err)
	}
	return fmt.Errorf("erp source %s: pending charges: %w", s.name, err)
}

// onStateChange runs inside the breaker's lock: it must not call the breaker.
func (s *Source) onStateChange(_ string, from, to gobreaker.State) {
	s.metrics.setState(to)
	s.logger.Warn("erp circuit breaker changed state",
		slog.String("source", s.name),
		slog.String("from", from.String()),
		slog.String("to", to.String()),
	)
}

// isUnavailable reports whether err says the ERP could not be asked in time:
// what the breaker counts as a failure.
func isUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, erp.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// cloneCharges returns a new slice holding the same Charges; never nil.
func cloneCharges(charges []erp.Charge) []erp.Charge {
	out := make([]erp.Charge, len(charges))
	copy(out, charges)
	return out
}
