package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// chunk bounds the rows of one statement, well under SQLite's limit on bound
// parameters, whatever a customer's number of charges.
const chunk = 500

// Tracked is what the store knows of a ref_payment.
type Tracked struct {
	RefPayment     string
	IDNumber       string
	Status         string
	SendCount      int
	OfferAfter     *time.Time
	Amount         decimal.Decimal
	PaidAmount     decimal.Decimal
	AdvanceAllowed bool
	ParentRef      string
	// LimitDate is the limit_date of the last item sent ("YYYY-MM-DD", empty:
	// none): Efipay accepts no payment of the offer after it.
	LimitDate string
}

// Offerable reports whether the charge may be offered to its customer at now.
func (t Tracked) Offerable(now time.Time) bool {
	return t.OfferAfter != nil && !t.OfferAfter.After(now) && models.OfferableStatus(t.Status)
}

// Tracked returns what the store knows of refs, keyed by ref_payment; refs
// it has never seen are absent. One query per 500 refs. The map may be
// shared with other callers (SQLite's cache): read it, never modify it.
//
// A ref no text column can hold (see storable) is never tracked: it is left
// out of the query, which PostgreSQL would refuse whole.
func (s *Store) Tracked(ctx context.Context, refs []string) (map[string]Tracked, error) {
	if slices.ContainsFunc(refs, func(r string) bool { return !storable(r) }) {
		refs = slices.DeleteFunc(slices.Clone(refs), func(r string) bool { return !storable(r) })
	}
	var gen uint64
	if s.cache != nil {
		gen = s.engine.Generation()
		if out, ok := s.cache.Get(refs, gen); ok {
			return out, nil
		}
	}
	out := make(map[string]Tracked, len(refs))
	for start := 0; start < len(refs); start += chunk {
		part := refs[start:min(start+chunk, len(refs))]
		if err := s.scanTracked(ctx, out, part); err != nil {
			return nil, translate("store: tracked", err)
		}
	}
	if s.cache != nil {
		s.cache.Put(refs, out, gen)
	}
	return out, nil
}

// scanTracked reads what the lookup needs of refs, by hand rather than by
// reflection: this is the lookup's hot path.
func (s *Store) scanTracked(ctx context.Context, into map[string]Tracked, refs []string) error {
	var rows *sql.Rows
	var err error
	if s.trackedRead != nil {
		rows, err = s.trackedRead.Query(ctx, refs)
	} else {
		rows, err = s.read.WithContext(ctx).Raw(`SELECT `+trackedSelect+` FROM charges WHERE ref_payment IN ?`, refs).Rows()
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t Tracked
		var offerAfter sql.NullTime
		if err := rows.Scan(&t.RefPayment, &t.IDNumber, &t.Status, &t.SendCount, &offerAfter, &t.Amount,
			&t.PaidAmount, &t.AdvanceAllowed, &t.ParentRef, &t.LimitDate); err != nil {
			return err
		}
		if offerAfter.Valid {
			at := offerAfter.Time.UTC()
			t.OfferAfter = &at
		}
		into[t.RefPayment] = t
	}
	return rows.Err()
}

// trackedColumns are what scanTracked reads of a charge, in its order.
var trackedColumns = []string{"ref_payment", "id_number", "status", "send_count", "offer_after", "amount", "paid_amount", "advance_allowed", "parent_ref", "limit_date"}

var trackedSelect = strings.Join(trackedColumns, ", ")

// trackedReadSizes are the row counts of SQLite's prepared reads of
// tracked refs: a customer's few charges exactly, longer lists in powers of
// two up to chunk.
var trackedReadSizes = [...]int{1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64, 128, 256, chunk}

// trackedReadText is the read of size tracked refs.
func trackedReadText(size int) string {
	return `SELECT ` + trackedSelect + ` FROM charges WHERE ref_payment IN (` + placeholders(size) + `)`
}

func trackedOf(r models.ChargeRow) Tracked {
	return Tracked{
		RefPayment: r.RefPayment, IDNumber: r.IDNumber, Status: r.Status, SendCount: r.SendCount,
		OfferAfter: r.OfferAfter, Amount: r.Amount, PaidAmount: r.PaidAmount, AdvanceAllowed: r.AdvanceAllowed,
		ParentRef: r.ParentRef, LimitDate: r.LimitDate,
	}
}

// Derived returns the charges derived from each of parents (balances and
// re-issues), keyed by parent ref, oldest first.
func (s *Store) Derived(ctx context.Context, parents []string) (map[string][]Tracked, error) {
	out := map[string][]Tracked{}
	for start := 0; start < len(parents); start += chunk {
		part := parents[start:min(start+chunk, len(parents))]
		var rows []models.ChargeRow
		err := s.read.WithContext(ctx).Select(trackedColumns).Where("parent_ref IN ?", part).Order("id").Find(&rows).Error
		if err != nil {
			return nil, translate("store: derived", err)
		}
		for _, r := range rows {
			out[r.ParentRef] = append(out[r.ParentRef], trackedOf(r))
		}
	}
	return out, nil
}

// Offer is a valid item the lookup wants to send.
type Offer struct {
	RefPayment     string
	IDNumber       string
	PayerName      string
	Description    string
	Amount         decimal.Decimal
	Currency       string
	AdvanceAllowed bool
	// ParentRef is the original ref of a derived balance charge.
	ParentRef string
	// Payload is the exact JSON item that will be sent.
	Payload []byte
	// Resend: the ref was offered before. If its item changed, the one it
	// replaces is kept, and the timeline says what changed.
	Resend bool
	// DueDate is the ERP's limit date; LimitDate the one the item carries
	// (they differ for an overdue charge). Empty: none.
	DueDate   string
	LimitDate string
	// Note, when not empty, says what the lookup changed in the item; the
	// timeline records it with the send.
	Note string
}

// HeldBack is a record that broke a rule and will not be sent.
type HeldBack struct {
	RefPayment string
	IDNumber   string
	Violations []validation.Violation
}

// ClaimRequest is one lookup's write: the offers to claim and the records
// held back.
type ClaimRequest struct {
	Offers   []Offer
	HeldBack []HeldBack
	// ResendAfter is how long until an unpaid claimed charge may be offered
	// again; 0 means never (until released).
	ResendAfter time.Duration
	// DescribeChange, when set, says what differs between an item sent
	// before and the one that replaces it, for the timeline. It runs inside
	// the claim's transaction, so it must not do I/O.
	DescribeChange func(before, after []byte) string
}

// Claim is what one lookup won: the refs it may send, and what Release needs
// to give them back.
type Claim struct {
	At time.Time
	// Refs are the claimed ref_payments, in no particular order.
	Refs []string
	// firstSend are the refs this claim inserted (sent for the first time).
	firstSend []string
	resent    []string
}

// Claim records held-back records and claims offers, all in one
// transaction. A ref is claimed only if it is new, or tracked for the same
// customer, unpaid, and due to be offered again; the check and the claim are
// one statement, so two concurrent lookups never both win the same ref.
func (s *Store) Claim(ctx context.Context, req ClaimRequest) (Claim, error) {
	now := s.now()
	claim := Claim{At: now}
	if len(req.Offers) == 0 && len(req.HeldBack) == 0 {
		return claim, nil
	}
	var offerAfter *time.Time
	if req.ResendAfter > 0 {
		t := now.Add(req.ResendAfter)
		offerAfter = &t
	}
	// Rows are written in key order, whatever order the ERP answered in, so
	// that two lookups claiming the same refs at once (two replicas on
	// PostgreSQL) take the row locks in the same order: one waits for the
	// other instead of both deadlocking.
	offers := slices.SortedFunc(slices.Values(req.Offers), func(a, b Offer) int {
		return strings.Compare(a.RefPayment, b.RefPayment)
	})
	held := slices.SortedFunc(slices.Values(req.HeldBack), func(a, b HeldBack) int {
		return cmp.Or(strings.Compare(a.RefPayment, b.RefPayment), strings.Compare(a.IDNumber, b.IDNumber))
	})
	// The arguments are built here, by the caller, so that the engine
	// (on SQLite, one goroutine for every writer) only runs the statements.
	work := &claimWork{offers: offers, now: now, args: s.claimArgs(offers, now, offerAfter),
		notes: slices.ContainsFunc(offers, func(o Offer) bool { return o.Note != "" })}
	var resent []string
	for _, o := range offers {
		if o.Resend {
			resent = append(resent, o.RefPayment)
		}
	}
	alone := func(tx *gorm.DB) error {
		if err := upsertHeldBack(tx, held, now); err != nil {
			return err
		}
		var before map[string]offered
		if len(resent) > 0 {
			var err error
			if before, err = s.offeredBefore(tx, resent); err != nil {
				return err
			}
		}
		work.won = nil
		if err := s.runClaims(tx, []*claimWork{work}); err != nil {
			return err
		}
		if len(resent) == 0 {
			return nil
		}
		return s.keepReplaced(tx, work, before, req.DescribeChange)
	}
	// A re-offer, which may replace an item that must be kept, runs alone:
	// re-offers are few beside first offers and the steady state. The
	// usual claim may run with the other claims of its batch (SQLite).
	usual := len(held) == 0 && len(resent) == 0
	var err error
	// The one statement writes the timeline without notes.
	if _, oneStatement := claimsInOneStatement[len(offers)]; s.dialect == models.DialectPostgres && usual && !work.notes && oneStatement {
		err = s.claimInOneStatement(ctx, work)
	} else if usual {
		err = s.commitJob(ctx, s.claims.Job(work, alone))
	} else {
		err = s.writeTx(ctx, alone)
	}
	if err != nil {
		return Claim{}, translate("store: claim", err)
	}
	for _, r := range work.won {
		claim.Refs = append(claim.Refs, r.RefPayment)
		if r.SendCount == 1 {
			claim.firstSend = append(claim.firstSend, r.RefPayment)
		} else {
			claim.resent = append(claim.resent, r.RefPayment)
		}
	}
	return claim, nil
}

// claimWork is the offers of one claim, all for one customer, and the refs
// they won once the engine has run them.
type claimWork struct {
	offers []Offer // in ref order
	now    time.Time
	// notes: some offer has a Note.
	notes bool
	// args are the offers' rows of the claim statement, claimColumns each.
	args []any
	won  []wonRow
}

// claimColumns is the number of arguments of one row of the claim
// statement.
const claimColumns = 17

// claimArgs are the statement's arguments for offers, built (hashed,
// formatted) by the caller rather than by the engine.
func (s *Store) claimArgs(offers []Offer, now time.Time, offerAfter *time.Time) []any {
	at := s.timeArg(now)
	var after any
	if offerAfter != nil {
		after = s.timeArg(*offerAfter)
	}
	args := make([]any, 0, len(offers)*claimColumns)
	for _, o := range offers {
		args = append(args, o.RefPayment, o.IDNumber, o.PayerName, o.Description, o.Amount.String(), o.Currency,
			o.AdvanceAllowed, string(o.Payload), PayloadHash(o.Payload), at, at, after, o.ParentRef, at, at, o.DueDate, o.LimitDate)
	}
	return args
}

// mergeClaims runs the claims of several jobs of the SQLite engine's batch
// together: runClaims, which does them all. If it fails, the engine runs
// each alone, which starts afresh.
func (s *Store) mergeClaims(tx *gorm.DB, works []*claimWork) (left []bool, err error) {
	if err := s.runClaims(tx, works); err != nil {
		for _, w := range works {
			w.won = nil
		}
		return nil, err
	}
	return nil, nil
}

// runClaims claims the offers of works (several works per statement when
// they fit), records each send on the charge's timeline, and clears the
// held-back records of what was won. Each work's won is set. Two works
// offering the same ref: the first in order wins it, unless it may not
// (another customer's, or not yet due) and a later one may; one row is won
// by one work only.
func (s *Store) runClaims(tx *gorm.DB, works []*claimWork) error {
	total := 0
	for _, w := range works {
		total += len(w.offers)
	}
	var events []sendEvent
	wi, k := 0, 0 // the next row: works[wi].offers[k]
	for _, size := range statementSizes(total) {
		args := make([]any, 0, size*claimColumns)
		var group []*claimWork
		for range size {
			w := works[wi]
			if len(group) == 0 || group[len(group)-1] != w {
				group = append(group, w)
			}
			args = append(args, w.args[k*claimColumns:(k+1)*claimColumns]...)
			if k++; k == len(w.offers) {
				wi, k = wi+1, 0
			}
		}
		won, err := s.claimChunk(tx, statement{query: claimStatements[size], args: args})
		if err != nil {
			return err
		}
		for _, r := range won {
			w := claimant(group, r)
			if w == nil {
				return fmt.Errorf("claim returned %s for %s, which no claim offered", r.RefPayment, r.IDNumber)
			}
			w.won = append(w.won, r.wonRow)
			events = append(events, sendEvent{row: r.wonRow, at: w.now, note: w.note(r.RefPayment)})
		}
	}
	if err := s.recordSends(tx, events); err != nil {
		return err
	}
	// A record that was held back and now goes out is fixed.
	var args []any
	for _, w := range works {
		for _, r := range w.won {
			args = append(args, r.RefPayment, w.offers[0].IDNumber)
		}
	}
	for _, size := range statementSizes(len(args) / 2) {
		if err := s.txExec(tx, heldBackDeletes[size], args[:2*size]...); err != nil {
			return err
		}
		args = args[2*size:]
	}
	return nil
}

// statementRowCounts are the row counts of the multi-row statements of
// claims, largest first: every count below 8, so that a usual claim (a
// customer's few charges) is one statement, and powers of two above.
var statementRowCounts = [...]int{64, 32, 16, 8, 7, 6, 5, 4, 3, 2, 1}

// statementSizes splits n rows of claims into statements, taking the
// largest that fit first. Merged batches come in every size; the texts they
// need come from a small fixed set, which stays prepared (preparing a
// statement of many rows costs SQLite more than running it).
func statementSizes(n int) []int { return splitRows(n, statementRowCounts[:]) }

// splitRows splits n rows into statements of the given row counts, largest
// first.
func splitRows(n int, counts []int) []int {
	var sizes []int
	for _, size := range counts {
		for ; n >= size; n -= size {
			sizes = append(sizes, size)
		}
	}
	return sizes
}

// The texts of the claim statements, by row count.
var claimStatements, sendEvents, heldBackDeletes = func() (claims, events, deletes map[int]string) {
	claims, events, deletes = map[int]string{}, map[int]string{}, map[int]string{}
	for _, n := range statementRowCounts {
		claims[n] = claimStatement(n)
		events[n] = `INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at) VALUES ` +
			repeatList("(?, ?, '', '', ?, ?)", n)
		deletes[n] = `DELETE FROM held_back WHERE (ref_payment, id_number) IN (VALUES ` +
			repeatList("(?, ?)", n) + `)`
	}
	return claims, events, deletes
}()

// claimsInOneStatement are, by row count, PostgreSQL's claim as one
// statement: the claim, its timeline entries and the clearing of held-back
// records, in data-modifying CTEs. The last argument is the claim's time.
var claimsInOneStatement = func() map[int]string {
	m := map[int]string{}
	for _, n := range statementRowCounts {
		m[n] = `WITH claimed AS (` + claimStatement(n) + `),
	timeline AS (
		INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at)
		SELECT id, CASE WHEN send_count > 1 THEN 'resent' ELSE 'sent' END, '', '', 'send #' || send_count, CAST(? AS TIMESTAMPTZ)
		FROM claimed
	),
	cleared AS (
		DELETE FROM held_back WHERE (ref_payment, id_number) IN (SELECT ref_payment, id_number FROM claimed)
	)
	SELECT id, ref_payment, send_count, id_number FROM claimed`
	}
	return m
}()

// claimInOneStatement runs w on PostgreSQL, without held-back records to
// store and small enough for one statement, as that one statement, outside
// an explicit transaction: a statement is atomic by itself, and this is one
// round trip to the server instead of five (BEGIN, claim, timeline,
// held-back, COMMIT), each of which waits for the other side to be
// scheduled on a busy machine. It writes what runClaims writes.
func (s *Store) claimInOneStatement(ctx context.Context, w *claimWork) error {
	args := append(slices.Clip(w.args), s.timeArg(w.now))
	rows, err := s.write.WithContext(ctx).Raw(claimsInOneStatement[len(w.offers)], args...).Rows()
	if err != nil {
		return err
	}
	won, err := scanClaimed(rows, len(w.offers))
	if err != nil {
		return err
	}
	w.won = nil
	for _, r := range won {
		if r.IDNumber != w.offers[0].IDNumber {
			return fmt.Errorf("claim returned %s for %s, which it did not offer", r.RefPayment, r.IDNumber)
		}
		w.won = append(w.won, r.wonRow)
	}
	return nil
}

// claimant is the work of group a won row belongs to: the first that
// offered its ref for its customer and has not been given it yet.
func claimant(group []*claimWork, r claimedRow) *claimWork {
	for _, w := range group {
		if w.offers[0].IDNumber != r.IDNumber || slices.ContainsFunc(w.won, func(x wonRow) bool { return x.RefPayment == r.RefPayment }) {
			continue
		}
		if slices.ContainsFunc(w.offers, func(o Offer) bool { return o.RefPayment == r.RefPayment }) {
			return w
		}
	}
	return nil
}

// note is the Note of the offer of ref.
func (w *claimWork) note(ref string) string {
	if !w.notes {
		return ""
	}
	if i, ok := slices.BinarySearchFunc(w.offers, ref, func(o Offer, ref string) int { return strings.Compare(o.RefPayment, ref) }); ok {
		return w.offers[i].Note
	}
	return ""
}

type wonRow struct {
	ID         int64
	RefPayment string
	SendCount  int
}

// claimedRow is a row the claim statement returned.
type claimedRow struct {
	wonRow
	IDNumber string
}

// sendEvent is the timeline entry of a won row, at its claim's time.
type sendEvent struct {
	row  wonRow
	at   time.Time
	note string
}

// statement is one SQL statement and its arguments.
type statement struct {
	query string
	args  []any
}

// claimStatement is the statement that claims rows offers: it inserts the
// refs never seen and re-offers those due again (each row is judged at its
// own claim's time), and returns what it won.
func claimStatement(rows int) string {
	const row = "(?, ?, ?, ?, ?, ?, ?, '" + models.StatusSent + "', ?, ?, 1, ?, ?, ?, '0', ?, ?, ?, ?, ?)"
	return `INSERT INTO charges (ref_payment, id_number, payer_name, description, amount, currency_type,
		advance_allowed, status, payload, payload_hash, send_count, first_sent_at, last_sent_at, offer_after,
		paid_amount, parent_ref, created_at, updated_at, due_date, limit_date) VALUES ` + repeatList(row, rows) +
		` ON CONFLICT (ref_payment) DO UPDATE SET
		send_count = charges.send_count + 1,
		last_sent_at = excluded.last_sent_at,
		offer_after = excluded.offer_after,
		payload = excluded.payload,
		payload_hash = excluded.payload_hash,
		payer_name = excluded.payer_name,
		description = excluded.description,
		amount = excluded.amount,
		currency_type = excluded.currency_type,
		advance_allowed = excluded.advance_allowed,
		due_date = excluded.due_date,
		limit_date = excluded.limit_date,
		updated_at = excluded.updated_at
	WHERE charges.id_number = excluded.id_number
		AND charges.status IN (` + sqlList(models.OfferableStatuses) + `)
		AND charges.offer_after IS NOT NULL
		AND charges.offer_after <= excluded.last_sent_at
	RETURNING id, ref_payment, send_count, id_number`
}

func (s *Store) claimChunk(tx *gorm.DB, st statement) ([]claimedRow, error) {
	rows, err := s.txRows(tx, st.query, st.args...)
	if err != nil {
		return nil, err
	}
	return scanClaimed(rows, len(st.args)/claimColumns)
}

// scanClaimed reads and closes the rows a claim statement returned; n is
// how many it may return at most.
func scanClaimed(rows *sql.Rows, n int) ([]claimedRow, error) {
	defer rows.Close()
	won := make([]claimedRow, 0, n)
	for rows.Next() {
		var w claimedRow
		if err := rows.Scan(&w.ID, &w.RefPayment, &w.SendCount, &w.IDNumber); err != nil {
			return nil, err
		}
		won = append(won, w)
	}
	return won, rows.Err()
}

func (s *Store) recordSends(tx *gorm.DB, events []sendEvent) error {
	for _, size := range statementSizes(len(events)) {
		args := make([]any, 0, size*4)
		for _, e := range events[:size] {
			kind := "sent"
			if e.row.SendCount > 1 {
				kind = "resent"
			}
			detail := "send #" + strconv.Itoa(e.row.SendCount)
			if e.note != "" {
				detail += ": " + e.note
			}
			args = append(args, e.row.ID, kind, detail, e.at)
		}
		if err := s.txExec(tx, sendEvents[size], args...); err != nil {
			return err
		}
		events = events[size:]
	}
	return nil
}

// sqlList is values as a list of SQL string literals, for the constants
// (states, kinds) a hand-written statement names: 'a', 'b'.
func sqlList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

// placeholders is "?, ?, ..." n times.
func placeholders(n int) string { return repeatList("?", n) }

// repeatList is item n times, separated by commas: a statement's
// placeholders or VALUES rows.
func repeatList(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ")
}

// storable reports whether s fits a text column on every dialect:
// PostgreSQL refuses a NUL character and bytes that are not UTF-8.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// storedText is s, or, when it is not storable, s quoted as a Go string
// ("FAC\x001"): a record held back for such a character is still recorded,
// and shown as it is.
func storedText(s string) string {
	if storable(s) {
		return s
	}
	return strconv.Quote(s)
}

func upsertHeldBack(tx *gorm.DB, held []HeldBack, now time.Time) error {
	for start := 0; start < len(held); start += chunk {
		part := held[start:min(start+chunk, len(held))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO held_back (ref_payment, id_number, violations, first_seen_at, last_seen_at, seen_count) VALUES `)
		args := make([]any, 0, len(part)*5)
		for i, h := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			v, err := json.Marshal(h.Violations)
			if err != nil {
				return err
			}
			sb.WriteString("(?, ?, ?, ?, ?, 1)")
			args = append(args, storedText(h.RefPayment), storedText(h.IDNumber), string(v), now, now)
		}
		sb.WriteString(` ON CONFLICT (ref_payment, id_number) DO UPDATE SET
			violations = excluded.violations,
			last_seen_at = excluded.last_seen_at,
			seen_count = held_back.seen_count + 1`)
		if err := tx.Exec(sb.String(), args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// Release gives back what claim won, because its answer never reached the
// caller: charges sent for the first time are forgotten, re-sent ones become
// due again at once. Only rows still carrying this claim's send are touched,
// and a first send is forgotten only while it is still sent with no webhook
// stored for it (one that is still sent becomes due again instead).
func (s *Store) Release(ctx context.Context, claim Claim) error {
	if len(claim.Refs) == 0 {
		return nil
	}
	now := s.now()
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		if len(claim.firstSend) > 0 {
			// A webhook may have come in between: its charge keeps its
			// timeline and write-back, and one still sent is due again.
			if err := tx.Exec(`DELETE FROM charges WHERE ref_payment IN ? AND send_count = 1 AND last_sent_at = ? AND status = ?
				AND NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.charge_id = charges.id)`,
				claim.firstSend, claim.At, models.StatusSent).Error; err != nil {
				return err
			}
			if err := tx.Exec(`INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at)
				SELECT id, 'released', status, status, 'answer not delivered', ? FROM charges
				WHERE ref_payment IN ? AND send_count = 1 AND last_sent_at = ? AND status = ?`,
				now, claim.firstSend, claim.At, models.StatusSent).Error; err != nil {
				return err
			}
			if err := tx.Exec(`UPDATE charges SET offer_after = ?, updated_at = ?
				WHERE ref_payment IN ? AND send_count = 1 AND last_sent_at = ? AND status = ?`,
				now, now, claim.firstSend, claim.At, models.StatusSent).Error; err != nil {
				return err
			}
		}
		if len(claim.resent) > 0 {
			if err := tx.Exec(`INSERT INTO charge_events (charge_id, kind, from_status, to_status, detail, created_at)
				SELECT id, 'released', status, status, 'answer not delivered', ? FROM charges
				WHERE ref_payment IN ? AND last_sent_at = ?`, now, claim.resent, claim.At).Error; err != nil {
				return err
			}
			if err := tx.Exec(`UPDATE charges SET send_count = send_count - 1, offer_after = ?, updated_at = ?
				WHERE ref_payment IN ? AND last_sent_at = ?`, now, now, claim.resent, claim.At).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return translate("store: release", err)
}

// PayloadHash is the hex SHA-256 of an item as sent.
func PayloadHash(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:])
}
