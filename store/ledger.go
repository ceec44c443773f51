package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// The bridge's own ledger (ERP_SOURCE=local): charges kept in ledger_charges,
// created and changed through the admin API or imported from a file, and the
// payments recorded against them in ledger_payments.
//
// Partial payments: paid_amount sums the payments recorded; a charge stays
// open until a payment reported as "paid" arrives or paid_amount reaches the
// amount. An open charge is offered for amount − paid_amount, which is how
// the lookup learns the balance of a partially paid charge.

// Operator actions on a ledger charge, as they appear in StateError.
const (
	ActionChange = "change"
	ActionCancel = "cancel"
)

// LedgerCharge is a charge of the ledger and what became of it.
type LedgerCharge struct {
	// Charge is the content, as the ERP source serves it (full amount).
	Charge erp.Charge
	// Status is models.LedgerOpen, LedgerPaid or LedgerCancelled.
	Status        string
	PaidAmount    decimal.Decimal
	PaidAt        *time.Time
	TransactionID string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// LedgerFilter selects ledger charges for a listing. Zero fields select
// everything.
type LedgerFilter struct {
	IDNumber string
	Status   string
	// Page counts from 1 (0 means 1); PerPage is 1 to 500 (0 means 50).
	Page    int
	PerPage int
}

// LedgerImportOptions tune UpsertLedger.
type LedgerImportOptions struct {
	// Atomic writes everything in one transaction, and nothing at all when a
	// charge is refused. Otherwise each batch of 500 is its own transaction
	// and refused charges are left out.
	Atomic bool
	// Progress, when set, is called after each batch with the number of
	// charges handled so far.
	Progress func(done int)
}

// LedgerImportResult counts what UpsertLedger did.
type LedgerImportResult struct {
	Created   int
	Updated   int
	Unchanged int
	Refused   []LedgerRefusal
	// RolledBack is true when an atomic import was undone because a charge
	// was refused: then nothing was written, whatever the counts say.
	RolledBack bool
}

// LedgerRefusal is a charge UpsertLedger would not write.
type LedgerRefusal struct {
	// Index is the charge's position in UpsertLedger's input.
	Index      int
	RefPayment string
	Reason     string
}

// errLedgerRefused rolls back an atomic import.
var errLedgerRefused = errors.New("store: ledger import refused")

// LedgerHash is the SHA-256 of a charge's content: every field the ERP
// source serves, none of its state (status, payments). Equal content gives
// an equal hash whatever the formatting of amounts ("1000.50" = "1000.5").
// Each field is written length-prefixed, so no two contents collide by
// shifting text from one field to the next. An import hashes every row, so
// this avoids reflection.
func LedgerHash(c erp.Charge) string {
	h := sha256.New()
	buf := make([]byte, 0, 64)
	str := func(s string) {
		buf = strconv.AppendInt(buf[:0], int64(len(s)), 10)
		buf = append(buf, ':')
		h.Write(buf)
		io.WriteString(h, s)
	}
	present := func(ok bool) bool {
		if ok {
			str("1")
		} else {
			str("0")
		}
		return ok
	}
	str(c.RefPayment)
	str(c.IDNumber)
	str(c.PayerName)
	str(c.Description)
	str(c.Amount.String())
	str(c.Currency)
	str(strconv.Itoa(len(c.SelectedTaxes)))
	for _, t := range c.SelectedTaxes {
		str(strconv.FormatInt(t, 10))
	}
	str(c.LimitDate)
	if present(c.Advance != nil) {
		str(c.Advance.Type)
		str(c.Advance.Value.String())
	}
	str(strconv.Itoa(len(c.References)))
	for _, r := range c.References {
		str(r)
	}
	str(c.Picture)
	present(c.HasComments)
	str(c.CommentsLabel)
	if present(c.Discount != nil) {
		str(c.Discount.Type)
		str(c.Discount.Value.String())
		str(c.Discount.BeforeOn)
	}
	if present(c.Delivery != nil) {
		str(c.Delivery.Type)
		str(c.Delivery.Value.String())
	}
	if present(c.RequestAddressDelivery != nil) {
		present(*c.RequestAddressDelivery)
	}
	str(string(c.Metadata))
	return hex.EncodeToString(h.Sum(nil))
}

// ledgerContentColumns are the columns of a charge's content, in the order
// ledgerContent gives their values.
var ledgerContentColumns = []string{
	"ref_payment", "id_number", "payer_name", "description", "amount", "currency_type", "selected_taxes",
	"limit_date", "advance_type", "advance_value", "merchant_references", "picture", "has_comments",
	"comments_label", "discount_type", "discount_value", "discount_before_on", "delivery_type",
	"delivery_value", "request_address_delivery", "metadata", "content_hash",
}

// ledgerContent is c as the values of ledgerContentColumns. Decimals are
// bound as exact strings (TEXT on SQLite, NUMERIC on PostgreSQL).
func ledgerContent(c erp.Charge) ([]any, error) {
	taxes, err := jsonOrEmpty(c.SelectedTaxes, len(c.SelectedTaxes) > 0)
	if err != nil {
		return nil, fmt.Errorf("selected taxes: %w", err)
	}
	refs, err := jsonOrEmpty(c.References, len(c.References) > 0)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	var advType, discType, discOn, delType string
	var advValue, discValue, delValue any
	if a := c.Advance; a != nil {
		advType, advValue = a.Type, a.Value.String()
	}
	if d := c.Discount; d != nil {
		discType, discValue, discOn = d.Type, d.Value.String(), d.BeforeOn
	}
	if d := c.Delivery; d != nil {
		delType, delValue = d.Type, d.Value.String()
	}
	var rad any
	if c.RequestAddressDelivery != nil {
		rad = *c.RequestAddressDelivery
	}
	return []any{
		c.RefPayment, c.IDNumber, c.PayerName, c.Description, c.Amount.String(), c.Currency, taxes,
		c.LimitDate, advType, advValue, refs, c.Picture, c.HasComments,
		c.CommentsLabel, discType, discValue, discOn, delType,
		delValue, rad, string(c.Metadata), LedgerHash(c),
	}, nil
}

func jsonOrEmpty(v any, present bool) (string, error) {
	if !present {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// chargeFromLedgerRow is the content of r. A JSON column that cannot be read
// (only a hand-edited database has one) becomes a Defect, so the charge is
// held back with a reason rather than lost.
func chargeFromLedgerRow(r models.LedgerChargeRow) erp.Charge {
	c := erp.Charge{
		RefPayment: r.RefPayment, IDNumber: r.IDNumber, PayerName: r.PayerName, Description: r.Description,
		Amount: r.Amount, Currency: r.CurrencyType, LimitDate: r.LimitDate, Picture: r.Picture,
		HasComments: r.HasComments, CommentsLabel: r.CommentsLabel,
	}
	defect := func(field, what string) {
		c.Defects = append(c.Defects, erp.Defect{Field: field, Message: "ledger: stored " + what + " cannot be read"})
	}
	if r.SelectedTaxes != "" && json.Unmarshal([]byte(r.SelectedTaxes), &c.SelectedTaxes) != nil {
		defect("recauda_information.selected_taxes", "selected taxes")
	}
	if r.MerchantReferences != "" && json.Unmarshal([]byte(r.MerchantReferences), &c.References) != nil {
		defect("advanced_options.references", "references")
	}
	if r.Metadata != "" {
		if json.Valid([]byte(r.Metadata)) {
			c.Metadata = json.RawMessage(r.Metadata)
		} else {
			defect("recauda_information.metadata", "metadata")
		}
	}
	if r.AdvanceType != "" || r.AdvanceValue.Valid {
		c.Advance = &erp.Advance{Type: r.AdvanceType, Value: r.AdvanceValue.Decimal}
	}
	if r.DiscountType != "" || r.DiscountValue.Valid || r.DiscountBeforeOn != "" {
		c.Discount = &erp.Discount{Type: r.DiscountType, Value: r.DiscountValue.Decimal, BeforeOn: r.DiscountBeforeOn}
	}
	if r.DeliveryType != "" || r.DeliveryValue.Valid {
		c.Delivery = &erp.Delivery{Type: r.DeliveryType, Value: r.DeliveryValue.Decimal}
	}
	if r.RequestAddressDelivery != nil {
		v := *r.RequestAddressDelivery
		c.RequestAddressDelivery = &v
	}
	return c
}

func ledgerFromRow(r models.LedgerChargeRow) LedgerCharge {
	return LedgerCharge{
		Charge: chargeFromLedgerRow(r), Status: r.Status, PaidAmount: r.PaidAmount, PaidAt: r.PaidAt,
		TransactionID: r.TransactionID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// insertLedger writes charges with one INSERT. With upsert, a ref already in
// the ledger has its content replaced, but only while it is open and
// belongs to the same ID number: the statement re-checks what the caller
// decided, so a concurrent payment or cancellation is never overwritten.
func insertLedger(tx *gorm.DB, charges []erp.Charge, now time.Time, upsert bool) error {
	var sb strings.Builder
	sb.WriteString("INSERT INTO ledger_charges (")
	sb.WriteString(strings.Join(ledgerContentColumns, ", "))
	sb.WriteString(", status, paid_amount, created_at, updated_at) VALUES ")
	row := "(" + strings.Repeat("?, ", len(ledgerContentColumns)) + "'" + models.LedgerOpen + "', '0', ?, ?)"
	args := make([]any, 0, len(charges)*(len(ledgerContentColumns)+2))
	for i, c := range charges {
		values, err := ledgerContent(c)
		if err != nil {
			return fmt.Errorf("%s: %w", c.RefPayment, err)
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
		args = append(append(args, values...), now, now)
	}
	if upsert {
		sb.WriteString(" ON CONFLICT (ref_payment) DO UPDATE SET ")
		for i, col := range ledgerContentColumns[2:] { // not ref_payment, id_number
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(col + " = excluded." + col)
		}
		sb.WriteString(", updated_at = excluded.updated_at WHERE ledger_charges.status = '" + models.LedgerOpen +
			"' AND ledger_charges.id_number = excluded.id_number")
	}
	return tx.Exec(sb.String(), args...).Error
}

// CreateLedgerCharge adds c to the ledger, open and unpaid. A ref_payment
// already in the ledger (in any state) is ErrConflict. It does not validate
// c: that is the caller's job.
func (s *Store) CreateLedgerCharge(ctx context.Context, c erp.Charge) (LedgerCharge, error) {
	now := s.now()
	if err := s.writeTx(ctx, func(tx *gorm.DB) error { return insertLedger(tx, []erp.Charge{c}, now, false) }); err != nil {
		return LedgerCharge{}, translate("store: create ledger charge", err)
	}
	return LedgerCharge{Charge: c, Status: models.LedgerOpen, PaidAmount: decimal.Zero, CreatedAt: now, UpdatedAt: now}, nil
}

// LedgerCharge returns the ledger charge ref. Unknown ref: ErrNotFound.
func (s *Store) LedgerCharge(ctx context.Context, ref string) (LedgerCharge, error) {
	var r models.LedgerChargeRow
	if err := s.read.WithContext(ctx).Where("ref_payment = ?", ref).Take(&r).Error; err != nil {
		return LedgerCharge{}, translate("store: ledger charge", err)
	}
	return ledgerFromRow(r), nil
}

// ListLedger returns one page of ledger charges, most recent change first,
// and how many match the filter in all.
func (s *Store) ListLedger(ctx context.Context, f LedgerFilter) ([]LedgerCharge, int64, error) {
	q := s.read.WithContext(ctx).Model(&models.LedgerChargeRow{})
	if f.IDNumber != "" {
		q = q.Where("id_number = ?", f.IDNumber)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	var rows []models.LedgerChargeRow
	total, err := listPage(q, f.Page, f.PerPage, "updated_at DESC, id DESC", nil, &rows)
	if err != nil {
		return nil, 0, translate("store: list ledger", err)
	}
	out := make([]LedgerCharge, len(rows))
	for i, r := range rows {
		out[i] = ledgerFromRow(r)
	}
	return out, total, nil
}

// UpdateLedgerCharge changes the content of the open charge ref: change gets
// the current content and returns the new one (or an error, returned as it
// is, which changes nothing). It runs inside the write transaction, so two
// concurrent changes never lose one another. The ref_payment and the ID
// number cannot change: change's values for them are ignored. A paid or
// cancelled charge is refused with a *StateError; unknown ref: ErrNotFound.
func (s *Store) UpdateLedgerCharge(ctx context.Context, ref string, change func(erp.Charge) (erp.Charge, error)) (LedgerCharge, error) {
	const op = "store: change ledger charge"
	now := s.now()
	var (
		out       LedgerCharge
		changeErr error
	)
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockLedger(tx, ref)
		if err != nil {
			return err
		}
		if r.Status != models.LedgerOpen {
			return &StateError{RefPayment: ref, Action: ActionChange, Status: r.Status}
		}
		out = ledgerFromRow(r)
		next, err := change(out.Charge)
		if err != nil {
			changeErr = err
			return err
		}
		next.RefPayment, next.IDNumber, next.Defects = r.RefPayment, r.IDNumber, nil
		if LedgerHash(next) == r.ContentHash {
			return nil
		}
		values, err := ledgerContent(next)
		if err != nil {
			return err
		}
		var set strings.Builder
		for i, col := range ledgerContentColumns[2:] {
			if i > 0 {
				set.WriteString(", ")
			}
			set.WriteString(col + " = ?")
		}
		args := append(values[2:], now, r.ID)
		if err := tx.Exec("UPDATE ledger_charges SET "+set.String()+", updated_at = ? WHERE id = ?", args...).Error; err != nil {
			return err
		}
		out.Charge, out.UpdatedAt = next, now
		return nil
	})
	var se *StateError
	switch {
	case changeErr != nil:
		return LedgerCharge{}, changeErr
	case errors.As(err, &se):
		return LedgerCharge{}, fmt.Errorf("%s: %w", op, err)
	case err != nil:
		return LedgerCharge{}, translate(op, err)
	}
	return out, nil
}

// CancelLedgerCharge withdraws the charge ref: it is kept, cancelled, and
// never offered again. A cancelled charge is returned unchanged; a paid one
// is refused with a *StateError. What was paid of a partially paid charge
// stays recorded. Unknown ref: ErrNotFound.
func (s *Store) CancelLedgerCharge(ctx context.Context, ref string) (LedgerCharge, error) {
	const op = "store: cancel ledger charge"
	now := s.now()
	var out LedgerCharge
	err := s.writeTx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockLedger(tx, ref)
		if err != nil {
			return err
		}
		switch r.Status {
		case models.LedgerCancelled:
			out = ledgerFromRow(r)
			return nil
		case models.LedgerPaid:
			return &StateError{RefPayment: ref, Action: ActionCancel, Status: r.Status}
		}
		r.Status, r.UpdatedAt = models.LedgerCancelled, now
		out = ledgerFromRow(r)
		return tx.Exec(`UPDATE ledger_charges SET status = ?, updated_at = ? WHERE id = ?`, r.Status, now, r.ID).Error
	})
	var se *StateError
	if errors.As(err, &se) {
		return LedgerCharge{}, fmt.Errorf("%s: %w", op, err)
	}
	if err != nil {
		return LedgerCharge{}, translate(op, err)
	}
	return out, nil
}

// lockLedger reads the charge ref inside tx, locked on PostgreSQL (SQLite
// has one writer).
func (s *Store) lockLedger(tx *gorm.DB, ref string) (models.LedgerChargeRow, error) {
	q := tx.Where("ref_payment = ?", ref)
	if s.dialect == models.DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var r models.LedgerChargeRow
	err := q.Take(&r).Error
	return r, err
}

// ledgerState is what an import compares against.
type ledgerState struct {
	RefPayment  string `gorm:"column:ref_payment"`
	IDNumber    string `gorm:"column:id_number"`
	Status      string `gorm:"column:status"`
	ContentHash string `gorm:"column:content_hash"`
}

// UpsertLedger imports charges, 500 per statement: a ref_payment not in the
// ledger is created open; one whose content (LedgerHash) is the same is
// unchanged, whatever its state; an open one with new content is updated
// (what was paid of it stays). Refused, with the reason: a changed charge
// that is paid or cancelled, one whose ID number differs from the ledger's,
// and a ref_payment given twice. It does not validate the charges.
//
// Without opts.Atomic each batch commits on its own and an error leaves the
// batches before it written. With it, the whole import is one transaction,
// rolled back (RolledBack) when anything is refused.
func (s *Store) UpsertLedger(ctx context.Context, charges []erp.Charge, opts LedgerImportOptions) (LedgerImportResult, error) {
	const op = "store: import ledger"
	now := s.now()
	var res LedgerImportResult
	seen := make(map[string]int, len(charges))
	batch := func(tx *gorm.DB, start int) error {
		part := charges[start:min(start+chunk, len(charges))]
		refs := make([]string, len(part))
		for i, c := range part {
			refs[i] = c.RefPayment
		}
		q := tx.Model(&models.LedgerChargeRow{}).Select("ref_payment", "id_number", "status", "content_hash").
			Where("ref_payment IN ?", refs)
		if s.dialect == models.DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var existing []ledgerState
		if err := q.Find(&existing).Error; err != nil {
			return err
		}
		byRef := make(map[string]ledgerState, len(existing))
		for _, e := range existing {
			byRef[e.RefPayment] = e
		}
		write := make([]erp.Charge, 0, len(part))
		refuse := func(i int, reason string) {
			res.Refused = append(res.Refused, LedgerRefusal{Index: start + i, RefPayment: part[i].RefPayment, Reason: reason})
		}
		for i, c := range part {
			if first, dup := seen[c.RefPayment]; dup {
				refuse(i, fmt.Sprintf("ref_payment repeats charge #%d of the import", first+1))
				continue
			}
			seen[c.RefPayment] = start + i
			e, ok := byRef[c.RefPayment]
			switch {
			case !ok:
				res.Created++
				write = append(write, c)
			case e.IDNumber != c.IDNumber:
				refuse(i, "ref_payment belongs to another id_number in the ledger")
			case e.ContentHash == LedgerHash(c):
				res.Unchanged++
			case e.Status != models.LedgerOpen:
				refuse(i, "the ledger's charge is "+e.Status+" and cannot change")
			default:
				res.Updated++
				write = append(write, c)
			}
		}
		if len(write) > 0 {
			if err := insertLedger(tx, write, now, true); err != nil {
				return err
			}
		}
		if opts.Progress != nil {
			opts.Progress(start + len(part))
		}
		return nil
	}

	if opts.Atomic {
		err := s.writeTx(ctx, func(tx *gorm.DB) error {
			for start := 0; start < len(charges); start += chunk {
				if err := batch(tx, start); err != nil {
					return err
				}
			}
			if len(res.Refused) > 0 {
				return errLedgerRefused
			}
			return nil
		})
		if errors.Is(err, errLedgerRefused) {
			res.RolledBack = true
			return res, nil
		}
		if err != nil {
			return LedgerImportResult{}, translate(op, err)
		}
		return res, nil
	}
	for start := 0; start < len(charges); start += chunk {
		if err := s.writeTx(ctx, func(tx *gorm.DB) error { return batch(tx, start) }); err != nil {
			return res, translate(op, err)
		}
	}
	return res, nil
}

// LedgerHashes returns the content hash of each of refs in the ledger;
// refs not in it are absent. One query per 500 refs.
func (s *Store) LedgerHashes(ctx context.Context, refs []string) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	for start := 0; start < len(refs); start += chunk {
		var rows []ledgerState
		err := s.read.WithContext(ctx).Model(&models.LedgerChargeRow{}).Select("ref_payment", "content_hash").
			Where("ref_payment IN ?", refs[start:min(start+chunk, len(refs))]).Find(&rows).Error
		if err != nil {
			return nil, translate("store: ledger hashes", err)
		}
		for _, r := range rows {
			out[r.RefPayment] = r.ContentHash
		}
	}
	return out, nil
}

// LedgerPending returns the open charges of idNumber, oldest first, each for
// what is left to pay: amount − paid_amount. A charge already partly paid is
// offered without its advance and discount: the balance is due in full.
func (s *Store) LedgerPending(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	var rows []models.LedgerChargeRow
	if err := s.read.WithContext(ctx).Where("id_number = ? AND status = ?", idNumber, models.LedgerOpen).
		Order("id").Find(&rows).Error; err != nil {
		return nil, translate("store: ledger pending", err)
	}
	out := make([]erp.Charge, 0, len(rows))
	for _, r := range rows {
		c := chargeFromLedgerRow(r)
		if r.PaidAmount.IsPositive() {
			c.Amount = r.Amount.Sub(r.PaidAmount)
			c.Advance, c.Discount = nil, nil
			if !c.Amount.IsPositive() {
				continue
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// LedgerRecordPayment records p against its charge, once per (ref_payment,
// transaction id): recording it again changes nothing. The charge becomes
// paid when p says "paid" (Efipay collected what settles it, maybe less
// after an early discount) or when the payments reach its amount; until then
// it stays open for the balance. A payment is recorded whatever the charge's
// state: the money was received. found is false, and nothing is written,
// when the ledger has no charge p.RefPayment.
func (s *Store) LedgerRecordPayment(ctx context.Context, p erp.Payment) (found bool, err error) {
	const op = "store: record ledger payment"
	now := s.now()
	err = s.writeTx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockLedger(tx, p.RefPayment)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		paidAt := p.PaidAt.UTC()
		if p.PaidAt.IsZero() {
			paidAt = now
		}
		ins := tx.Exec(`INSERT INTO ledger_payments (ledger_charge_id, ref_payment, transaction_id, amount, currency_type,
			status, payment_method, paid_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (ref_payment, transaction_id) DO NOTHING`,
			r.ID, r.RefPayment, p.TransactionID, p.Amount.String(), p.Currency, p.Status, p.PaymentMethod, paidAt, now)
		if ins.Error != nil || ins.RowsAffected == 0 {
			return ins.Error // 0 rows: recorded before
		}
		paid := r.PaidAmount.Add(p.Amount)
		status := r.Status
		if p.Status == models.StatusPaid || paid.GreaterThanOrEqual(r.Amount) {
			status = models.LedgerPaid
		}
		return tx.Exec(`UPDATE ledger_charges SET paid_amount = ?, paid_at = ?, transaction_id = ?, status = ?,
			updated_at = ? WHERE id = ?`, paid.String(), paidAt, p.TransactionID, status, now, r.ID).Error
	})
	if err != nil {
		return false, translate(op, err)
	}
	return found, nil
}

// LedgerRecordReversal undoes the payment r.TransactionID recorded against
// charge r.RefPayment: the payment is marked reversed, its amount leaves the
// paid amount, and a paid charge is open again, so the debt is offered
// again (a cancelled one stays cancelled). Reversing it again, or reversing
// a payment the ledger never recorded, changes nothing. found is false, and
// nothing is written, when the ledger has no charge r.RefPayment.
func (s *Store) LedgerRecordReversal(ctx context.Context, r erp.Reversal) (found bool, err error) {
	const op = "store: record ledger reversal"
	now := s.now()
	err = s.writeTx(ctx, func(tx *gorm.DB) error {
		c, err := s.lockLedger(tx, r.RefPayment)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var pays []models.LedgerPaymentRow
		if err := tx.Where("ref_payment = ? AND transaction_id = ? AND status <> ?",
			c.RefPayment, r.TransactionID, models.StatusReversed).Limit(1).Find(&pays).Error; err != nil {
			return err
		}
		if len(pays) == 0 {
			return nil // reversed before, or never recorded
		}
		if err := tx.Exec(`UPDATE ledger_payments SET status = ? WHERE id = ?`, models.StatusReversed, pays[0].ID).Error; err != nil {
			return err
		}
		paid := decimal.Max(c.PaidAmount.Sub(pays[0].Amount), decimal.Zero)
		status := c.Status
		if status == models.LedgerPaid && paid.LessThan(c.Amount) {
			status = models.LedgerOpen
		}
		if paid.IsZero() {
			return tx.Exec(`UPDATE ledger_charges SET paid_amount = ?, paid_at = NULL, transaction_id = '', status = ?,
				updated_at = ? WHERE id = ?`, paid.String(), status, now, c.ID).Error
		}
		return tx.Exec(`UPDATE ledger_charges SET paid_amount = ?, status = ?, updated_at = ? WHERE id = ?`,
			paid.String(), status, now, c.ID).Error
	})
	if err != nil {
		return false, translate(op, err)
	}
	return found, nil
}
