package store

import (
	"strconv"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
)

// A re-offer whose item differs from the one sent before keeps that one in
// charge_offers: Efipay keeps the first item it got for a ref, so a payment
// may be for any of them, and settling reads them (EarlierOffer).

// offered is what a charge carried before a claim re-offers it.
type offered struct {
	id      int64
	send    int
	amount  decimal.Decimal
	payload string
	hash    string
}

// offeredBefore reads the items the refs carry now, before a claim may
// replace them. On PostgreSQL the rows are locked, in ref order like the
// claim itself, so that what is kept is what the claim replaces.
func (s *Store) offeredBefore(tx *gorm.DB, refs []string) (map[string]offered, error) {
	out := make(map[string]offered, len(refs))
	for _, size := range statementSizes(len(refs)) {
		query := `SELECT ref_payment, id, send_count, amount, payload, payload_hash FROM charges WHERE ref_payment IN (` +
			placeholders(size) + `)`
		if s.dialect == models.DialectPostgres {
			query += ` ORDER BY ref_payment FOR UPDATE`
		}
		args := make([]any, size)
		for i, r := range refs[:size] {
			args[i] = r
		}
		rows, err := s.txRows(tx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var ref string
			var o offered
			if err := rows.Scan(&ref, &o.id, &o.send, &o.amount, &o.payload, &o.hash); err != nil {
				rows.Close()
				return nil, err
			}
			out[ref] = o
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		refs = refs[size:]
	}
	return out, nil
}

// keepReplaced stores, for each ref w won whose item changed, the item it
// replaced, and a "changed" entry on the timeline saying what changed.
func (s *Store) keepReplaced(tx *gorm.DB, w *claimWork, before map[string]offered, describe func(before, after []byte) string) error {
	byRef := make(map[string]Offer, len(w.offers))
	for _, o := range w.offers {
		byRef[o.RefPayment] = o
	}
	at := s.timeArg(w.now)
	for _, r := range w.won {
		old, ok := before[r.RefPayment]
		o := byRef[r.RefPayment]
		if !ok || old.id != r.ID || old.payload == "" || old.hash == PayloadHash(o.Payload) {
			continue
		}
		if err := s.txExec(tx, `INSERT INTO charge_offers (charge_id, send_count, amount, payload, replaced_at) VALUES (?, ?, ?, ?, ?)`,
			r.ID, old.send, old.amount.String(), old.payload, at); err != nil {
			return err
		}
		detail := "item changed since send #" + strconv.Itoa(old.send)
		if describe != nil {
			if d := describe([]byte(old.payload), o.Payload); d != "" {
				detail += ": " + d
			}
		}
		if err := s.txExec(tx, `INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at)
			VALUES (?, 'changed', '', '', ?, ?)`, r.ID, detail, at); err != nil {
			return err
		}
	}
	return nil
}

// earlierOffers reads the offers c's current one replaced, oldest first.
func (s *Store) earlierOffers(tx *gorm.DB, c *ChargeState) error {
	rows, err := s.txRows(tx, `SELECT send_count, amount, payload FROM charge_offers WHERE charge_id = ? ORDER BY id`, c.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e EarlierOffer
		if err := rows.Scan(&e.Send, &e.Amount, &e.Payload); err != nil {
			return err
		}
		c.Earlier = append(c.Earlier, e)
	}
	return rows.Err()
}

// hasEarlierOffers is a column of a charges query: whether the charge has
// offers a later one replaced.
const hasEarlierOffers = `EXISTS (SELECT 1 FROM charge_offers o WHERE o.charge_id = charges.id)`
