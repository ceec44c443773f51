package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// What the operator's admin API reads and changes. Every list is one query
// for the page and one for the total; every filter is a bound parameter.

// Operator actions on a charge, as they appear in StateError and on the
// timeline (released, deactivated, activated).
const (
	ActionRelease    = "release"
	ActionDeactivate = "deactivate"
	ActionActivate   = "activate"
)

// StateError is an operator action that the charge's current state does not
// allow, e.g. releasing a paid charge. It matches ErrConflict.
type StateError struct {
	RefPayment string
	Action     string
	// Status is the charge's state when the action was refused.
	Status string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("store: cannot %s charge %s: it is %s", e.Action, e.RefPayment, e.Status)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *StateError) Unwrap() error { return ErrConflict }

// chargeListColumns are the columns of a charge listing: everything but the
// payload, which can be large and no list shows.
var chargeListColumns = []string{
	"id", "ref_payment", "id_number", "payer_name", "description", "amount", "currency_type", "advance_allowed",
	"status", "payload_hash", "send_count", "first_sent_at", "last_sent_at", "offer_after", "paid_amount",
	"paid_at", "transaction_id", "parent_ref", "due_date", "limit_date", "created_at", "updated_at",
}

// webhookListColumns are the columns of a webhook event listing: everything
// but the raw body.
var webhookListColumns = []string{
	"id", "received_at", "body_hash", "transaction_id", "status", "amount", "currency_type", "production",
	"payment_method", "ref_payment", "charge_id", "outcome", "detail",
}

// ChargeFilter selects charges for a listing. Zero fields select everything.
type ChargeFilter struct {
	Status     string
	IDNumber   string
	RefPayment string
	// UpdatedFrom and UpdatedBefore bound the last activity:
	// UpdatedFrom ≤ updated_at < UpdatedBefore; a zero time is no bound.
	UpdatedFrom   time.Time
	UpdatedBefore time.Time
	// Page counts from 1 (0 means 1); PerPage is 1 to 500 (0 means 50).
	Page    int
	PerPage int
}

// ListCharges returns one page of charges, most recent activity first, and
// how many match the filter in all. The rows carry no payload. A page past
// the end is empty, with the total.
func (s *Store) ListCharges(ctx context.Context, f ChargeFilter) ([]models.TrackedCharge, int64, error) {
	const op = "store: list charges"
	q := s.read.WithContext(ctx).Model(&models.ChargeRow{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.IDNumber != "" {
		q = q.Where("id_number = ?", f.IDNumber)
	}
	if f.RefPayment != "" {
		q = q.Where("ref_payment = ?", f.RefPayment)
	}
	if !f.UpdatedFrom.IsZero() {
		q = q.Where("updated_at >= ?", f.UpdatedFrom.UTC())
	}
	if !f.UpdatedBefore.IsZero() {
		q = q.Where("updated_at < ?", f.UpdatedBefore.UTC())
	}
	rows := []models.ChargeRow{}
	total, err := listPage(q, f.Page, f.PerPage, "updated_at DESC, id DESC", chargeListColumns, &rows)
	if err != nil {
		return nil, 0, translate(op, err)
	}
	return trackedCharges(rows), total, nil
}

// listPage counts what q matches and, unless the page is past the end, reads
// that page into dest. The count and the page are two statements; a row
// changing in between can make them differ by one, which a listing tolerates.
func listPage(q *gorm.DB, page, perPage int, order string, columns []string, dest any) (int64, error) {
	page = max(page, 1)
	switch {
	case perPage <= 0:
		perPage = 50
	case perPage > 500:
		perPage = 500
	}
	// A new session, so that the count and the page each build their own
	// statement from the filters.
	q = q.Session(&gorm.Session{})
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return 0, err
	}
	if page-1 > math.MaxInt/perPage || int64(page-1)*int64(perPage) >= total {
		return total, nil
	}
	if len(columns) > 0 {
		q = q.Select(columns)
	}
	return total, q.Order(order).Offset((page - 1) * perPage).Limit(perPage).Find(dest).Error
}

// ChargeDetail is a charge with everything that happened to it.
type ChargeDetail struct {
	Charge models.TrackedCharge
	// Events is the timeline, oldest first.
	Events []models.ChargeEvent
	// Webhooks are the webhook events matched to the charge, oldest first,
	// without their bodies.
	Webhooks []models.WebhookEvent
	// Writebacks are the charge's write-back jobs, oldest first.
	Writebacks []Writeback
}

// ChargeDetail returns the charge with ref_payment ref, its timeline, its
// webhook events and its write-back jobs: four queries in one read
// transaction, so the parts agree with each other. Unknown ref: ErrNotFound.
func (s *Store) ChargeDetail(ctx context.Context, ref string) (ChargeDetail, error) {
	var d ChargeDetail
	err := s.read.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var c models.ChargeRow
		if err := tx.Where("ref_payment = ?", ref).Take(&c).Error; err != nil {
			return err
		}
		d.Charge = trackedCharge(c)
		var events []models.ChargeEventRow
		if err := tx.Where("charge_id = ?", c.ID).Order("id").Find(&events).Error; err != nil {
			return err
		}
		d.Events = chargeEvents(events)
		var webhooks []models.WebhookEventRow
		if err := tx.Select(webhookListColumns).Where("charge_id = ?", c.ID).Order("id").Find(&webhooks).Error; err != nil {
			return err
		}
		d.Webhooks = webhookEvents(webhooks)
		var jobs []models.WritebackRow
		if err := tx.Where("charge_id = ?", c.ID).Order("id").Find(&jobs).Error; err != nil {
			return err
		}
		d.Writebacks = make([]Writeback, len(jobs))
		for i, j := range jobs {
			d.Writebacks[i] = writebackFromRow(j)
		}
		return nil
	})
	if err != nil {
		return ChargeDetail{}, translate("store: charge detail", err)
	}
	return d, nil
}

// ReleaseCharge makes a charge in an offerable state (sent, failed,
// reversed) due at the next lookup, with "released" on its timeline, and
// returns it. A charge paid, partially paid, in progress or inactive is
// refused with a *StateError. Unknown ref: ErrNotFound.
func (s *Store) ReleaseCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	return s.operate(ctx, ActionRelease, ref, func(tx *gorm.DB, c *models.ChargeRow, now time.Time) (bool, error) {
		if !models.OfferableStatus(c.Status) {
			return false, &StateError{RefPayment: ref, Action: ActionRelease, Status: c.Status}
		}
		c.OfferAfter = &now
		return true, chargeEvent(tx, c.ID, "released", c.Status, c.Status, "released by the operator: offered at the next lookup", now)
	})
}

// DeactivateCharge stops a charge from being offered: sent, failed or
// reversed becomes inactive, with "deactivated" and the former state on the
// timeline. An inactive charge is returned unchanged. A charge paid,
// partially paid or in progress is refused with a *StateError. Unknown ref:
// ErrNotFound.
func (s *Store) DeactivateCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	return s.operate(ctx, ActionDeactivate, ref, func(tx *gorm.DB, c *models.ChargeRow, now time.Time) (bool, error) {
		switch {
		case c.Status == models.StatusInactive:
			return false, nil
		case !models.OfferableStatus(c.Status):
			return false, &StateError{RefPayment: ref, Action: ActionDeactivate, Status: c.Status}
		}
		from := c.Status
		c.Status, c.OfferAfter = models.StatusInactive, nil
		return true, chargeEvent(tx, c.ID, "deactivated", from, c.Status, "deactivated by the operator: not offered until activated", now)
	})
}

// ActivateCharge undoes DeactivateCharge: the charge returns to the state it
// had before (the from_status of its last "deactivated" event; sent if there
// is none) and is due at the next lookup, with "activated" on the timeline. A
// charge already in an offerable state is returned unchanged. A charge paid,
// partially paid or in progress is refused with a *StateError. Unknown ref:
// ErrNotFound.
func (s *Store) ActivateCharge(ctx context.Context, ref string) (models.TrackedCharge, error) {
	return s.operate(ctx, ActionActivate, ref, func(tx *gorm.DB, c *models.ChargeRow, now time.Time) (bool, error) {
		switch {
		case models.OfferableStatus(c.Status):
			return false, nil
		case c.Status != models.StatusInactive:
			return false, &StateError{RefPayment: ref, Action: ActionActivate, Status: c.Status}
		}
		var before []models.ChargeEventRow
		if err := tx.Select("from_status").Where("charge_id = ? AND kind = ?", c.ID, "deactivated").
			Order("id DESC").Limit(1).Find(&before).Error; err != nil {
			return false, err
		}
		to := models.StatusSent
		if len(before) == 1 && models.OfferableStatus(before[0].FromStatus) {
			to = before[0].FromStatus
		}
		c.Status, c.OfferAfter = to, &now
		return true, chargeEvent(tx, c.ID, "activated", models.StatusInactive, to, "activated by the operator: offered at the next lookup", now)
	})
}

// operate runs one operator action on charge ref in a write transaction:
// read the charge (locked on PostgreSQL), let change decide and edit it, and
// save status and offer_after when it changed something.
func (s *Store) operate(ctx context.Context, action, ref string, change func(tx *gorm.DB, c *models.ChargeRow, now time.Time) (bool, error)) (models.TrackedCharge, error) {
	op := "store: " + action + " charge"
	now := s.now()
	var c models.ChargeRow
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("ref_payment = ?", ref)
		if s.dialect == models.DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Take(&c).Error; err != nil {
			return err
		}
		changed, err := change(tx, &c, now)
		if err != nil || !changed {
			return err
		}
		c.UpdatedAt = now
		return tx.Exec(`UPDATE charges SET status = ?, offer_after = ?, updated_at = ? WHERE id = ?`,
			c.Status, c.OfferAfter, c.UpdatedAt, c.ID).Error
	})
	var se *StateError
	if errors.As(err, &se) {
		return models.TrackedCharge{}, fmt.Errorf("%s: %w", op, err)
	}
	if err != nil {
		return models.TrackedCharge{}, translate(op, err)
	}
	return trackedCharge(c), nil
}

func chargeEvent(tx *gorm.DB, chargeID int64, kind, from, to, detail string, now time.Time) error {
	return tx.Create(&models.ChargeEventRow{ChargeID: chargeID, Kind: kind, FromStatus: from, ToStatus: to, Detail: detail, CreatedAt: now}).Error
}

// Receipt is what a payment receipt shows of a charge.
type Receipt struct {
	Charge models.TrackedCharge
	// Payload is the item last sent to Efipay, as JSON.
	Payload string
	// PaymentMethod is Efipay's payment method of the applied webhook event of
	// the charge's transaction; "" when there is none.
	PaymentMethod string
}

// ChargeReceipt returns charge ref with its payload, and the payment method
// of the applied webhook event of its transaction: two queries. It does not
// check that the charge is paid. Unknown ref: ErrNotFound.
func (s *Store) ChargeReceipt(ctx context.Context, ref string) (Receipt, error) {
	const op = "store: charge receipt"
	db := s.read.WithContext(ctx)
	var c models.ChargeRow
	if err := db.Where("ref_payment = ?", ref).Take(&c).Error; err != nil {
		return Receipt{}, translate(op, err)
	}
	r := Receipt{Charge: trackedCharge(c), Payload: c.Payload}
	if c.TransactionID == "" {
		return r, nil
	}
	var ev []models.WebhookEventRow
	if err := db.Select("payment_method").
		Where("charge_id = ? AND transaction_id = ? AND outcome = ?", c.ID, c.TransactionID, models.OutcomeApplied).
		Order("id DESC").Limit(1).Find(&ev).Error; err != nil {
		return Receipt{}, translate(op, err)
	}
	if len(ev) == 1 {
		r.PaymentMethod = ev[0].PaymentMethod
	}
	return r, nil
}

// HeldBackRecord is one record of the held-back list (table held_back): a
// charge that broke a rule and was not sent, with every violation.
type HeldBackRecord struct {
	RefPayment  string
	IDNumber    string
	Violations  []validation.Violation
	FirstSeenAt time.Time
	LastSeenAt  time.Time
	SeenCount   int
}

// HeldBackFilter selects held-back records. Zero fields select everything.
type HeldBackFilter struct {
	IDNumber   string
	RefPayment string
	// Rule keeps records with at least one violation of this rule id.
	Rule string
	// Page counts from 1 (0 means 1); PerPage is 1 to 500 (0 means 50).
	Page    int
	PerPage int
}

// ListHeldBack returns one page of held-back records, most recently seen
// first, and how many match the filter in all.
func (s *Store) ListHeldBack(ctx context.Context, f HeldBackFilter) ([]HeldBackRecord, int64, error) {
	const op = "store: list held back"
	q := s.read.WithContext(ctx).Model(&models.HeldBackRow{})
	if f.IDNumber != "" {
		q = q.Where("id_number = ?", f.IDNumber)
	}
	if f.RefPayment != "" {
		q = q.Where("ref_payment = ?", f.RefPayment)
	}
	if f.Rule != "" {
		// Violations are a JSON array written by json.Marshal, so a rule
		// appears exactly as "rule":"<id>" in both dialects' TEXT column.
		rule, _ := json.Marshal(f.Rule)
		q = q.Where(`violations LIKE ? ESCAPE '\'`, "%"+likeEscape(`"rule":`+string(rule))+"%")
	}
	var rows []models.HeldBackRow
	total, err := listPage(q, f.Page, f.PerPage, "last_seen_at DESC, id DESC", nil, &rows)
	if err != nil {
		return nil, 0, translate(op, err)
	}
	out := make([]HeldBackRecord, len(rows))
	for i, r := range rows {
		out[i] = heldBackFromRow(r)
	}
	return out, total, nil
}

func heldBackFromRow(r models.HeldBackRow) HeldBackRecord {
	var vs []validation.Violation
	if err := json.Unmarshal([]byte(r.Violations), &vs); err != nil || vs == nil {
		// Never fail a whole listing for one damaged row; say so instead.
		vs = []validation.Violation{{Field: "", Rule: "unreadable", Message: "the stored violations could not be read"}}
	}
	return HeldBackRecord{RefPayment: r.RefPayment, IDNumber: r.IDNumber, Violations: vs,
		FirstSeenAt: r.FirstSeenAt, LastSeenAt: r.LastSeenAt, SeenCount: r.SeenCount}
}

// likeEscape escapes LIKE's wildcards with a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// WebhookEventFilter selects webhook events. Zero fields select everything.
type WebhookEventFilter struct {
	Outcome string
	// Page counts from 1 (0 means 1); PerPage is 1 to 500 (0 means 50).
	Page    int
	PerPage int
}

// ListWebhookEvents returns one page of webhook events, newest first,
// without their bodies, and how many match the filter in all.
func (s *Store) ListWebhookEvents(ctx context.Context, f WebhookEventFilter) ([]models.WebhookEvent, int64, error) {
	q := s.read.WithContext(ctx).Model(&models.WebhookEventRow{})
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	rows := []models.WebhookEventRow{}
	total, err := listPage(q, f.Page, f.PerPage, "id DESC", webhookListColumns, &rows)
	if err != nil {
		return nil, 0, translate("store: list webhook events", err)
	}
	return webhookEvents(rows), total, nil
}

// GetWebhookEvent returns webhook event id with its raw body. Unknown id:
// ErrNotFound.
func (s *Store) GetWebhookEvent(ctx context.Context, id int64) (models.WebhookEvent, error) {
	var row models.WebhookEventRow
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.WebhookEvent{}, translate("store: get webhook event", err)
	}
	return webhookEvent(row), nil
}
