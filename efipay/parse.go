package efipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
)

// ErrUnparseable means a webhook body is not a JSON object with a
// "transaction" object that carries at least a transaction id and a status.
// Parse wraps it with the reason.
var ErrUnparseable = errors.New("efipay: unparseable webhook")

// Event is what a webhook says, reduced to what the bridge acts on.
type Event struct {
	// TransactionID is Efipay's id of the transaction, as text, never empty.
	TransactionID string
	// Status is Efipay's status exactly as sent.
	Status string
	// Outcome is what Status means.
	Outcome Outcome
	// Amount is the amount paid, exact; zero when the webhook has none.
	Amount decimal.Decimal
	// Currency is the currency of Amount, upper-cased ("COP").
	Currency string
	// Production is false for Efipay's test payments.
	Production bool
	// PaymentMethod is Efipay's name of the method used ("credit", ...).
	PaymentMethod string
	// ApprovedAt is when Efipay approved the payment, in UTC; zero when the
	// webhook has no approval time or one in a format not understood.
	ApprovedAt time.Time
	// References are the candidate references found in the body, trimmed,
	// without empties or duplicates, most authoritative first (see Parse),
	// at most MaxReferences of them.
	References []string
	// Webhook is the whole decoded body.
	Webhook models.Webhook
}

// MaxReferences is the most references Parse keeps from one body. Efipay
// echoes at most 3 per path; a body with thousands would otherwise cost a
// statement parameter each, beyond what SQLite or PostgreSQL accept.
const MaxReferences = 32

// Parse decodes a webhook body. body should already have passed [Verify].
//
// It fails, with an error wrapping [ErrUnparseable], when body is not a JSON
// object, has no "transaction" object, when the transaction's fields cannot
// be decoded, when the transaction id or the status is missing or blank, or
// when a text the bridge keeps (transaction_id, status, currency_type,
// payment_method) holds a NUL character, which no PostgreSQL text can store.
//
// References are gathered in this order: checkout.payment_gateway.advanced_option.references,
// the same under advanced_options, then the top-level fallbacks
// payment_gateway.advanced_option(s).references, then the value of every
// "ref_payment" key at any depth, in document order. A reference may be a
// JSON string or number (kept as its literal text); a ref_payment may also
// be an array of them. A reference holding a control character or bytes
// that are not UTF-8 is dropped (no tracked ref_payment has one), and those
// after the first
// [MaxReferences] are ignored.
func Parse(body []byte) (*Event, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, unparseable("body is not a JSON object", err)
	}
	if top == nil {
		return nil, unparseable("body is null", nil)
	}
	txn, ok := top["transaction"]
	if !ok {
		return nil, unparseable("no transaction", nil)
	}
	if !isObject(txn) {
		return nil, unparseable("transaction is not an object", nil)
	}

	var w models.Webhook
	if err := json.Unmarshal(txn, &w.Transaction); err != nil {
		return nil, unparseable("transaction", err)
	}
	w.Checkout = top["checkout"]
	t := &w.Transaction

	id := strings.TrimSpace(string(t.TransactionID))
	if id == "" {
		return nil, unparseable("no transaction_id", nil)
	}
	if strings.TrimSpace(t.Status) == "" {
		return nil, unparseable("no status", nil)
	}
	for _, f := range [...]struct{ name, v string }{
		{"transaction_id", id}, {"status", t.Status}, {"currency_type", t.CurrencyType}, {"payment_method", t.PaymentMethod},
	} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return nil, unparseable(f.name+" holds a NUL character", nil)
		}
	}

	return &Event{
		TransactionID: id,
		Status:        t.Status,
		Outcome:       OutcomeOf(t.Status),
		Amount:        t.Amount.Decimal,
		Currency:      strings.ToUpper(strings.TrimSpace(t.CurrencyType)),
		Production:    bool(t.Production),
		PaymentMethod: t.PaymentMethod,
		ApprovedAt:    parseTime(t.ApprovedAt),
		References:    references(top, body),
		Webhook:       w,
	}, nil
}

func unparseable(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnparseable, reason, err)
	}
	return fmt.Errorf("%w: %s", ErrUnparseable, reason)
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// timeLayouts are the formats seen in Efipay's payloads. Fractional seconds
// are accepted by every layout when parsing.
var timeLayouts = []string{
	time.RFC3339,                // 2023-12-27T15:41:54.553992Z
	"2006-01-02 15:04:05Z07:00", // Laravel with a space and a zone
	"2006-01-02 15:04:05",       // 2023-10-31 17:33:19
	"2006-01-02T15:04:05",
}

// parseTime reads s in any of timeLayouts. A time without a zone is Bogota's
// wall clock: Cobra Plus's example writes created_at 11:23:08 for an
// approved_at of 16:23:08Z.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, models.Bogota); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// references gathers the candidate references of a webhook, in the order
// documented on Parse.
func references(top map[string]json.RawMessage, body []byte) []string {
	var refs refSet
	checkout, _ := objectAt(top, "checkout")
	for _, root := range []map[string]json.RawMessage{checkout, top} {
		gateway, ok := objectAt(root, "payment_gateway")
		if !ok {
			continue
		}
		for _, key := range []string{"advanced_option", "advanced_options"} {
			refs.addAll(referencesAt(gateway, key))
		}
	}
	refPayments(body, refs.add)
	return refs.list
}

// referencesAt reads gateway.<key>.references, gateway being a
// payment_gateway object. Anything of an unexpected shape yields nothing.
func referencesAt(gateway map[string]json.RawMessage, key string) []any {
	opt, ok := objectAt(gateway, key)
	if !ok {
		return nil
	}
	raw, ok := opt["references"]
	if !ok {
		return nil
	}
	var v any
	if decodeNumber(raw, &v) != nil {
		return nil
	}
	if list, ok := v.([]any); ok {
		return list
	}
	return []any{v} // a single reference sent as a scalar
}

// objectAt returns obj[key] split into its members, if it is an object.
// Keys match exactly, unlike encoding/json's struct fields.
func objectAt(obj map[string]json.RawMessage, key string) (map[string]json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || !isObject(raw) {
		return nil, false
	}
	var out map[string]json.RawMessage
	if json.Unmarshal(raw, &out) != nil {
		return nil, false
	}
	return out, true
}

func decodeNumber(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// refPayments calls add with every scalar value (or scalar element of an
// array value) of a key named ref_payment, at any depth, in document order:
// strings as string, numbers as json.Number. body must be valid JSON (Parse
// has checked it); on anything else it stops early, never fails.
//
// It scans the bytes itself because json.Decoder.Token, which would keep the
// document order a map loses, costs an allocation or more per token.
func refPayments(body []byte, add func(any)) {
	type frame struct {
		object  bool // an object, else an array
		wantKey bool // the next token of this object is a key
		isRef   bool // the current member's key, or the array's own, is ref_payment
	}
	var stack []frame
	for i := 0; ; {
		tok, next, ok := nextToken(body, i)
		if !ok {
			return
		}
		i = next
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		switch tok[0] {
		case '}', ']':
			if top == nil {
				return
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.wantKey {
			top.isRef = isRefKey(tok)
			top.wantKey = false
			continue
		}
		// tok starts a value, a member of top (if any).
		isRef := false
		if top != nil {
			isRef = top.isRef
			if top.object {
				top.wantKey = true
			}
		}
		switch c := tok[0]; {
		case c == '{':
			stack = append(stack, frame{object: true, wantKey: true})
		case c == '[':
			// Elements of "ref_payment": [...] are refs too, not those of
			// an array nested in it.
			stack = append(stack, frame{isRef: isRef && top.object})
		case !isRef:
		case c == '"':
			if s, ok := unquote(tok); ok {
				add(s)
			}
		case c == '-' || (c >= '0' && c <= '9'):
			add(json.Number(tok))
		}
	}
}

// nextToken returns the JSON token that starts at or after b[i] (a delimiter,
// a whole string with its quotes, or a number or literal), skipping
// whitespace, commas and colons, and the index after it.
func nextToken(b []byte, i int) (tok []byte, next int, ok bool) {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
			i++
			continue
		}
		break
	}
	if i >= len(b) {
		return nil, i, false
	}
	switch b[i] {
	case '{', '}', '[', ']':
		return b[i : i+1], i + 1, true
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return b[i : j+1], j + 1, true
			}
		}
		return nil, len(b), false
	}
	j := i
	for j < len(b) && !strings.ContainsRune(" \t\r\n,:{}[]\"", rune(b[j])) {
		j++
	}
	return b[i:j], j, true
}

// isRefKey reports whether the quoted key tok is ref_payment.
func isRefKey(tok []byte) bool {
	const quoted = `"ref_payment"`
	if string(tok) == quoted {
		return true
	}
	if bytes.IndexByte(tok, '\\') < 0 {
		return false
	}
	s, ok := unquote(tok) // ref_payment written with escapes: rare
	return ok && s == "ref_payment"
}

// unquote decodes the JSON string tok, quotes included.
func unquote(tok []byte) (string, bool) {
	if len(tok) >= 2 && bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1]), true
	}
	var s string
	return s, json.Unmarshal(tok, &s) == nil
}

// refSet collects references in order, trimmed, without empties or duplicates.
type refSet struct {
	list []string
	seen map[string]bool
}

func (s *refSet) addAll(vs []any) {
	for _, v := range vs {
		s.add(v)
	}
}

// add keeps v if it is a string or a number, until the set is full.
func (s *refSet) add(v any) {
	if len(s.list) >= MaxReferences {
		return
	}
	var ref string
	switch v := v.(type) {
	case string:
		ref = v
	case json.Number:
		ref = string(v)
	default:
		return
	}
	ref = strings.TrimSpace(ref)
	if ref == "" || s.seen[ref] || !utf8.ValidString(ref) || strings.ContainsFunc(ref, unicode.IsControl) {
		return
	}
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	s.seen[ref] = true
	s.list = append(s.list, ref)
}
