package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"recauda-bridge/models"
)

// maxWritebackError bounds the cause kept in last_error and in the timeline,
// so that an ERP answering a whole HTML page cannot bloat the database.
const maxWritebackError = 1000

// Writeback is a write-back job as callers see it.
type Writeback struct {
	ID            int64
	ChargeID      int64
	RefPayment    string
	TransactionID string
	// Kind is models.WritebackPayment or WritebackReversal.
	Kind string
	// Payment is the erp.Payment to deliver (an erp.Reversal for a
	// reversal), as JSON.
	Payment []byte
	// State is models.WritebackPending, WritebackDone, WritebackCancelled
	// or WritebackNeedsOperator.
	State string
	// Attempts counts deliveries tried, the successful one included.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DoneAt        *time.Time
}

// writebackFromRow converts a database row to what callers see.
func writebackFromRow(r models.WritebackRow) Writeback {
	return Writeback{
		ID: r.ID, ChargeID: r.ChargeID, RefPayment: r.RefPayment, TransactionID: r.TransactionID, Kind: r.Kind,
		Payment: []byte(r.Payment), State: r.State, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt,
		LastError: r.LastError, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DoneAt: r.DoneAt,
	}
}

// LeaseWriteback hands out the pending job that has been due the longest
// (next_attempt_at ≤ now, no lease or an expired one) and leases it until
// now+leaseFor: no other caller gets it before then. If the holder dies, the
// job is handed out again once the lease expires, so work is never lost, but
// a delivery may repeat. It returns an error wrapping ErrNotFound when no job
// is due. A reversal is not due while the payment it undoes still waits to
// be delivered (waitsForPayment): the ERP must see them in that order.
//
// On SQLite the select and the update are one write transaction, and the
// store has a single writer. On PostgreSQL the select takes the row with FOR
// UPDATE SKIP LOCKED, so replicas sharing the queue never get the same job
// nor wait for each other.
func (s *Store) LeaseWriteback(ctx context.Context, leaseFor time.Duration) (Writeback, error) {
	const op = "store: lease write-back"
	if leaseFor <= 0 {
		return Writeback{}, fmt.Errorf("%s: lease %s must be positive", op, leaseFor)
	}
	now := s.now()
	until := now.Add(leaseFor)
	// An idle queue is what most polls find: a read tells it, so that it
	// costs no write transaction (on SQLite each one also empties the cache
	// of tracked refs that keeps lookups off the database).
	const isDue = "state = ? AND next_attempt_at <= ? AND (leased_until IS NULL OR leased_until < ?) AND NOT " + waitsForPayment
	var due []int64
	if err := s.read.WithContext(ctx).Model(&models.WritebackRow{}).
		Where(isDue, models.WritebackPending, now, now).
		Limit(1).Pluck("id", &due).Error; err != nil {
		return Writeback{}, translate(op, err)
	}
	if len(due) == 0 {
		return Writeback{}, translate(op, gorm.ErrRecordNotFound)
	}
	var row models.WritebackRow
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		q := tx.Where(isDue, models.WritebackPending, now, now).Order("next_attempt_at, id")
		if s.dialect == models.DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		if err := q.Take(&row).Error; err != nil {
			return err
		}
		// The lease condition again, so the update is right on its own even
		// if the select above ever stops being under the same lock.
		r := tx.Exec(`UPDATE writebacks SET leased_until = ?
			WHERE id = ? AND state = ? AND (leased_until IS NULL OR leased_until < ?)`,
			until, row.ID, models.WritebackPending, now)
		if r.Error != nil {
			return r.Error
		}
		if r.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		return nil
	})
	if err != nil {
		return Writeback{}, translate(op, err)
	}
	return writebackFromRow(row), nil
}

// waitsForPayment is true for a reversal job whose payment job (same ref and
// transaction) has not reached the ERP yet and may still: reversing first
// and recording the payment after would leave the ERP saying paid.
const waitsForPayment = `(writebacks.kind = '` + models.WritebackReversal + `' AND EXISTS (SELECT 1 FROM writebacks p
	WHERE p.ref_payment = writebacks.ref_payment AND p.transaction_id = writebacks.transaction_id
	AND p.kind = '` + models.WritebackPayment + `' AND p.state IN ('` + models.WritebackPending + `', '` + models.WritebackNeedsOperator + `')))`

// CompleteWriteback records that job id reached the ERP: state done, one
// more attempt, lease released, and "writeback_done" on the charge's
// timeline. A job already done is left as it is. A job the operator
// cancelled while it was in flight becomes done too, because the ERP has the
// payment. Unknown id: ErrNotFound.
func (s *Store) CompleteWriteback(ctx context.Context, id int64) error {
	const op = "store: complete write-back"
	now := s.now()
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		row, err := s.lockWriteback(tx, id)
		if err != nil {
			return err
		}
		if row.State == models.WritebackDone {
			return nil
		}
		if err := tx.Exec(`UPDATE writebacks SET state = ?, done_at = ?, attempts = attempts + 1,
			leased_until = NULL, updated_at = ? WHERE id = ?`,
			models.WritebackDone, now, now, id).Error; err != nil {
			return err
		}
		what := "payment"
		if row.Kind == models.WritebackReversal {
			what = "reversal of payment"
		}
		detail := fmt.Sprintf("write-back #%d: %s %s recorded in the ERP on attempt %d", id, what, row.TransactionID, row.Attempts+1)
		if row.State == models.WritebackCancelled {
			detail += " (it was cancelled while in flight)"
		}
		return writebackEvent(tx, row.ChargeID, "writeback_done", detail, now)
	})
	return writebackError(op, err)
}

// FailWriteback records a failed attempt of job id: one more attempt, cause
// as last_error (cut to 1000 characters), the next attempt at next, lease
// released, and "writeback_failed" on the charge's timeline. A job no longer
// pending (done, or cancelled while in flight) is not touched: ErrConflict.
// Unknown id: ErrNotFound.
func (s *Store) FailWriteback(ctx context.Context, id int64, cause string, next time.Time) error {
	const op = "store: fail write-back"
	now := s.now()
	next = next.UTC().Truncate(time.Microsecond)
	cause = truncateRunes(cause, maxWritebackError)
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		row, err := s.lockWriteback(tx, id)
		if err != nil {
			return err
		}
		if row.State != models.WritebackPending {
			return fmt.Errorf("write-back #%d is %s: %w", id, row.State, ErrConflict)
		}
		if err := tx.Exec(`UPDATE writebacks SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
			leased_until = NULL, updated_at = ? WHERE id = ?`,
			cause, next, now, id).Error; err != nil {
			return err
		}
		detail := fmt.Sprintf("write-back #%d: attempt %d failed: %s; next attempt at %s",
			id, row.Attempts+1, cause, next.Format(time.RFC3339))
		return writebackEvent(tx, row.ChargeID, "writeback_failed", detail, now)
	})
	return writebackError(op, err)
}

// HoldWriteback records that job id cannot be delivered without the
// operator: it becomes needs_operator, with one more attempt, cause as
// last_error, the lease released and "writeback_needs_operator" on the
// timeline. No worker takes it again until RetryWriteback. A job no longer
// pending is not touched: ErrConflict. Unknown id: ErrNotFound.
func (s *Store) HoldWriteback(ctx context.Context, id int64, cause string) error {
	const op = "store: hold write-back"
	now := s.now()
	cause = truncateRunes(cause, maxWritebackError)
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		row, err := s.lockWriteback(tx, id)
		if err != nil {
			return err
		}
		if row.State != models.WritebackPending {
			return fmt.Errorf("write-back #%d is %s: %w", id, row.State, ErrConflict)
		}
		if err := tx.Exec(`UPDATE writebacks SET state = ?, attempts = attempts + 1, last_error = ?,
			leased_until = NULL, updated_at = ? WHERE id = ?`,
			models.WritebackNeedsOperator, cause, now, id).Error; err != nil {
			return err
		}
		detail := fmt.Sprintf("write-back #%d needs the operator: %s", id, cause)
		return writebackEvent(tx, row.ChargeID, "writeback_needs_operator", detail, now)
	})
	return writebackError(op, err)
}

// DueWritebackAt returns when the next pending job can be leased: the
// earliest next_attempt_at, or the end of its lease when a worker holds it
// longer. ok is false when nothing is pending. The time may be in the past:
// a job is due now.
func (s *Store) DueWritebackAt(ctx context.Context) (due time.Time, ok bool, err error) {
	const op = "store: due write-back"
	db := s.read.WithContext(ctx)
	// Two plain-column queries rather than MAX(next_attempt_at, leased_until):
	// SQLite's driver only returns time.Time for a column declared DATETIME,
	// never for an expression.
	var free []models.WritebackRow
	if err := db.Select("next_attempt_at").
		Where("state = ? AND (leased_until IS NULL OR leased_until <= next_attempt_at) AND NOT "+waitsForPayment, models.WritebackPending).
		Order("next_attempt_at").Limit(1).Find(&free).Error; err != nil {
		return time.Time{}, false, translate(op, err)
	}
	var held []models.WritebackRow
	if err := db.Select("leased_until").
		Where("state = ? AND leased_until > next_attempt_at AND NOT "+waitsForPayment, models.WritebackPending).
		Order("leased_until").Limit(1).Find(&held).Error; err != nil {
		return time.Time{}, false, translate(op, err)
	}
	if len(free) == 1 {
		due, ok = free[0].NextAttemptAt, true
	}
	if len(held) == 1 && held[0].LeasedUntil != nil && (!ok || held[0].LeasedUntil.Before(due)) {
		due, ok = *held[0].LeasedUntil, true
	}
	return due, ok, nil
}

// WritebackFilter selects write-back jobs for listing.
type WritebackFilter struct {
	// State keeps only jobs in this state; "" keeps all.
	State string
	// Page counts from 1; 0 means 1.
	Page int
	// PerPage is 1 to 500; 0 means 50.
	PerPage int
}

// ListWritebacks returns one page of jobs, newest first, and how many jobs
// match the filter in all.
func (s *Store) ListWritebacks(ctx context.Context, f WritebackFilter) ([]Writeback, int64, error) {
	const op = "store: list write-backs"
	page, perPage := max(f.Page, 1), f.PerPage
	switch {
	case perPage <= 0:
		perPage = 50
	case perPage > 500:
		perPage = 500
	}
	q := s.read.WithContext(ctx).Model(&models.WritebackRow{})
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, translate(op, err)
	}
	out := []Writeback{}
	if int64(page-1) >= (total+int64(perPage)-1)/int64(perPage) || page-1 > math.MaxInt/perPage {
		return out, total, nil // past the last page
	}
	var rows []models.WritebackRow
	if err := q.Order("id DESC").Offset((page - 1) * perPage).Limit(perPage).Find(&rows).Error; err != nil {
		return nil, 0, translate(op, err)
	}
	for _, r := range rows {
		out = append(out, writebackFromRow(r))
	}
	return out, total, nil
}

// GetWriteback returns job id, or an error wrapping ErrNotFound.
func (s *Store) GetWriteback(ctx context.Context, id int64) (Writeback, error) {
	var row models.WritebackRow
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return Writeback{}, translate("store: get write-back", err)
	}
	return writebackFromRow(row), nil
}

// RetryWriteback makes job id due now, for an operator who fixed the cause:
// a pending job is moved ahead of its back-off, a cancelled one or one that
// needs the operator is pending again; its lease is released either way and "writeback_retry" goes on the
// timeline. Attempts and the last error are kept. A done job cannot be
// retried: ErrConflict. Unknown id: ErrNotFound.
//
// Releasing the lease of a job in flight lets a second worker deliver it at
// the same time; the ERP's idempotency on the transaction makes that harmless.
func (s *Store) RetryWriteback(ctx context.Context, id int64) (Writeback, error) {
	const op = "store: retry write-back"
	now := s.now()
	var row models.WritebackRow
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = s.lockWriteback(tx, id); err != nil {
			return err
		}
		if row.State == models.WritebackDone {
			return fmt.Errorf("write-back #%d is already done: %w", id, ErrConflict)
		}
		if err := tx.Exec(`UPDATE writebacks SET state = ?, next_attempt_at = ?, leased_until = NULL, updated_at = ? WHERE id = ?`,
			models.WritebackPending, now, now, id).Error; err != nil {
			return err
		}
		detail := fmt.Sprintf("write-back #%d: retry asked by the operator (was %s after %d attempts)", id, row.State, row.Attempts)
		if err := writebackEvent(tx, row.ChargeID, "writeback_retry", detail, now); err != nil {
			return err
		}
		row.State, row.NextAttemptAt, row.LeasedUntil, row.UpdatedAt = models.WritebackPending, now, nil, now
		return nil
	})
	if err != nil {
		return Writeback{}, writebackError(op, err)
	}
	return writebackFromRow(row), nil
}

// CancelWriteback stops job id from being tried again: pending (or
// needs_operator, once the operator did it in the ERP) becomes cancelled, with "writeback_cancelled" on the timeline. Cancelling a
// cancelled job changes nothing. A done job cannot be cancelled: ErrConflict.
// Unknown id: ErrNotFound. A delivery already in flight still finishes; if it
// succeeds the job becomes done (see CompleteWriteback).
func (s *Store) CancelWriteback(ctx context.Context, id int64) (Writeback, error) {
	const op = "store: cancel write-back"
	now := s.now()
	var row models.WritebackRow
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = s.lockWriteback(tx, id); err != nil {
			return err
		}
		switch row.State {
		case models.WritebackDone:
			return fmt.Errorf("write-back #%d is already done: %w", id, ErrConflict)
		case models.WritebackCancelled:
			return nil
		}
		if err := tx.Exec(`UPDATE writebacks SET state = ?, leased_until = NULL, updated_at = ? WHERE id = ?`,
			models.WritebackCancelled, now, id).Error; err != nil {
			return err
		}
		detail := fmt.Sprintf("write-back #%d: cancelled by the operator after %d attempts", id, row.Attempts)
		if err := writebackEvent(tx, row.ChargeID, "writeback_cancelled", detail, now); err != nil {
			return err
		}
		row.State, row.LeasedUntil, row.UpdatedAt = models.WritebackCancelled, nil, now
		return nil
	})
	if err != nil {
		return Writeback{}, writebackError(op, err)
	}
	return writebackFromRow(row), nil
}

// WritebackStats returns how many jobs are pending and when the oldest of
// them was enqueued (zero when none is), for the queue depth and age metrics.
func (s *Store) WritebackStats(ctx context.Context) (pending int64, oldestPending time.Time, err error) {
	const op = "store: write-back stats"
	db := s.read.WithContext(ctx)
	if err := db.Model(&models.WritebackRow{}).Where("state = ?", models.WritebackPending).Count(&pending).Error; err != nil {
		return 0, time.Time{}, translate(op, err)
	}
	if pending == 0 {
		return 0, time.Time{}, nil
	}
	var rows []models.WritebackRow
	if err := db.Select("created_at").Where("state = ?", models.WritebackPending).
		Order("created_at, id").Limit(1).Find(&rows).Error; err != nil {
		return 0, time.Time{}, translate(op, err)
	}
	if len(rows) == 1 {
		oldestPending = rows[0].CreatedAt
	}
	return pending, oldestPending, nil
}

// WritebacksNeedingOperator counts the jobs in needs_operator, for the
// metrics.
func (s *Store) WritebacksNeedingOperator(ctx context.Context) (int64, error) {
	var n int64
	if err := s.read.WithContext(ctx).Model(&models.WritebackRow{}).Where("state = ?", models.WritebackNeedsOperator).
		Count(&n).Error; err != nil {
		return 0, translate("store: write-backs needing the operator", err)
	}
	return n, nil
}

// lockWriteback reads job id inside tx; on PostgreSQL it locks the row until
// the transaction ends, so a state check and the update after it cannot race.
func (s *Store) lockWriteback(tx *gorm.DB, id int64) (models.WritebackRow, error) {
	q := tx.Where("id = ?", id)
	if s.dialect == models.DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var row models.WritebackRow
	err := q.Take(&row).Error
	return row, err
}

// writebackEvent adds a line to the timeline of the job's charge, carrying
// the charge's current status as both from and to.
func writebackEvent(tx *gorm.DB, chargeID int64, kind, detail string, now time.Time) error {
	return tx.Exec(`INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at)
		SELECT id, ?, status, status, ?, ? FROM charges WHERE id = ?`, kind, detail, now, chargeID).Error
}

// writebackError keeps the store's own verdicts (a state rule broken, a row
// missing) as they are and translates driver errors.
func writebackError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return translate(op, err)
}

// truncateRunes cuts s to at most n characters without splitting one.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
