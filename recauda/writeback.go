package recauda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/redact"
	"recauda-bridge/store"
)

// storeWriteTimeout bounds recording a delivery's outcome. It runs even after
// the worker was told to stop: the payment already reached the ERP (or not)
// and the queue must say so.
const storeWriteTimeout = 15 * time.Second

// minWait keeps the worker from spinning when a due time is already past but
// the job is not leasable yet (its lease ends at that very instant).
const minWait = 10 * time.Millisecond

// WorkerConfig tunes the write-back worker. Zero fields take their defaults.
type WorkerConfig struct {
	// MinBackoff is the wait after the first failed attempt (default 1s);
	// each further failure doubles it.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between attempts (default 10m). A job that
	// fails for a reason retrying will not fix (a payload that cannot be
	// decoded, an error not wrapping erp.ErrUnavailable) waits this long.
	MaxBackoff time.Duration
	// Lease is how long a worker owns a job it took (default 1m). If the
	// worker dies, another takes the job when the lease ends. NewWorker
	// raises it to CallTimeout+15s when it is shorter, so a job still in
	// flight is not handed out twice.
	Lease time.Duration
	// Poll is the longest the worker sleeps before looking at the queue
	// again (default 2s); Kick and a known due time wake it earlier.
	Poll time.Duration
	// CallTimeout bounds one RecordPayment call (default 30s).
	CallTimeout time.Duration
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Minute
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 2 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Second
	}
	c.Lease = max(c.Lease, c.CallTimeout+storeWriteTimeout)
	return c
}

// Worker delivers the write-back jobs the webhook side enqueues: each paid
// charge's payment is recorded in the ERP, retried with exponential back-off
// until it succeeds or an operator cancels the job. The queue lives in the
// store, so jobs survive restarts, and several workers (one per replica on
// PostgreSQL) may share it.
//
// Delivery is at least once: a worker that dies after the ERP recorded a
// payment but before the store heard of it leaves a leased job that another
// worker delivers again when the lease ends. That is why
// erp.PaymentRecorder.RecordPayment must be idempotent on the transaction ID,
// which every job carries.
type Worker struct {
	store *store.Store
	rec   erp.PaymentRecorder
	// rev records reversals; nil when the source cannot, and a reversal job
	// then waits for the operator (needs_operator).
	rev    erp.ReversalRecorder
	cfg    WorkerConfig
	now    func() time.Time
	log    *slog.Logger
	jitter func() float64
	kick   chan struct{}
}

// NewWorker wires a Worker. rec is nil when the ERP source cannot record
// payments; such a Worker does nothing (Run returns at once): the webhook
// side enqueues no jobs for such a source. A rec that erp.CanRecord says
// cannot record is treated the same way. When rec is also an erp.ReversalRecorder
// (and erp.CanReverse says so) it records reversals too; otherwise each
// reversal job is handed to the operator.
func NewWorker(st *store.Store, rec erp.PaymentRecorder, cfg WorkerConfig, now func() time.Time, log *slog.Logger) *Worker {
	if rec != nil && !erp.CanRecord(rec) {
		rec = nil
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{
		store: st, rec: rec, cfg: cfg.withDefaults(), now: now, log: log,
		jitter: rand.Float64, kick: make(chan struct{}, 1),
	}
	if rev, ok := rec.(erp.ReversalRecorder); ok && erp.CanReverse(rec) {
		w.rev = rev
	}
	return w
}

// Kick tells the worker a job was just enqueued, so it looks now instead of
// at its next poll. It never blocks; kicks while one is pending merge.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers jobs until ctx is cancelled, then returns nil. It stops
// between jobs: a delivery in flight is not cut short by ctx but finishes, or
// times out after CallTimeout, and its outcome is stored. Database errors are
// logged and retried at the next poll; Run never gives up on its own.
func (w *Worker) Run(ctx context.Context) error {
	if w.rec == nil {
		w.log.InfoContext(ctx, "write-back worker not started: the ERP source cannot record payments")
		return nil
	}
	w.log.InfoContext(ctx, "write-back worker started", "poll", w.cfg.Poll.String(), "lease", w.cfg.Lease.String(),
		"max_backoff", w.cfg.MaxBackoff.String())
	for {
		if ctx.Err() != nil {
			return nil
		}
		processed, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "write-back queue", "error", err)
		}
		if processed {
			continue
		}
		timer := time.NewTimer(w.wait(ctx, err))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-w.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// wait is how long to sleep when no job was due: until the next one is, but
// never longer than Poll, because another replica or the operator may change
// the queue meanwhile.
func (w *Worker) wait(ctx context.Context, lastErr error) time.Duration {
	if lastErr != nil {
		return w.cfg.Poll
	}
	due, ok, err := w.store.DueWritebackAt(ctx)
	if err != nil || !ok {
		return w.cfg.Poll
	}
	return min(max(due.Sub(w.now()), minWait), w.cfg.Poll)
}

// RunOnce leases the job due the longest and delivers it. It reports whether
// it took one (delivered or not); false with a nil error means none was due.
// Once leased, the job is finished whatever becomes of ctx.
func (w *Worker) RunOnce(ctx context.Context) (bool, error) {
	if w.rec == nil {
		return false, nil
	}
	job, err := w.store.LeaseWriteback(ctx, w.cfg.Lease)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("recauda: write-back lease: %w", err)
	}
	return true, w.deliver(context.WithoutCancel(ctx), job)
}

// deliver records job's payment (or reversal) in the ERP and stores the
// outcome.
func (w *Worker) deliver(ctx context.Context, job store.Writeback) error {
	attempt := job.Attempts + 1
	call, idNumber, erpRef, err := w.delivery(job)
	if err != nil {
		cause := fmt.Sprintf("the job's payment cannot be decoded (%v); it needs an operator: retrying will not fix it, cancel the job", err)
		w.log.ErrorContext(ctx, "write-back undeliverable", "writeback_id", job.ID, "ref_payment", job.RefPayment,
			"transaction_id", job.TransactionID, "kind", job.Kind, "attempt", attempt, "cause", cause)
		return w.fail(ctx, job, cause, w.cfg.MaxBackoff)
	}
	if call == nil {
		cause := fmt.Sprintf("the ERP source cannot record reversals: reverse payment %s of %s in the ERP, then cancel this job; "+
			"or configure the source's reversal write-back, restart and retry it", job.TransactionID, erpRef)
		return w.hold(ctx, job, attempt, cause)
	}

	callCtx, cancel := context.WithTimeout(ctx, w.cfg.CallTimeout)
	err = call(callCtx)
	cancel()
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, storeWriteTimeout)
		defer cancel()
		if err := w.store.CompleteWriteback(sctx, job.ID); err != nil {
			// The lease runs out and the job is delivered again; the ERP's
			// idempotency makes the repeat harmless.
			return fmt.Errorf("recauda: write-back #%d recorded in the ERP but not in the queue: %w", job.ID, err)
		}
		w.log.InfoContext(ctx, "write-back done", "writeback_id", job.ID, "ref_payment", job.RefPayment,
			"transaction_id", job.TransactionID, "kind", job.Kind, "attempt", attempt)
		return nil
	}
	if job.Kind == models.WritebackReversal && errors.Is(err, erp.ErrUnsupported) {
		// The source says this reversal must be done by hand.
		return w.hold(ctx, job, attempt, maskIDNumber(err.Error(), idNumber))
	}

	delay := w.cfg.MaxBackoff
	if retryableWriteback(err) {
		delay = Backoff(attempt, w.cfg.MinBackoff, w.cfg.MaxBackoff, w.jitter)
	}
	cause := err.Error()
	w.log.WarnContext(ctx, "write-back failed", "writeback_id", job.ID, "ref_payment", job.RefPayment,
		"transaction_id", job.TransactionID, "kind", job.Kind, "id_number", redact.ID(idNumber), "attempt", attempt,
		"retry_in", delay.String(), "cause", maskIDNumber(cause, idNumber))
	return w.fail(ctx, job, cause, delay)
}

// delivery is the ERP call job makes, the customer's ID number (for
// masking) and the ERP's ref; a nil call means the source cannot record this
// kind of job.
func (w *Worker) delivery(job store.Writeback) (call func(context.Context) error, idNumber, erpRef string, err error) {
	if job.Kind == models.WritebackReversal {
		r, err := decodeWritebackReversal(job)
		if err != nil {
			return nil, "", "", err
		}
		if w.rev == nil {
			return nil, r.IDNumber, r.RefPayment, nil
		}
		return func(ctx context.Context) error { return w.rev.RecordReversal(ctx, r) }, r.IDNumber, r.RefPayment, nil
	}
	p, err := decodeWritebackPayment(job)
	if err != nil {
		return nil, "", "", err
	}
	return func(ctx context.Context) error { return w.rec.RecordPayment(ctx, p) }, p.IDNumber, p.RefPayment, nil
}

// hold hands job to the operator: no retry will deliver it.
func (w *Worker) hold(ctx context.Context, job store.Writeback, attempt int, cause string) error {
	w.log.ErrorContext(ctx, "write-back needs the operator", "writeback_id", job.ID, "ref_payment", job.RefPayment,
		"transaction_id", job.TransactionID, "kind", job.Kind, "attempt", attempt, "cause", cause)
	sctx, cancel := context.WithTimeout(ctx, storeWriteTimeout)
	defer cancel()
	err := w.store.HoldWriteback(sctx, job.ID, cause)
	if errors.Is(err, store.ErrConflict) {
		w.log.InfoContext(ctx, "write-back changed while in flight; not handed to the operator", "writeback_id", job.ID,
			"ref_payment", job.RefPayment)
		return nil
	}
	if err != nil {
		return fmt.Errorf("recauda: write-back #%d: %w", job.ID, err)
	}
	return nil
}

// fail stores a failed attempt; the job is due again after delay.
func (w *Worker) fail(ctx context.Context, job store.Writeback, cause string, delay time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, storeWriteTimeout)
	defer cancel()
	err := w.store.FailWriteback(sctx, job.ID, cause, w.now().Add(delay))
	if errors.Is(err, store.ErrConflict) {
		// The operator cancelled it (or it was done) while in flight.
		w.log.InfoContext(ctx, "write-back changed while in flight; failure not recorded", "writeback_id", job.ID,
			"ref_payment", job.RefPayment)
		return nil
	}
	if err != nil {
		return fmt.Errorf("recauda: write-back #%d: %w", job.ID, err)
	}
	return nil
}

// decodeWritebackPayment reads the payment a job carries. The job's own
// transaction and reference fill the payment's when it lacks them: the
// transaction ID is the ERP's idempotency key and must never be empty.
func decodeWritebackPayment(job store.Writeback) (erp.Payment, error) {
	var p erp.Payment
	if len(job.Payment) == 0 {
		return p, errors.New("empty payload")
	}
	if err := json.Unmarshal(job.Payment, &p); err != nil {
		return p, err
	}
	if p.TransactionID == "" {
		p.TransactionID = job.TransactionID
	}
	if p.RefPayment == "" {
		p.RefPayment = job.RefPayment
	}
	if p.TransactionID == "" {
		return p, errors.New("no transaction id")
	}
	return p, nil
}

// decodeWritebackReversal reads the reversal a job carries, filled from the
// job like a payment.
func decodeWritebackReversal(job store.Writeback) (erp.Reversal, error) {
	var r erp.Reversal
	if len(job.Payment) == 0 {
		return r, errors.New("empty payload")
	}
	if err := json.Unmarshal(job.Payment, &r); err != nil {
		return r, err
	}
	if r.TransactionID == "" {
		r.TransactionID = job.TransactionID
	}
	if r.RefPayment == "" {
		r.RefPayment = job.RefPayment
	}
	if r.TransactionID == "" {
		return r, errors.New("no transaction id")
	}
	return r, nil
}

// retryableWriteback says whether err is worth retrying soon: the ERP was unavailable
// or slow. Anything else (unknown charge, refused payment) waits MaxBackoff,
// since only a change on the ERP's side will fix it.
func retryableWriteback(err error) bool {
	return errors.Is(err, erp.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// maskIDNumber hides an ID number that an ERP's error message may quote.
func maskIDNumber(s, idNumber string) string {
	if idNumber == "" {
		return s
	}
	return strings.ReplaceAll(s, idNumber, redact.ID(idNumber))
}

// Backoff is the wait after failed attempt number attempt (1 for the
// first): d = minBackoff·2^(attempt-1), capped at maxBackoff, with "equal
// jitter": d/2 + jitter()·d/2, so the result lies in [d/2, d]. Half of it is
// a guaranteed pause and the other half spreads out workers that failed
// together (an ERP coming back is not hit by every job at once). jitter
// returns a number in [0, 1); nil means math/rand/v2.Float64.
func Backoff(attempt int, minBackoff, maxBackoff time.Duration, jitter func() float64) time.Duration {
	if minBackoff <= 0 {
		minBackoff = time.Second
	}
	maxBackoff = max(maxBackoff, minBackoff)
	d := minBackoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	if d > maxBackoff || d <= 0 { // d <= 0: doubled past the largest Duration
		d = maxBackoff
	}
	if jitter == nil {
		jitter = rand.Float64
	}
	j := min(max(jitter(), 0), 1)
	half := d / 2
	return half + time.Duration(j*float64(d-half))
}
