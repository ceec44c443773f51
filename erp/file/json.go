package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// parseJSON indexes a file in Efipay's own shape, {"payments":[...]}. Only a
// problem with the whole (not JSON, no payments array) is an error; a broken
// item becomes a Charge with Defects at lookup, or is skipped when it has no
// readable id_number or ref_payment.
//
// The payments are walked with a json.Decoder, which checks the file and
// gives each item's span in it without copying the item; itemKeys reads an
// item's id_number and ref_payment from its span here, decodeItem all of it
// at lookup.
func parseJSON(data []byte) (*dataset, error) {
	data = bytes.TrimPrefix(data, bom)
	if uint64(len(data)) > maxSize {
		return nil, fmt.Errorf("%d bytes: larger than the %d a file may have", len(data), maxSize)
	}
	items, err := paymentSpans(data)
	if err != nil {
		// The walk is as strict as json.Unmarshal into the struct below;
		// that call gives the same error text as ever.
		var top struct {
			Payments *[]json.RawMessage `json:"payments"`
		}
		if uerr := json.Unmarshal(data, &top); uerr != nil {
			return nil, fmt.Errorf(`not a JSON object {"payments":[...]}: %w`, uerr)
		}
		if top.Payments == nil {
			return nil, errors.New(`no "payments" array at the top level`)
		}
		return nil, fmt.Errorf(`not a JSON object {"payments":[...]}: %w`, err)
	}
	ix := newIndexer(data, "item", len(items), func(d *dataset, sp span) (string, string, error) {
		return itemKeys(d.data[sp.start:sp.end])
	})
	for _, sp := range items {
		id, ref, err := itemKeys(data[sp.start:sp.end])
		if err != nil {
			ix.skip(fmt.Sprintf("item %d skipped: %v", sp.where, err))
			continue
		}
		ix.add(id, ref, sp)
	}
	return ix.finish(), nil
}

// errNoPayments is paymentSpans' answer for a valid JSON document without a
// top-level "payments" array.
var errNoPayments = errors.New(`no "payments" array at the top level`)

// paymentSpans returns the span of each item of the top-level "payments"
// array, numbered from 1. It accepts what json.Unmarshal accepts into
// struct{ Payments *[]json.RawMessage `json:"payments"` } with a non-nil
// Payments: the key in any case (the last one wins), other keys with any
// value, nothing but white space after the object.
func paymentSpans(data []byte) ([]span, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, errNoPayments
	}
	var (
		items []span
		found bool
		skip  skipValue
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, "payments") {
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			continue
		}
		if tok, err = dec.Token(); err != nil {
			return nil, err
		}
		switch tok {
		case nil:
			items, found = nil, false
			continue
		case json.Delim('['):
		default:
			return nil, errNoPayments
		}
		items, found = items[:0], true
		for n := uint32(1); dec.More(); n++ {
			start := dec.InputOffset()
			if err := dec.Decode(&skip); err != nil {
				return nil, err
			}
			end := dec.InputOffset()
			// start is at the comma before the item, or at white space.
			for start < end && (data[start] == ',' || isSpace(data[start])) {
				start++
			}
			items = append(items, span{start: uint32(start), end: uint32(end), where: n})
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the top-level object")
		}
		return nil, err
	}
	if !found {
		return nil, errNoPayments
	}
	return items, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipValue takes any JSON value and keeps nothing of it.
type skipValue struct{}

func (skipValue) UnmarshalJSON([]byte) error { return nil }

// itemKeys reads an item's id_number and ref_payment and fails as
// decodeItem does when the item cannot be tied to a customer and a
// ref_payment. raw must be valid JSON, as the items of a walked file are.
// Unlike decodeItem it decodes nothing else, and so leaves next to no
// garbage: a load reads every item with it.
func itemKeys(raw []byte) (id, ref string, err error) {
	if len(raw) == 0 || raw[0] != '{' {
		return "", "", fmt.Errorf("not a JSON object")
	}
	ri := member(raw, "recauda_information")
	if len(ri) == 0 || ri[0] != '{' {
		return "", "", fmt.Errorf("recauda_information is missing or not an object")
	}
	if id, err = readKey(member(ri, "id_number")); err != nil {
		return "", "", fmt.Errorf("id_number %v", err)
	}
	if ref, err = readKey(member(ri, "ref_payment")); err != nil {
		return "", "", fmt.Errorf("ref_payment %v", err)
	}
	return id, ref, nil
}

// member returns the value of the member named key of obj, a valid JSON
// object: the last one, as json.Unmarshal into a map keeps; nil when there
// is none.
func member(obj []byte, key string) []byte {
	var found []byte
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end := endOfString(obj, i)
		name := obj[i:end]
		i = skipSpace(obj, end) // at ':'
		i = skipSpace(obj, i+1)
		next := endOfValue(obj, i)
		if nameIs(name, key) {
			found = obj[i:next]
		}
		i = skipSpace(obj, next)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return found
}

// nameIs reports whether the JSON string quoted, decoded, is key.
func nameIs(quoted []byte, key string) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return len(quoted) == len(key)+2 && string(quoted[1:len(quoted)-1]) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// endOfString returns the end of the JSON string that starts at b[i].
func endOfString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// endOfValue returns the end of the valid JSON value that starts at b[i].
func endOfValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = endOfString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
		i++
	}
	return i
}

// itemObject reads an item and its recauda_information as objects.
func itemObject(raw json.RawMessage) (item, ri map[string]json.RawMessage, err error) {
	if err := json.Unmarshal(raw, &item); err != nil || item == nil {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	if err := json.Unmarshal(item["recauda_information"], &ri); err != nil || ri == nil {
		return nil, nil, fmt.Errorf("recauda_information is missing or not an object")
	}
	return item, ri, nil
}

// decodeItem reads one payments[] item field by field, so that one bad field
// is reported as a Defect while the rest is still read. It fails only when
// the item cannot be tied to a customer and a ref_payment.
func decodeItem(raw json.RawMessage, where string) (erp.Charge, error) {
	item, riRaw, err := itemObject(raw)
	if err != nil {
		return erp.Charge{}, err
	}
	id, err := readKey(riRaw["id_number"])
	if err != nil {
		return erp.Charge{}, fmt.Errorf("id_number %v", err)
	}
	ref, err := readKey(riRaw["ref_payment"])
	if err != nil {
		return erp.Charge{}, fmt.Errorf("ref_payment %v", err)
	}

	var defects []erp.Defect
	ri := object{m: riRaw, path: "recauda_information.", where: where, defects: &defects}
	var p models.Payment
	r := &p.RecaudaInformation
	r.IDNumber, r.RefPayment = id, ref
	ri.str("description", &r.Description)
	ri.str("payer_name", &r.PayerName)
	ri.str("currency_type", &r.CurrencyType)
	ri.money("amount", &r.Amount, true)
	ri.decode("selected_taxes", &r.SelectedTaxes, "must be an array of integer tax ids or null")
	if adv, ok := ri.sub("advance"); ok {
		r.Advance = &models.Advance{}
		adv.str("type", &r.Advance.Type)
		adv.money("value", &r.Advance.Value, true)
	}
	if m, ok := riRaw["metadata"]; ok {
		r.Metadata = m // valid JSON: it came out of the decoder
	}

	if ao, ok := (object{m: item, where: where, defects: &defects}).sub("advanced_options"); ok {
		o := &models.AdvancedOptions{}
		p.AdvancedOptions = o
		ao.str("picture", &o.Picture)
		ao.str("limit_date", &o.LimitDate)
		ao.str("comments_label", &o.CommentsLabel)
		ao.decode("references", &o.References, "must be an array of strings")
		ao.decode("has_comments", &o.HasComments, "must be true or false")
		ao.decode("request_address_delivery", &o.RequestAddressDelivery, "must be true or false")
		if ds, ok := ao.sub("delivery_service"); ok {
			o.DeliveryService = &models.DeliveryService{}
			ds.str("type", &o.DeliveryService.Type)
			var v models.Money
			if ds.money("value", &v, false) {
				o.DeliveryService.Value = &v
			}
		}
		if d, ok := ao.sub("discount"); ok {
			o.Discount = &models.Discount{}
			d.str("before_on", &o.Discount.BeforeOn)
			d.str("type", &o.Discount.Type)
			d.money("value", &o.Discount.Value, true)
		}
		// result_urls is not read: the bridge sends its own webhook URL.
	}

	c := erp.ChargeFromPayment(p)
	c.Defects = defects
	return c, nil
}

// object reads the fields of one JSON object and turns each field that cannot
// be read into a Defect at path+key.
type object struct {
	m       map[string]json.RawMessage
	path    string // "recauda_information." etc.
	where   string
	defects *[]erp.Defect
}

func (o object) defect(key, format string, args ...any) {
	*o.defects = append(*o.defects, erp.Defect{
		Field:   o.path + key,
		Message: o.where + ": " + fmt.Sprintf(format, args...),
	})
}

// decode unmarshals key into dst if present; JSON null leaves dst as it is.
func (o object) decode(key string, dst any, want string) bool {
	raw, ok := o.m[key]
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.defect(key, "%s, got %s", want, kind(raw, false))
		return false
	}
	return true
}

func (o object) str(key string, dst *string) {
	o.decode(key, dst, "must be a string")
}

// money reads a decimal. A missing or null one is a Defect when required,
// since a zero amount would otherwise look like a real one.
func (o object) money(key string, dst *models.Money, required bool) bool {
	raw, ok := o.m[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if required {
			o.defect(key, "missing")
		}
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.defect(key, "must be a decimal number, got %s", kind(raw, true))
		return false
	}
	return true
}

// sub returns the object at key; absent or null is (_, false), anything
// other than an object is a Defect.
func (o object) sub(key string) (object, bool) {
	raw, ok := o.m[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return object{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		o.defect(key, "must be an object or null, got %s", kind(raw, false))
		return object{}, false
	}
	return object{m: m, path: o.path + key + ".", where: o.where, defects: o.defects}, true
}

// kind describes a JSON value for a message: its type and, with value, the
// start of its text. Only amounts show their value: any other field might
// hold personal data (a cédula typed into payer_name), and Defects are shown
// and logged.
func kind(raw json.RawMessage, value bool) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	var k string
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		k = "string "
	case 't', 'f':
		k = "boolean "
	case 'n':
		return "null"
	default:
		k = "number "
	}
	if !value {
		return strings.TrimSpace(k)
	}
	if len(raw) > 32 {
		return k + string(raw[:32]) + "..."
	}
	return k + string(raw)
}
