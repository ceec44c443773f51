package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
	"recauda-bridge/redact"
	"recauda-bridge/store/internal/sqliteengine"
)

// WebhookDelivery is a webhook whose signature was verified, parsed or not.
type WebhookDelivery struct {
	Body []byte
	// ParseError is set when the body could not be parsed; nothing else is.
	ParseError    string
	TransactionID string
	Status        string
	Amount        decimal.Decimal
	Currency      string
	Production    bool
	PaymentMethod string
	// ApprovedAt is when Efipay approved the payment, for an approval that
	// says so; zero otherwise.
	ApprovedAt time.Time
	// References are every candidate ref_payment the body carries.
	References []string
}

// ChargeState is what a settle decision sees of the matched charge.
type ChargeState struct {
	ID             int64
	RefPayment     string
	ParentRef      string
	IDNumber       string
	PayerName      string
	Status         string
	Amount         decimal.Decimal
	PaidAmount     decimal.Decimal
	Currency       string
	AdvanceAllowed bool
	TransactionID  string
	Payload        string
	// Earlier are the offers of the charge that later ones with another
	// item replaced, oldest first: Efipay keeps the first item it got for a
	// ref, so a payment may still be for one of them.
	Earlier []EarlierOffer
}

// EarlierOffer is an item offered for a charge and replaced since by a
// different one.
type EarlierOffer struct {
	// Send is the number of the last send that carried it.
	Send    int
	Amount  decimal.Decimal
	Payload string
}

// Decision is what applying one event does to its charge.
type Decision struct {
	Outcome string // models.OutcomeApplied, OutcomeFlagged or OutcomeStale
	Detail  string
	// NewStatus is the charge's next state; "" leaves it.
	NewStatus string
	// PaidAmount replaces the paid amount when set.
	PaidAmount *decimal.Decimal
	// PaidAt sets paid_at when set.
	PaidAt *time.Time
	// TransactionID replaces the charge's transaction when non-empty.
	TransactionID string
	// OfferNow makes the charge due for the next lookup (the debt is owed again).
	OfferNow bool
	// Writeback, when set, is the JSON payment to deliver to the ERP.
	Writeback []byte
	// WritebackKind is what Writeback records: models.WritebackPayment
	// ("" means it) or WritebackReversal (Writeback is then an erp.Reversal).
	WritebackKind string
	// SettlesParent writes the state change (all but OfferNow: re-offers
	// go through the charge, not its parent) to the charge's parent row
	// too, with a timeline entry naming the charge and the transaction.
	SettlesParent bool
}

// writebackKind is the kind of the job dec queues.
func (dec Decision) writebackKind() string {
	if dec.WritebackKind == "" {
		return models.WritebackPayment
	}
	return dec.WritebackKind
}

// Decide turns an event and the current charge into a Decision. It runs
// inside the settle transaction, so it must not do I/O.
type Decide func(c ChargeState) Decision

// SettleResult says what became of a delivery.
type SettleResult struct {
	EventID    int64
	Outcome    string
	Detail     string
	RefPayment string
	// WritebackID is the job enqueued, or 0.
	WritebackID int64
}

// Settle stores a verified webhook delivery and applies it to its charge in
// one transaction: the raw body, the state change, the timeline entry and the
// write-back job commit together or not at all. A delivery that cannot be
// parsed or matched is still stored. A (transaction, status) stored before,
// whatever became of it, is stored again as a duplicate and changes nothing.
func (s *Store) Settle(ctx context.Context, d WebhookDelivery, decide Decide) (SettleResult, error) {
	job, _, result := s.settleJob(d, decide)
	if err := s.commitJob(ctx, job); err != nil {
		return SettleResult{}, translate("store: settle", err)
	}
	return result(), nil
}

// settleJob is the write job that settles d, its part that the engine may
// merge (nil when it cannot: no references), and what it did once run.
// The SQLite engine may settle it together with the other deliveries of
// its batch (mergeSettles); otherwise the job's Run does, alone.
func (s *Store) settleJob(d WebhookDelivery, decide Decide) (*sqliteengine.Job, *settleWork, func() SettleResult) {
	now := s.now()
	var res SettleResult
	var work *settleWork
	alone := func(tx *gorm.DB) error {
		body, raw := bodyColumns(d.Body)
		ev := models.WebhookEventRow{
			ReceivedAt: now, Body: body, BodyHash: PayloadHash(d.Body),
			TransactionID: d.TransactionID, Status: d.Status, CurrencyType: d.Currency,
			Production: d.Production, PaymentMethod: d.PaymentMethod,
		}
		if d.ParseError == "" {
			ev.Amount = d.Amount.String()
		}
		var approvedAt any
		if !d.ApprovedAt.IsZero() {
			approvedAt = s.timeArg(d.ApprovedAt.UTC())
		}
		var err error
		res.Outcome, res.Detail, err = s.settleEvent(tx, d, decide, now, &ev, &res)
		if err != nil {
			return err
		}
		ev.Outcome, ev.Detail = res.Outcome, res.Detail
		if err := s.insertReturningID(tx, &ev.ID, `INSERT INTO webhook_events (received_at, body, body_raw, body_hash, transaction_id,
			status, amount, currency_type, production, payment_method, ref_payment, charge_id, outcome, detail, approved_at, status_after)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			ev.ReceivedAt, ev.Body, raw, ev.BodyHash, ev.TransactionID, ev.Status, ev.Amount, ev.CurrencyType, ev.Production,
			ev.PaymentMethod, ev.RefPayment, ev.ChargeID, ev.Outcome, storableText(ev.Detail), approvedAt, ev.StatusAfter); err != nil {
			return err
		}
		res.EventID, res.RefPayment = ev.ID, ev.RefPayment
		return nil
	}
	var job *sqliteengine.Job
	if d.ParseError == "" && len(d.References) > 0 {
		work = &settleWork{d: d, decide: decide, now: now}
		job = s.settles.Job(work, alone)
	} else {
		job = &sqliteengine.Job{Run: alone}
	}
	return job, work, func() SettleResult {
		if work != nil && work.merged {
			return work.res
		}
		return res
	}
}

// settleEvent matches the delivery to its charge and applies it. Problems of
// the delivery become its outcome; a database error aborts the transaction.
func (s *Store) settleEvent(tx *gorm.DB, d WebhookDelivery, decide Decide, now time.Time, ev *models.WebhookEventRow, res *SettleResult) (outcome, detail string, err error) {
	if d.ParseError != "" {
		return models.OutcomeUnparseable, d.ParseError, nil
	}
	if len(d.References) == 0 {
		return models.OutcomeUnmatched, "the webhook carries no reference", nil
	}
	// Hand-written statements: this runs in the engine, one webhook
	// after another, and gorm's reflection was most of its time.
	query := `SELECT ` + chargeStateColumns + `, ` + hasEarlierOffers + `, %s FROM charges WHERE ref_payment IN (` + placeholders(len(d.References)) + `)`
	queryArgs := make([]any, 0, 3+len(d.References))
	// Whether this transaction and status were stored before, for any
	// charge or none (an unmatched delivery replayed once its reference is
	// tracked must not apply). On SQLite it comes in the same statement,
	// one statement less per webhook: the engine is the only writer. On
	// PostgreSQL it is read after the row lock is held, by a statement of
	// its own: folded into the locking one, it would read the snapshot
	// taken before waiting for the lock and miss the event another replica
	// committed meanwhile.
	seenCheck := `EXISTS (SELECT 1 FROM webhook_events e WHERE e.transaction_id = ? AND e.status = ? AND e.outcome <> ?)`
	if s.dialect == models.DialectPostgres {
		// Two replicas applying events of one charge take turns.
		query = fmt.Sprintf(query, "false") + " FOR UPDATE"
	} else {
		query = fmt.Sprintf(query, seenCheck)
		queryArgs = append(queryArgs, d.TransactionID, d.Status, models.OutcomeDuplicate)
	}
	for _, r := range d.References {
		queryArgs = append(queryArgs, r)
	}
	rows, err := s.txRows(tx, query, queryArgs...)
	if err != nil {
		return "", "", err
	}
	var found []ChargeState
	var seen bool    // the one charge found saw this event before
	var earlier bool // the one charge found has earlier offers
	for rows.Next() {
		var c ChargeState
		if err := rows.Scan(append(c.scanDest(), &earlier, &seen)...); err != nil {
			rows.Close()
			return "", "", err
		}
		found = append(found, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", "", err
	}
	switch len(found) {
	case 0:
		return models.OutcomeUnmatched, "no tracked ref_payment among references " + maskedRefs(d.References), nil
	case 1:
	default:
		refs := make([]string, len(found))
		for i, r := range found {
			refs[i] = r.RefPayment
		}
		return models.OutcomeUnmatched, "ambiguous: references match several charges: " + maskedRefs(refs), nil
	}
	c := found[0]
	if foreign := foreignReferences(c, d.References); len(foreign) > 0 {
		return models.OutcomeUnmatched, "references " + maskedRefs(foreign) + " were not sent with the charge its reference " +
			redact.ID(c.RefPayment) + " names: the payment may be another customer's", nil
	}
	ev.ChargeID, ev.RefPayment = &c.ID, c.RefPayment
	if earlier {
		if err := s.earlierOffers(tx, &c); err != nil {
			return "", "", err
		}
	}

	if s.dialect == models.DialectPostgres {
		if err := s.txScan(tx, []any{&seen}, `SELECT `+seenCheck,
			d.TransactionID, d.Status, models.OutcomeDuplicate); err != nil {
			return "", "", err
		}
	}
	if seen {
		return models.OutcomeDuplicate, "transaction " + d.TransactionID + " with status " + d.Status + " was received before", nil
	}

	dec := decide(c)
	if err := s.changeCharge(tx, c.ID, dec, now); err != nil {
		return "", "", err
	}
	if dec.SettlesParent && c.ParentRef != "" {
		if err := s.settleParent(tx, c, d, dec, now); err != nil {
			return "", "", err
		}
	}
	to := dec.statusAfter(c)
	if dec.Outcome == models.OutcomeApplied {
		ev.StatusAfter = to
	}
	line := webhookLine(d, dec)
	// The timeline entries go in one statement, after the write-back job
	// whose number the second one names.
	const event = "(?, ?, ?, ?, ?, ?)"
	values, events := event, []any{c.ID, "webhook", c.Status, to, line, now}
	if dec.Writeback != nil {
		// A job for this (ref, transaction, kind) already queued stays as it is.
		var jobID int64
		err := s.insertReturningID(tx, &jobID, `INSERT INTO writebacks (charge_id, ref_payment, transaction_id, kind, payment, state,
			attempts, next_attempt_at, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, '', ?, ?)
			ON CONFLICT DO NOTHING RETURNING id`,
			c.ID, c.RefPayment, d.TransactionID, dec.writebackKind(), string(dec.Writeback), models.WritebackPending, now, now, now)
		switch {
		case errors.Is(err, errNoRow):
		case err != nil:
			return "", "", err
		default:
			res.WritebackID = jobID
			values += ", " + event
			events = append(events, c.ID, "writeback_enqueued", to, to, writebackLine(jobID, d.TransactionID, dec.writebackKind()), now)
		}
	}
	if err := s.txExec(tx, `INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at) VALUES `+values, events...); err != nil {
		return "", "", err
	}
	return dec.Outcome, dec.Detail, nil
}

// settleParent writes dec's change of c to c's parent row, as dec.SettlesParent says.
// On PostgreSQL the parent is locked after c, the order every settle takes.
func (s *Store) settleParent(tx *gorm.DB, c ChargeState, d WebhookDelivery, dec Decision, now time.Time) error {
	query := `SELECT id, status FROM charges WHERE ref_payment = ?`
	if s.dialect == models.DialectPostgres {
		query += " FOR UPDATE"
	}
	var id int64
	var from string
	switch err := s.txScan(tx, []any{&id, &from}, query, c.ParentRef); {
	case errors.Is(err, errNoRow):
		return nil // a parent never tracked: nothing to mirror
	case err != nil:
		return err
	}
	dec.OfferNow = false
	if err := s.changeCharge(tx, id, dec, now); err != nil {
		return err
	}
	to := dec.statusAfter(ChargeState{Status: from})
	return s.txExec(tx, `INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, "webhook", from, to, fmt.Sprintf("%s through %s (transaction %s)", to, c.RefPayment, d.TransactionID), now)
}

// bodyColumns is what webhook_events keeps of body: the text, and nil; or,
// when no text column can hold body, a readable copy of it and the exact
// bytes, so that a verified webhook is always stored.
func bodyColumns(body []byte) (text string, raw any) {
	if storable(string(body)) {
		return string(body), nil
	}
	return storableText(string(body)), body
}

// storableText is s with what no text column can hold (see storable)
// replaced by U+FFFD.
func storableText(s string) string {
	if storable(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// foreignReferences are the refs of a webhook that c's item was not sent
// with (its advanced_options.references, its ref_payment and parent's).
// Efipay echoes an item's references: when an ERP fills all three slots,
// the item carries no ref_payment of its own, and one of its references
// may equal another customer's ref_payment; such a webhook must not be
// booked to that customer. A charge whose item cannot be read, or has no
// advanced_options, has none.
func foreignReferences(c ChargeState, refs []string) []string {
	if len(refs) == 1 || c.Payload == "" {
		return nil // the one reference is c's own
	}
	var item struct {
		AdvancedOptions *struct {
			References []string `json:"references"`
		} `json:"advanced_options"`
	}
	if json.Unmarshal([]byte(c.Payload), &item) != nil || item.AdvancedOptions == nil {
		return nil
	}
	sent := item.AdvancedOptions.References
	var foreign []string
	for _, r := range refs {
		if r != c.RefPayment && r != c.ParentRef && !slices.Contains(sent, r) {
			foreign = append(foreign, r)
		}
	}
	return foreign
}

// maskedRefs lists refs for a detail that is logged, each masked as an ID
// number is: merchants often use the customer's cédula as a reference. The
// stored body keeps them whole.
func maskedRefs(refs []string) string {
	masked := make([]string, len(refs))
	for i, r := range refs {
		masked[i] = redact.ID(r)
	}
	return strings.Join(masked, ", ")
}

// chargeStateColumns are the charges columns a ChargeState holds, in the
// order of scanDest.
const chargeStateColumns = `id, ref_payment, parent_ref, id_number, payer_name, status, amount, paid_amount,
	currency_type, advance_allowed, transaction_id, payload`

func (c *ChargeState) scanDest() []any {
	return []any{&c.ID, &c.RefPayment, &c.ParentRef, &c.IDNumber, &c.PayerName, &c.Status, &c.Amount,
		&c.PaidAmount, &c.Currency, &c.AdvanceAllowed, &c.TransactionID, &c.Payload}
}

// changedColumns are the charge's columns a Decision may set, besides
// updated_at, in the order of chargeChange.
var changedColumns = [...]string{"status", "paid_amount", "paid_at", "transaction_id", "offer_after"}

// chargeChange is what dec writes to its charge: updated_at, then the
// values of changedColumns, nil where the column keeps its value.
func (s *Store) chargeChange(dec Decision, now time.Time) [1 + len(changedColumns)]any {
	change := [1 + len(changedColumns)]any{s.timeArg(now)}
	if dec.NewStatus != "" {
		change[1] = dec.NewStatus
	}
	if dec.PaidAmount != nil {
		change[2] = dec.PaidAmount.String()
	}
	if dec.PaidAt != nil {
		change[3] = s.timeArg(*dec.PaidAt)
	}
	if dec.TransactionID != "" {
		change[4] = dec.TransactionID
	}
	if dec.OfferNow {
		change[5] = s.timeArg(now)
	}
	return change
}

// changeCharge writes dec's change to charge id.
func (s *Store) changeCharge(tx *gorm.DB, id int64, dec Decision, now time.Time) error {
	change := s.chargeChange(dec, now)
	set := []string{"updated_at = ?"}
	args := []any{change[0]}
	for i, v := range change[1:] {
		if v != nil {
			set, args = append(set, changedColumns[i]+" = ?"), append(args, v)
		}
	}
	return s.txExec(tx, "UPDATE charges SET "+strings.Join(set, ", ")+" WHERE id = ?", append(args, id)...)
}

// statusAfter is c's status once dec is applied.
func (dec Decision) statusAfter(c ChargeState) string {
	if dec.NewStatus != "" {
		return dec.NewStatus
	}
	return c.Status
}

// webhookLine is the timeline entry of a webhook applied to its charge.
func webhookLine(d WebhookDelivery, dec Decision) string {
	line := fmt.Sprintf("webhook %s: transaction %s %s %s %s", dec.Outcome, d.TransactionID, d.Status, d.Currency, d.Amount.String())
	if dec.Detail != "" {
		line += ": " + dec.Detail
	}
	return line
}

// writebackLine is the timeline entry of a write-back job queued.
func writebackLine(jobID int64, transactionID, kind string) string {
	if kind == models.WritebackReversal {
		return fmt.Sprintf("write-back #%d queued for the reversal of transaction %s", jobID, transactionID)
	}
	return fmt.Sprintf("write-back #%d queued for transaction %s", jobID, transactionID)
}
