// Package odoo is an erp.Source for Odoo: a customer's pending charges are
// their open customer invoices (account.move), and a payment is recorded
// through Odoo's own "Register payment" wizard (account.payment.register),
// so that Odoo reconciles it with the invoice as if a user had clicked.
//
// It speaks either Odoo's classic JSON-RPC external API (/jsonrpc, every
// version up to 19, deprecated there) or Odoo 19's JSON-2 API (/json/2),
// chosen by Config.Protocol. See README.md.
package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// Protocols.
const (
	ProtocolJSONRPC = "jsonrpc"
	ProtocolJSON2   = "json2"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxResponseBytes = 5 << 20
	DefaultMaxInvoices      = 100
	// maxPartners bounds the candidate partners a lookup reads; the VAT
	// pattern is loose on purpose and vatMatches decides.
	maxPartners = 200
	// maxDescription is Efipay's limit on description.
	maxDescription = 191
)

// Config is the "odoo" section of the ERP configuration file. url, login,
// database and api_key may use ${ENV_VAR}.
type Config struct {
	// URL is Odoo's base URL: https://mycompany.odoo.com.
	URL string `yaml:"url"`
	// Protocol is jsonrpc (default; any Odoo version) or json2 (Odoo 19+).
	Protocol string `yaml:"protocol"`
	// Database is the database name. Required for jsonrpc; for json2 it is
	// sent as X-Odoo-Database when set (needed when the server hosts several).
	Database string `yaml:"database"`
	// Login is the user's login (jsonrpc only; json2 knows the user by key).
	Login string `yaml:"login"`
	// APIKey is the user's API key (Preferences > Account Security); jsonrpc
	// also accepts the password. Use a dedicated user with accounting rights.
	APIKey string `yaml:"api_key"`
	// CompanyID restricts invoices (and payments) to one company; 0 means
	// every company the user may see.
	CompanyID int64 `yaml:"company_id"`
	// JournalID is the bank journal payments are recorded in; 0 turns
	// write-back off.
	JournalID int64 `yaml:"journal_id"`
	// PaymentMethodLineID is the journal's payment method line to use; 0
	// lets Odoo pick the journal's default.
	PaymentMethodLineID int64 `yaml:"payment_method_line_id"`
	// MemoField is account.payment's field holding the transaction ID:
	// "memo" (Odoo 18+) or "ref" (up to 17). Empty asks Odoo once.
	MemoField string `yaml:"memo_field"`
	// Timeout of one request to Odoo (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxResponseBytes caps an answer (default 5 MiB).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxInvoices caps the invoices offered per customer, oldest due first
	// (default 100).
	MaxInvoices int `yaml:"max_invoices"`
}

// Source reads open invoices from Odoo. It is safe for concurrent use.
type Source struct {
	cfg Config
	rpc caller
	log *slog.Logger
	now func() time.Time

	mu        sync.Mutex
	memoField string
}

// New checks cfg and returns a Source; every problem is reported at once.
// It does not contact Odoo (Check does). A nil logger discards.
func New(cfg Config, logger *slog.Logger) (*Source, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("odoo: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"url", &cfg.URL}, {"database", &cfg.Database}, {"login", &cfg.Login}, {"api_key", &cfg.APIKey}} {
		v, err := erp.ExpandEnv(*f.v, os.LookupEnv)
		if err != nil {
			bad(f.name, "%v", err)
		}
		*f.v = v
	}
	cfg.Protocol = strings.ToLower(strings.TrimSpace(cfg.Protocol))
	if cfg.Protocol == "" {
		cfg.Protocol = ProtocolJSONRPC
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.MaxInvoices == 0 {
		cfg.MaxInvoices = DefaultMaxInvoices
	}
	cfg.URL = strings.TrimRight(strings.TrimSpace(cfg.URL), "/")
	if u, err := url.Parse(cfg.URL); cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url", "must be Odoo's absolute http(s) base URL, e.g. https://mycompany.odoo.com")
	}
	switch cfg.Protocol {
	case ProtocolJSONRPC:
		if cfg.Database == "" {
			bad("database", "is required for protocol jsonrpc")
		}
		if cfg.Login == "" {
			bad("login", "is required for protocol jsonrpc")
		}
	case ProtocolJSON2:
	default:
		bad("protocol", "%q is not jsonrpc or json2", cfg.Protocol)
	}
	if cfg.APIKey == "" {
		bad("api_key", "is required")
	}
	switch cfg.MemoField {
	case "", "memo", "ref":
	default:
		bad("memo_field", "%q is not memo or ref", cfg.MemoField)
	}
	if cfg.Timeout < 0 {
		bad("timeout", "must not be negative")
	}
	if cfg.MaxResponseBytes < 0 {
		bad("max_response_bytes", "must not be negative")
	}
	if cfg.MaxInvoices < 0 {
		bad("max_invoices", "must not be negative")
	}
	if cfg.CompanyID < 0 || cfg.JournalID < 0 || cfg.PaymentMethodLineID < 0 {
		bad("company_id/journal_id/payment_method_line_id", "ids must not be negative")
	}
	if cfg.PaymentMethodLineID != 0 && cfg.JournalID == 0 {
		bad("payment_method_line_id", "needs journal_id")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	t := &transport{client: &http.Client{}, base: cfg.URL, timeout: cfg.Timeout, maxBytes: cfg.MaxResponseBytes}
	var rpc caller
	if cfg.Protocol == ProtocolJSON2 {
		rpc = &json2{t: t, db: cfg.Database, key: cfg.APIKey}
	} else {
		rpc = &jsonRPC{t: t, db: cfg.Database, login: cfg.Login, key: cfg.APIKey}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, rpc: rpc, log: logger.With("erp", "odoo"), now: time.Now, memoField: cfg.MemoField}, nil
}

// CanRecord reports whether a journal for payments is configured.
func (s *Source) CanRecord() bool { return s.cfg.JournalID != 0 }

// CanReverse reports whether reversals are written back: whenever payments
// are, since a reversal cancels the payment RecordPayment created.
func (s *Source) CanReverse() bool { return s.CanRecord() }

// text is an Odoo char/date field: a string, or false when empty.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*t = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = text(s)
	return nil
}

// many2one is an Odoo many2one as read gives it: [id, "display name"], or
// false when empty.
type many2one struct {
	ID   int64
	Name string
}

func (m *many2one) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*m = many2one{}
		return nil
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) < 1 {
		return fmt.Errorf("many2one: %s", b)
	}
	if err := json.Unmarshal(pair[0], &m.ID); err != nil {
		return err
	}
	if len(pair) > 1 {
		var n text
		if err := json.Unmarshal(pair[1], &n); err != nil {
			return err
		}
		m.Name = string(n)
	}
	return nil
}

type partner struct {
	ID        int64 `json:"id"`
	Name      text  `json:"name"`
	VAT       text  `json:"vat"`
	IsCompany bool  `json:"is_company"`
}

type move struct {
	ID                int64           `json:"id"`
	Name              text            `json:"name"`
	Ref               text            `json:"ref"`
	AmountResidual    json.RawMessage `json:"amount_residual"`
	Currency          many2one        `json:"currency_id"`
	InvoiceDateDue    text            `json:"invoice_date_due"`
	Partner           many2one        `json:"partner_id"`
	CommercialPartner many2one        `json:"commercial_partner_id"`
	PaymentState      text            `json:"payment_state"`
}

var (
	partnerFields = []string{"id", "name", "vat", "is_company"}
	moveFields    = []string{"id", "name", "ref", "amount_residual", "currency_id", "invoice_date_due", "partner_id", "commercial_partner_id", "payment_state"}
)

// term builds one domain leaf.
func term(field, op string, value any) []any { return []any{field, op, value} }

// openInvoices is the domain of a customer invoice still owed.
func (s *Source) openInvoices() []any {
	d := []any{
		term("move_type", "=", "out_invoice"),
		term("state", "=", "posted"),
		term("payment_state", "not in", []string{"paid", "in_payment", "reversed"}),
		term("amount_residual", ">", 0),
	}
	if s.cfg.CompanyID != 0 {
		d = append(d, term("company_id", "=", s.cfg.CompanyID))
	}
	return d
}

// odooContext is the Odoo context sent with every call.
func (s *Source) odooContext(extra map[string]any) map[string]any {
	c := map[string]any{}
	if s.cfg.CompanyID != 0 {
		c["allowed_company_ids"] = []int64{s.cfg.CompanyID}
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// PendingCharges finds the partners whose vat is idNumber (see vatMatches)
// and returns their open customer invoices, oldest due first. No such
// partner, or none with open invoices, is an empty list. Any failure to ask
// Odoo, or an error Odoo answers, wraps erp.ErrUnavailable.
func (s *Source) PendingCharges(ctx context.Context, idNumber string) ([]erp.Charge, error) {
	if normalizeID(idNumber) == "" {
		return []erp.Charge{}, nil
	}
	var candidates []partner
	err := s.rpc.call(ctx, "res.partner", "search_read", nil, map[string]any{
		"domain":  []any{term("vat", "=ilike", vatPattern(idNumber))},
		"fields":  partnerFields,
		"limit":   maxPartners,
		"order":   "id",
		"context": s.odooContext(nil),
	}, &candidates)
	if err != nil {
		return nil, unavailable("reading partners", err)
	}
	if len(candidates) == maxPartners {
		s.log.WarnContext(ctx, "many partners look like this id number; only the first were checked", "checked", maxPartners)
	}
	names := map[int64]string{}
	var ids []int64
	for _, p := range candidates {
		if vatMatches(idNumber, string(p.VAT), p.IsCompany) {
			ids = append(ids, p.ID)
			names[p.ID] = string(p.Name)
		}
	}
	if len(ids) == 0 {
		return []erp.Charge{}, nil
	}

	domain := append(s.openInvoices(), "|", term("partner_id", "in", ids), term("commercial_partner_id", "in", ids))
	var moves []move
	err = s.rpc.call(ctx, "account.move", "search_read", nil, map[string]any{
		"domain":  domain,
		"fields":  moveFields,
		"order":   "invoice_date_due asc, id asc",
		"limit":   s.cfg.MaxInvoices,
		"context": s.odooContext(nil),
	}, &moves)
	if err != nil {
		return nil, unavailable("reading invoices", err)
	}
	charges := make([]erp.Charge, 0, len(moves))
	for _, m := range moves {
		charges = append(charges, s.charge(idNumber, m, names))
	}
	return charges, nil
}

// charge maps one invoice.
func (s *Source) charge(idNumber string, m move, names map[int64]string) erp.Charge {
	payer := names[m.CommercialPartner.ID]
	if payer == "" {
		payer = names[m.Partner.ID]
	}
	if payer == "" {
		payer = m.Partner.Name
	}
	desc := "Factura " + string(m.Name)
	if ref := strings.TrimSpace(string(m.Ref)); ref != "" {
		desc += " - " + ref
	}
	meta, _ := json.Marshal(map[string]int64{"odoo_move_id": m.ID})
	c := erp.Charge{
		RefPayment:  string(m.Name),
		IDNumber:    idNumber,
		PayerName:   payer,
		Description: truncateRunes(desc, maxDescription),
		Currency:    strings.ToUpper(m.Currency.Name),
		LimitDate:   string(m.InvoiceDateDue),
		Metadata:    meta,
	}
	amount, err := decimal.NewFromString(strings.TrimSpace(string(m.AmountResidual)))
	if err != nil {
		c.Defects = append(c.Defects, erp.Defect{
			Field:   "recauda_information.amount",
			Message: fmt.Sprintf("amount_residual of %s is not a number: %.40s", m.Name, m.AmountResidual),
		})
	} else {
		// Odoo stores monetary fields exactly but sends them as floats; the
		// currencies Efipay takes have two decimals, so rounding to cents
		// undoes any float artefact (0.30000000000000004) without changing
		// an amount.
		c.Amount = amount.Round(2)
	}
	if c.Currency == "" {
		c.Defects = append(c.Defects, erp.Defect{Field: "recauda_information.currency_type", Message: fmt.Sprintf("invoice %s has no currency", m.Name)})
	}
	return c
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// unavailable wraps any error of a read with erp.ErrUnavailable: the lookup
// cannot be answered, whatever Odoo said.
func unavailable(op string, err error) error {
	if errors.Is(err, erp.ErrUnavailable) {
		return fmt.Errorf("odoo: %s: %w", op, err)
	}
	return fmt.Errorf("odoo: %s: %w: %w", op, err, erp.ErrUnavailable)
}

// writeError classifies an error of a write-back: a MissingError wraps
// erp.ErrNotFound, a refusal of the data (UserError, ValidationError, 400,
// 422) stays permanent, anything else (network, timeout, access denied,
// server error) wraps erp.ErrUnavailable for a later retry.
func writeError(op string, err error) error {
	var oe *Error
	if errors.As(err, &oe) {
		switch {
		case oe.is("MissingError"):
			return fmt.Errorf("odoo: %s: %w: %w", op, err, erp.ErrNotFound)
		case oe.permanent():
			return fmt.Errorf("odoo: %s: %w", op, err)
		}
	}
	return unavailable(op, err)
}

// memo returns account.payment's field for the transaction ID, asking Odoo
// the first time: "memo" from Odoo 18, "ref" before.
func (s *Source) memo(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.memoField != "" {
		return s.memoField, nil
	}
	var fields map[string]json.RawMessage
	if err := s.rpc.call(ctx, "account.payment", "fields_get", nil, map[string]any{
		"attributes": []string{"type"},
		"context":    s.odooContext(nil),
	}, &fields); err != nil {
		return "", writeError("reading account.payment fields", err)
	}
	for _, f := range []string{"memo", "ref"} {
		if _, ok := fields[f]; ok {
			s.memoField = f
			return f, nil
		}
	}
	return "", errors.New("odoo: account.payment has neither memo nor ref; set memo_field")
}

// RecordPayment registers p on the posted customer invoice named
// p.RefPayment with Odoo's payment wizard, in the configured journal, with
// the transaction ID as the payment's memo. It is idempotent: a payment
// whose memo is already the transaction ID means it was recorded, and
// nothing is done. Errors: an unknown invoice wraps erp.ErrNotFound; an
// invoice already paid, a currency other than the invoice's, or data Odoo
// refuses is permanent; anything else wraps erp.ErrUnavailable.
//
// The search and the two wizard calls are separate transactions in Odoo, so
// two concurrent calls for the same transaction could both record it; the
// bridge's write-back queue never runs the same job twice at once.
func (s *Source) RecordPayment(ctx context.Context, p erp.Payment) error {
	if !s.CanRecord() {
		return fmt.Errorf("odoo: no journal_id configured: %w", erp.ErrUnsupported)
	}
	if p.TransactionID == "" {
		return errors.New("odoo: write-back: payment has no transaction ID")
	}
	memo, err := s.memo(ctx)
	if err != nil {
		return err
	}
	var done []struct {
		ID int64 `json:"id"`
	}
	if err := s.rpc.call(ctx, "account.payment", "search_read", nil, map[string]any{
		"domain":  []any{term(memo, "=", p.TransactionID)},
		"fields":  []string{"id"},
		"limit":   1,
		"context": s.odooContext(nil),
	}, &done); err != nil {
		return writeError("looking for the payment", err)
	}
	if len(done) > 0 {
		s.log.InfoContext(ctx, "payment already recorded in odoo", "ref_payment", p.RefPayment, "odoo_payment_id", done[0].ID)
		return nil
	}

	domain := []any{term("name", "=", p.RefPayment), term("move_type", "=", "out_invoice"), term("state", "=", "posted")}
	if s.cfg.CompanyID != 0 {
		domain = append(domain, term("company_id", "=", s.cfg.CompanyID))
	}
	var moves []move
	if err := s.rpc.call(ctx, "account.move", "search_read", nil, map[string]any{
		"domain":  domain,
		"fields":  moveFields,
		"limit":   2,
		"context": s.odooContext(nil),
	}, &moves); err != nil {
		return writeError("looking for the invoice", err)
	}
	switch len(moves) {
	case 0:
		return fmt.Errorf("odoo: no posted customer invoice %q: %w", p.RefPayment, erp.ErrNotFound)
	case 1:
	default:
		return fmt.Errorf("odoo: more than one posted customer invoice is named %q; set company_id", p.RefPayment)
	}
	m := moves[0]
	residual, _ := decimal.NewFromString(string(m.AmountResidual))
	switch string(m.PaymentState) {
	case "paid", "in_payment", "reversed":
		return fmt.Errorf("odoo: invoice %q is already %s in Odoo; payment %s needs a person to look", p.RefPayment, m.PaymentState, p.TransactionID)
	}
	if !residual.IsPositive() {
		return fmt.Errorf("odoo: invoice %q owes nothing in Odoo; payment %s needs a person to look", p.RefPayment, p.TransactionID)
	}
	if p.Currency != "" && !strings.EqualFold(p.Currency, m.Currency.Name) {
		return fmt.Errorf("odoo: payment %s is in %s but invoice %q is in %s", p.TransactionID, p.Currency, p.RefPayment, m.Currency.Name)
	}

	paidAt := p.PaidAt
	if paidAt.IsZero() {
		paidAt = s.now()
	}
	wizardCtx := s.odooContext(map[string]any{"active_model": "account.move", "active_ids": []int64{m.ID}})
	vals := map[string]any{
		"amount":        models.NewMoney(p.Amount),
		"payment_date":  paidAt.In(models.Bogota).Format(time.DateOnly),
		"communication": p.TransactionID,
		"journal_id":    s.cfg.JournalID,
	}
	if s.cfg.PaymentMethodLineID != 0 {
		vals["payment_method_line_id"] = s.cfg.PaymentMethodLineID
	}
	var created json.RawMessage
	if err := s.rpc.call(ctx, "account.payment.register", "create", nil, map[string]any{
		"vals_list": []any{vals},
		"context":   wizardCtx,
	}, &created); err != nil {
		return writeError("opening the payment wizard", err)
	}
	wizardID, err := firstID(created)
	if err != nil {
		return unavailable("opening the payment wizard", err)
	}
	if err := s.rpc.call(ctx, "account.payment.register", "action_create_payments", []int64{wizardID}, map[string]any{
		"context": wizardCtx,
	}, nil); err != nil {
		return writeError("creating the payment", err)
	}
	s.log.InfoContext(ctx, "payment recorded in odoo", "ref_payment", p.RefPayment, "odoo_move_id", m.ID)
	return nil
}

// RecordReversal cancels the payment RecordPayment created for
// r.TransactionID (found by its memo), as a person does in Odoo: "Reset to
// draft" (account.payment action_draft, which unreconciles it, so the
// invoice owes the amount again) and then "Cancel" (action_cancel). It is
// idempotent: a payment already cancelled, or none with that memo (never
// recorded), leaves nothing to do. A refusal by Odoo (a UserError such as a
// lock date, or a payment matched with a bank statement) wraps
// erp.ErrUnsupported: the bridge hands the reversal to the operator with
// Odoo's message. Other failures are as RecordPayment's.
func (s *Source) RecordReversal(ctx context.Context, r erp.Reversal) error {
	if !s.CanReverse() {
		return fmt.Errorf("odoo: no journal_id configured: %w", erp.ErrUnsupported)
	}
	if r.TransactionID == "" {
		return errors.New("odoo: reversal: no transaction ID")
	}
	memo, err := s.memo(ctx)
	if err != nil {
		return err
	}
	var pays []struct {
		ID    int64  `json:"id"`
		State string `json:"state"`
	}
	if err := s.rpc.call(ctx, "account.payment", "search_read", nil, map[string]any{
		"domain":  []any{term(memo, "=", r.TransactionID)},
		"fields":  []string{"id", "state"},
		"context": s.odooContext(nil),
	}, &pays); err != nil {
		return writeError("looking for the payment to reverse", err)
	}
	if len(pays) == 0 {
		s.log.InfoContext(ctx, "reversal of a payment odoo never recorded; nothing to undo", "ref_payment", r.RefPayment)
		return nil
	}
	for _, p := range pays {
		switch p.State {
		case "cancel", "canceled": // Odoo 17 and before, Odoo 18 and after
			continue
		case "draft":
		default:
			if err := s.rpc.call(ctx, "account.payment", "action_draft", []int64{p.ID}, map[string]any{
				"context": s.odooContext(nil),
			}, nil); err != nil {
				return reversalError("resetting the payment to draft", err)
			}
		}
		if err := s.rpc.call(ctx, "account.payment", "action_cancel", []int64{p.ID}, map[string]any{
			"context": s.odooContext(nil),
		}, nil); err != nil {
			return reversalError("cancelling the payment", err)
		}
		s.log.InfoContext(ctx, "payment reversed in odoo", "ref_payment", r.RefPayment, "odoo_payment_id", p.ID)
	}
	return nil
}

// reversalError is writeError, except that Odoo refusing for good means the
// operator must reverse the payment by hand.
func reversalError(op string, err error) error {
	var oe *Error
	if errors.As(err, &oe) && !oe.is("MissingError") && oe.permanent() {
		return fmt.Errorf("odoo: %s: %w; reverse it in Odoo by hand: %w", op, err, erp.ErrUnsupported)
	}
	return writeError(op, err)
}

// firstID reads create's answer: [id] for a list of values, id for one.
func firstID(raw json.RawMessage) (int64, error) {
	var ids []int64
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return ids[0], nil
	}
	var id int64
	if json.Unmarshal(raw, &id) == nil && id > 0 {
		return id, nil
	}
	return 0, fmt.Errorf("create answered %.40s, not an id", raw)
}

// Check logs in (jsonrpc) and reads from res.partner, the model every
// lookup reads; an error wraps erp.ErrUnavailable.
func (s *Source) Check(ctx context.Context) error {
	err := s.rpc.call(ctx, "res.partner", "search_count", nil, map[string]any{
		"domain":  []any{term("id", "=", 0)},
		"context": s.odooContext(nil),
	}, nil)
	if err != nil {
		return unavailable("health check", err)
	}
	return nil
}

var (
	_ erp.PaymentRecorder  = (*Source)(nil)
	_ erp.ReversalRecorder = (*Source)(nil)
	_ erp.HealthChecker    = (*Source)(nil)
)

var _ erp.Source = (*Source)(nil)
