package store

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	"recauda-bridge/models"
)

// settleWork is a parsed delivery with references, in the form the SQLite
// engine can settle together with the other deliveries of its batch.
type settleWork struct {
	d      WebhookDelivery
	decide Decide
	now    time.Time
	// merged: mergeSettles settled it and res is its result; otherwise
	// its job settles it alone.
	merged bool
	res    SettleResult
}

// settleRowCounts are the row counts of the merged settle's statements,
// largest first: fewer sizes than claims use, because a settle has more
// statements, and each text stays prepared (maxStmts).
var settleRowCounts = []int{32, 16, 8, 4, 2, 1}

// The texts of the merged settle's statements, by row count.
var settleCharges, settleSeen, settleUpdates, settleWritebacks, settleTimelines, settleEvents = func() (charges, seen, updates, writebacks, timelines, events map[int]string) {
	charges, seen, updates, writebacks, timelines, events = map[int]string{}, map[int]string{}, map[int]string{}, map[int]string{}, map[int]string{}, map[int]string{}
	for _, n := range settleRowCounts {
		// The transactions stored before, for any charge or none: such a
		// delivery is settled alone, where the exact check for a duplicate
		// runs.
		seen[n] = `SELECT DISTINCT transaction_id FROM webhook_events WHERE transaction_id IN (` + placeholders(n) + `)`
		// eventful: the charge has had a webhook applied or flagged
		// before. Such a delivery is settled alone, where the exact check
		// for a duplicate runs; a charge's first webhook, the usual one,
		// cannot be a duplicate. So is a charge with earlier offers,
		// which settling alone reads.
		charges[n] = `SELECT ` + chargeStateColumns + `,
			EXISTS (SELECT 1 FROM webhook_events e WHERE e.charge_id = charges.id AND e.outcome <> '` + models.OutcomeDuplicate + `')
				OR ` + hasEarlierOffers + `
			FROM charges WHERE ref_payment IN (` + placeholders(n) + `)`
		// A NULL leaves the column as it is (chargeChange).
		updates[n] = `UPDATE charges SET updated_at = v.column2,
			status = COALESCE(v.column3, charges.status),
			paid_amount = COALESCE(v.column4, charges.paid_amount),
			paid_at = COALESCE(v.column5, charges.paid_at),
			transaction_id = COALESCE(v.column6, charges.transaction_id),
			offer_after = COALESCE(v.column7, charges.offer_after)
			FROM (VALUES ` + repeatList("(?, ?, ?, ?, ?, ?, ?)", n) + `) AS v WHERE charges.id = v.column1`
		writebacks[n] = `INSERT INTO writebacks (charge_id, ref_payment, transaction_id, kind, payment, state,
			attempts, next_attempt_at, last_error, created_at, updated_at) VALUES ` + repeatList("(?, ?, ?, ?, ?, '"+models.WritebackPending+"', 0, ?, '', ?, ?)", n) + `
			ON CONFLICT DO NOTHING RETURNING id, charge_id`
		timelines[n] = `INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at) VALUES ` +
			repeatList("(?, ?, ?, ?, ?, ?)", n)
		events[n] = `INSERT INTO webhook_events (received_at, body, body_raw, body_hash, transaction_id, status, amount,
			currency_type, production, payment_method, ref_payment, charge_id, outcome, detail, approved_at, status_after) VALUES ` +
			repeatList("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", n) + ` RETURNING id, charge_id`
	}
	return charges, seen, updates, writebacks, timelines, events
}()

// settleTarget is a work that mergeSettles settles, with its charge.
type settleTarget struct {
	w   *settleWork
	c   ChargeState
	dec Decision
	// jobID is the write-back job queued, or 0.
	jobID int64
}

// mergeSettles settles, together, each of works whose delivery matches
// exactly one charge that no other delivery of works matches and that has
// had no webhook before nor a parent (its settle may write the parent
// too), and whose transaction neither was stored before nor
// is another delivery's of works: what Settle's own transaction would write for it,
// in a few statements for all of them. It marks them merged; the others
// are left to settle alone, after. On SQLite only (UPDATE ... FROM).
func (s *Store) mergeSettles(tx *gorm.DB, works []*settleWork) (left []bool, err error) {
	if err := s.settleTogether(tx, works); err != nil {
		for _, w := range works {
			w.merged = false
		}
		return nil, err
	}
	left = make([]bool, len(works))
	for i, w := range works {
		left[i] = !w.merged
	}
	return left, nil
}

// settleTogether is mergeSettles' work: it marks merged the works it
// settled.
func (s *Store) settleTogether(tx *gorm.DB, works []*settleWork) error {
	type charge struct {
		ChargeState
		eventful bool
	}
	var refs []any
	named := map[string]bool{}
	for _, w := range works {
		for _, r := range w.d.References {
			if !named[r] {
				named[r] = true
				refs = append(refs, r)
			}
		}
	}
	byRef := make(map[string]*charge, len(refs))
	for _, size := range splitRows(len(refs), settleRowCounts) {
		rows, err := s.txRows(tx, settleCharges[size], refs[:size]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			c := &charge{}
			if err := rows.Scan(append(c.scanDest(), &c.eventful)...); err != nil {
				rows.Close()
				return err
			}
			byRef[c.RefPayment] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		refs = refs[size:]
	}

	// Transactions stored before, or named by two deliveries of the batch,
	// are settled alone, in batch order: one of them may be a duplicate.
	settledAlone := map[string]bool{}
	var txs []any
	named = map[string]bool{}
	for _, w := range works {
		id := w.d.TransactionID
		if named[id] {
			settledAlone[id] = true
			continue
		}
		named[id] = true
		txs = append(txs, id)
	}
	for _, size := range splitRows(len(txs), settleRowCounts) {
		rows, err := s.txRows(tx, settleSeen[size], txs[:size]...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			settledAlone[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		txs = txs[size:]
	}

	// The charge each delivery matches, when it matches exactly one.
	matched := make([]*charge, len(works))
	deliveries := map[int64]int{} // by charge
	for i, w := range works {
		var found *charge
	names:
		for _, r := range w.d.References {
			switch c := byRef[r]; {
			case c == nil || c == found:
			case found == nil:
				found = c
			default:
				// Ambiguous: settled alone, which says so.
				found = nil
				break names
			}
		}
		if found != nil && foreignReferences(found.ChargeState, w.d.References) != nil {
			found = nil // settled alone, which says why it is unmatched
		}
		if found != nil {
			matched[i] = found
			deliveries[found.ID]++
		}
	}
	var targets []*settleTarget
	for i, w := range works {
		c := matched[i]
		// A derived charge may settle its parent too: settled alone.
		if c == nil || c.eventful || c.ParentRef != "" || deliveries[c.ID] > 1 || settledAlone[w.d.TransactionID] {
			continue
		}
		targets = append(targets, &settleTarget{w: w, c: c.ChargeState, dec: w.decide(c.ChargeState)})
	}
	if len(targets) == 0 {
		return nil
	}
	byCharge := make(map[int64]*settleTarget, len(targets))
	for _, t := range targets {
		byCharge[t.c.ID] = t
	}

	var queued []*settleTarget // those with a write-back to queue
	for _, t := range targets {
		if t.dec.Writeback != nil {
			queued = append(queued, t)
		}
	}
	err := inChunks(targets, func(size int, chunk []*settleTarget) error {
		args := make([]any, 0, size*7)
		for _, t := range chunk {
			change := s.chargeChange(t.dec, t.w.now)
			args = append(append(args, t.c.ID), change[:]...)
		}
		return s.txExec(tx, settleUpdates[size], args...)
	})
	if err != nil {
		return err
	}
	// A job for this (ref, transaction, kind) already queued stays as it
	// is: no row comes back for it.
	err = inChunks(queued, func(size int, chunk []*settleTarget) error {
		args := make([]any, 0, size*8)
		for _, t := range chunk {
			at := s.timeArg(t.w.now)
			args = append(args, t.c.ID, t.c.RefPayment, t.w.d.TransactionID, t.dec.writebackKind(), string(t.dec.Writeback), at, at, at)
		}
		return s.scanIDs(tx, settleWritebacks[size], args, byCharge, func(t *settleTarget, id int64) { t.jobID = id })
	})
	if err != nil {
		return err
	}
	var lines []any
	for _, t := range targets {
		at, to := s.timeArg(t.w.now), t.dec.statusAfter(t.c)
		lines = append(lines, t.c.ID, "webhook", t.c.Status, to, webhookLine(t.w.d, t.dec), at)
		if t.jobID != 0 {
			lines = append(lines, t.c.ID, "writeback_enqueued", to, to, writebackLine(t.jobID, t.w.d.TransactionID, t.dec.writebackKind()), at)
		}
	}
	const timelineColumns = 6
	for _, size := range splitRows(len(lines)/timelineColumns, settleRowCounts) {
		if err := s.txExec(tx, settleTimelines[size], lines[:size*timelineColumns]...); err != nil {
			return err
		}
		lines = lines[size*timelineColumns:]
	}
	err = inChunks(targets, func(size int, chunk []*settleTarget) error {
		args := make([]any, 0, size*16)
		for _, t := range chunk {
			d := t.w.d
			body, raw := bodyColumns(d.Body)
			var approvedAt any
			if !d.ApprovedAt.IsZero() {
				approvedAt = s.timeArg(d.ApprovedAt.UTC())
			}
			after := ""
			if t.dec.Outcome == models.OutcomeApplied {
				after = t.dec.statusAfter(t.c)
			}
			args = append(args, s.timeArg(t.w.now), body, raw, PayloadHash(d.Body), d.TransactionID, d.Status,
				d.Amount.String(), d.Currency, d.Production, d.PaymentMethod, t.c.RefPayment, t.c.ID, t.dec.Outcome, storableText(t.dec.Detail),
				approvedAt, after)
		}
		return s.scanIDs(tx, settleEvents[size], args, byCharge, func(t *settleTarget, id int64) {
			t.w.res = SettleResult{EventID: id, Outcome: t.dec.Outcome, Detail: t.dec.Detail, RefPayment: t.c.RefPayment, WritebackID: t.jobID}
		})
	})
	if err != nil {
		return err
	}
	for _, t := range targets {
		if t.w.res.EventID == 0 {
			return fmt.Errorf("store: merged settle stored no event for %s", t.c.RefPayment)
		}
	}
	for _, t := range targets {
		t.w.merged = true
	}
	return nil
}

// inChunks calls run for targets cut into statements of settleRowCounts.
func inChunks(targets []*settleTarget, run func(size int, chunk []*settleTarget) error) error {
	for _, size := range splitRows(len(targets), settleRowCounts) {
		if err := run(size, targets[:size]); err != nil {
			return err
		}
		targets = targets[size:]
	}
	return nil
}

// scanIDs runs a statement returning (id, charge_id) rows and hands each id
// to the target of its charge.
func (s *Store) scanIDs(tx *gorm.DB, query string, args []any, byCharge map[int64]*settleTarget, set func(*settleTarget, int64)) error {
	rows, err := s.txRows(tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, chargeID int64
		if err := rows.Scan(&id, &chargeID); err != nil {
			return err
		}
		t := byCharge[chargeID]
		if t == nil {
			return fmt.Errorf("store: merged settle returned charge %d, which it did not settle", chargeID)
		}
		set(t, id)
	}
	return rows.Err()
}
