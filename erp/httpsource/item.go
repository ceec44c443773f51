package httpsource

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"

	"recauda-bridge/erp"
)

// Field names of a flat charge record: the same names as the CSV and SQL
// sources' columns, and the keys of Mapping.Paths, Mapping.Templates and
// Mapping.Defaults.
const (
	FieldRefPayment             = "ref_payment"
	FieldIDNumber               = "id_number"
	FieldPayerName              = "payer_name"
	FieldDescription            = "description"
	FieldAmount                 = "amount"
	FieldCurrencyType           = "currency_type"
	FieldLimitDate              = "limit_date"
	FieldAdvanceType            = "advance_type"
	FieldAdvanceValue           = "advance_value"
	FieldReferences             = "references"
	FieldPicture                = "picture"
	FieldHasComments            = "has_comments"
	FieldCommentsLabel          = "comments_label"
	FieldDiscountType           = "discount_type"
	FieldDiscountValue          = "discount_value"
	FieldDiscountBeforeOn       = "discount_before_on"
	FieldDeliveryType           = "delivery_type"
	FieldDeliveryValue          = "delivery_value"
	FieldRequestAddressDelivery = "request_address_delivery"
	FieldMetadata               = "metadata"
)

// efipayPath is the Efipay field path each flat field ends up in; it names
// the field in a Defect.
var efipayPath = map[string]string{
	FieldRefPayment:             "recauda_information.ref_payment",
	FieldIDNumber:               "recauda_information.id_number",
	FieldPayerName:              "recauda_information.payer_name",
	FieldDescription:            "recauda_information.description",
	FieldAmount:                 "recauda_information.amount",
	FieldCurrencyType:           "recauda_information.currency_type",
	FieldAdvanceType:            "recauda_information.advance.type",
	FieldAdvanceValue:           "recauda_information.advance.value",
	FieldMetadata:               "recauda_information.metadata",
	FieldLimitDate:              "advanced_options.limit_date",
	FieldReferences:             "advanced_options.references",
	FieldPicture:                "advanced_options.picture",
	FieldHasComments:            "advanced_options.has_comments",
	FieldCommentsLabel:          "advanced_options.comments_label",
	FieldDiscountType:           "advanced_options.discount.type",
	FieldDiscountValue:          "advanced_options.discount.value",
	FieldDiscountBeforeOn:       "advanced_options.discount.before_on",
	FieldDeliveryType:           "advanced_options.delivery_service.type",
	FieldDeliveryValue:          "advanced_options.delivery_service.value",
	FieldRequestAddressDelivery: "advanced_options.request_address_delivery",
}

// FieldNames returns every flat field name, in a stable order.
func FieldNames() []string {
	return []string{
		FieldRefPayment, FieldIDNumber, FieldPayerName, FieldDescription, FieldAmount,
		FieldCurrencyType, FieldLimitDate, FieldAdvanceType, FieldAdvanceValue,
		FieldReferences, FieldPicture, FieldHasComments, FieldCommentsLabel,
		FieldDiscountType, FieldDiscountValue, FieldDiscountBeforeOn, FieldDeliveryType,
		FieldDeliveryValue, FieldRequestAddressDelivery, FieldMetadata,
	}
}

func isField(name string) bool {
	_, ok := efipayPath[name]
	return ok
}

// Mapping says where each field of a charge is found in one item of an ERP
// answer. A field may have a path, a template or a default; a path or
// template that gives nothing (absent, null or "") falls back to the default.
type Mapping struct {
	// Paths maps a field name to a gjson path inside one item. A path may
	// list alternatives separated by "||": the first that gives a value wins
	// ("payments.0.due_date || date").
	Paths map[string]string
	// Templates maps a field name to a text with {path} placeholders, each a
	// gjson path (with "||" alternatives) inside the item:
	// "Factura {numberTemplate.fullNumber || id}". A template whose
	// placeholders all give nothing gives nothing.
	Templates map[string]string
	// Defaults maps a field name to a constant used when the item has no
	// value for it ("currency_type": "COP").
	Defaults map[string]string
}

// FlatMapping reads items that already use the flat field names as keys
// ({"ref_payment": "...", "amount": 1000, ...}).
func FlatMapping() Mapping {
	m := Mapping{Paths: make(map[string]string, len(efipayPath))}
	for f := range efipayPath {
		m.Paths[f] = f
	}
	return m
}

// EfipayMapping reads items in Efipay's own shape ({"recauda_information":
// {...}, "advanced_options": {...}}), field by field, so that one bad field
// becomes a Defect instead of losing the whole item.
func EfipayMapping() Mapping {
	m := Mapping{Paths: make(map[string]string, len(efipayPath))}
	for f, p := range efipayPath {
		m.Paths[f] = p
	}
	return m
}

// lookup returns the item's value for field: path, then template, then
// default. ok is false when none gives a value.
func (m Mapping) lookup(item gjson.Result, field string) (gjson.Result, bool) {
	if p, found := m.Paths[field]; found {
		if r, ok := getPath(item, p); ok {
			return r, true
		}
	}
	if t, found := m.Templates[field]; found {
		if s, ok := renderItemTemplate(item, t); ok {
			return gjson.Result{Type: gjson.String, Str: s, Raw: strconv.Quote(s)}, true
		}
	}
	if d, found := m.Defaults[field]; found && d != "" {
		return gjson.Result{Type: gjson.String, Str: d, Raw: strconv.Quote(d)}, true
	}
	return gjson.Result{}, false
}

// getPath reads path (with "||" alternatives) in item. A value that is
// absent, null or an empty string counts as nothing.
func getPath(item gjson.Result, path string) (gjson.Result, bool) {
	for _, alt := range strings.Split(path, "||") {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			continue
		}
		r := item.Get(alt)
		if hasValue(r) {
			return r, true
		}
	}
	return gjson.Result{}, false
}

func hasValue(r gjson.Result) bool {
	switch {
	case !r.Exists(), r.Type == gjson.Null:
		return false
	case r.Type == gjson.String:
		return strings.TrimSpace(r.Str) != ""
	}
	return true
}

var itemPlaceholder = regexp.MustCompile(`\{([^{}]+)\}`)

// renderItemTemplate fills the {path} placeholders of t from item.
func renderItemTemplate(item gjson.Result, t string) (string, bool) {
	found := false
	out := itemPlaceholder.ReplaceAllStringFunc(t, func(ph string) string {
		r, ok := getPath(item, ph[1:len(ph)-1])
		if !ok {
			return ""
		}
		s, err := scalarString(r)
		if err != nil {
			return ""
		}
		found = true
		return s
	})
	return strings.TrimSpace(out), found
}

// scalarString renders a value as text: strings as they are, numbers exactly
// as written (never through float64), booleans as true/false, and an array
// of scalars joined with spaces (Siigo gives names as ["Ana", "Pérez"]).
func scalarString(r gjson.Result) (string, error) {
	switch r.Type {
	case gjson.String:
		return strings.TrimSpace(r.Str), nil
	case gjson.Number:
		return r.Raw, nil
	case gjson.True, gjson.False:
		return r.Raw, nil
	case gjson.Null:
		return "", nil
	}
	if r.IsArray() {
		var parts []string
		var err error
		r.ForEach(func(_, v gjson.Result) bool {
			if v.IsObject() || v.IsArray() {
				err = fmt.Errorf("is a list of objects, not text")
				return false
			}
			if s, _ := scalarString(v); s != "" {
				parts = append(parts, s)
			}
			return true
		})
		return strings.Join(parts, " "), err
	}
	return "", fmt.Errorf("is an object, not text")
}

// ChargeFromItem converts one item of an ERP answer into a Charge, reading
// each field where m says. A field that is present but cannot be converted
// (an amount that is not a number, a yes/no that is neither) is recorded in
// Charge.Defects under its Efipay field path; it never fails. IDNumber is
// whatever the item says; the caller decides what to do with a mismatch.
func ChargeFromItem(item gjson.Result, m Mapping) erp.Charge {
	var c erp.Charge
	defect := func(field, format string, args ...any) {
		c.Defects = append(c.Defects, erp.Defect{Field: efipayPath[field], Message: fmt.Sprintf(format, args...)})
	}
	text := func(field string) string {
		r, ok := m.lookup(item, field)
		if !ok {
			return ""
		}
		s, err := scalarString(r)
		if err != nil {
			defect(field, "%s %s", field, err)
		}
		return s
	}
	// number returns nil when the field is absent.
	number := func(field string) *decimal.Decimal {
		r, ok := m.lookup(item, field)
		if !ok {
			return nil
		}
		d, err := parseDecimal(r)
		if err != nil {
			defect(field, "%s %s", field, err)
			return nil
		}
		return &d
	}
	boolean := func(field string) *bool {
		r, ok := m.lookup(item, field)
		if !ok {
			return nil
		}
		b, err := parseBool(r)
		if err != nil {
			defect(field, "%s %s", field, err)
			return nil
		}
		return &b
	}

	c.RefPayment = text(FieldRefPayment)
	c.IDNumber = text(FieldIDNumber)
	c.PayerName = text(FieldPayerName)
	c.Description = text(FieldDescription)
	c.Currency = strings.ToUpper(text(FieldCurrencyType))
	if a := number(FieldAmount); a != nil {
		c.Amount = *a
	} else if _, present := m.lookup(item, FieldAmount); !present {
		defect(FieldAmount, "amount is missing")
	}
	c.LimitDate = dateOnly(text(FieldLimitDate))
	c.Picture = text(FieldPicture)
	c.CommentsLabel = text(FieldCommentsLabel)
	if b := boolean(FieldHasComments); b != nil {
		c.HasComments = *b
	}
	c.RequestAddressDelivery = boolean(FieldRequestAddressDelivery)

	if r, ok := m.lookup(item, FieldReferences); ok {
		refs, err := parseStrings(r)
		if err != nil {
			defect(FieldReferences, "references %s", err)
		}
		c.References = refs
	}

	if advType := text(FieldAdvanceType); advType != "" {
		c.Advance = &erp.Advance{Type: advType}
		if v := number(FieldAdvanceValue); v != nil {
			c.Advance.Value = *v
		} else if _, present := m.lookup(item, FieldAdvanceValue); !present {
			defect(FieldAdvanceValue, "advance_value is missing although advance_type is %q", advType)
		}
	} else if _, present := m.lookup(item, FieldAdvanceValue); present {
		defect(FieldAdvanceType, "advance_type is missing although advance_value is set")
	}

	discType, discBefore := text(FieldDiscountType), dateOnly(text(FieldDiscountBeforeOn))
	discValue := number(FieldDiscountValue)
	if discType != "" || discBefore != "" || discValue != nil {
		c.Discount = &erp.Discount{Type: discType, BeforeOn: discBefore}
		if discValue != nil {
			c.Discount.Value = *discValue
		}
	}

	delType := text(FieldDeliveryType)
	delValue := number(FieldDeliveryValue)
	if delType != "" || delValue != nil {
		c.Delivery = &erp.Delivery{Type: delType}
		if delValue != nil {
			c.Delivery.Value = *delValue
		}
	}

	if r, ok := m.lookup(item, FieldMetadata); ok {
		raw, err := parseMetadata(r)
		if err != nil {
			defect(FieldMetadata, "metadata %s", err)
		}
		c.Metadata = raw
	}
	return c
}

// parseDecimal reads a JSON number from its raw text, never through float64,
// or a string holding a plain decimal ("1234.50").
func parseDecimal(r gjson.Result) (decimal.Decimal, error) {
	var s string
	switch r.Type {
	case gjson.Number:
		s = r.Raw
	case gjson.String:
		s = strings.TrimSpace(r.Str)
	default:
		return decimal.Decimal{}, fmt.Errorf("is not a number: %s", truncate(r.Raw, 40))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("is not a number: %q", truncate(s, 40))
	}
	return d, nil
}

func parseBool(r gjson.Result) (bool, error) {
	switch r.Type {
	case gjson.True:
		return true, nil
	case gjson.False:
		return false, nil
	case gjson.Number:
		switch r.Raw {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	case gjson.String:
		switch strings.ToLower(strings.TrimSpace(r.Str)) {
		case "true", "1", "yes", "si", "sí", "y", "s":
			return true, nil
		case "false", "0", "no", "n":
			return false, nil
		}
	}
	return false, fmt.Errorf("is not true or false: %s", truncate(r.Raw, 40))
}

// parseStrings reads an array of scalars, or one text split at "|" (as the
// CSV source's references column is).
func parseStrings(r gjson.Result) ([]string, error) {
	if !r.IsArray() {
		s, err := scalarString(r)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, part := range strings.Split(s, "|") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out, nil
	}
	var out []string
	var err error
	r.ForEach(func(_, v gjson.Result) bool {
		if v.IsObject() || v.IsArray() {
			err = fmt.Errorf("must be a list of texts")
			return false
		}
		if s, _ := scalarString(v); s != "" {
			out = append(out, s)
		}
		return true
	})
	return out, err
}

// parseMetadata accepts a JSON object or array, or a string holding one (a
// CSV column or a text field in an ERP).
func parseMetadata(r gjson.Result) (json.RawMessage, error) {
	if r.IsObject() || r.IsArray() {
		return json.RawMessage(strings.TrimSpace(r.Raw)), nil
	}
	if r.Type == gjson.String {
		s := strings.TrimSpace(r.Str)
		if (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s)) {
			return json.RawMessage(s), nil
		}
	}
	return nil, fmt.Errorf("is not a JSON object: %s", truncate(r.Raw, 40))
}

var dateTimeRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[T ]`)

// dateOnly keeps the date of a date-time ("2026-03-31T00:00:00" or
// "2026-03-31 00:00:00"); anything else is kept as given, so that validation
// reports an impossible date rather than this package hiding it.
func dateOnly(s string) string {
	if m := dateTimeRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MatchesIDNumber reports whether the identification an ERP gives for a
// record (got) belongs to the customer who asked (asked). Separators and a
// "CO" prefix are ignored, and one trailing check digit on either side is
// tolerated (a Colombian NIT "900.123.456-7" is 900123456 with its check
// digit 7). It guards against an ERP that ignored the filter it was asked
// for and answered with everyone's invoices; the ERP already chose the
// records, so this needs to be no stricter than that.
func MatchesIDNumber(asked, got string) bool {
	a, g := NormalizeIDNumber(asked), NormalizeIDNumber(got)
	if a == "" || g == "" {
		return false
	}
	if a == g {
		return true
	}
	digitsOnly := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	if !digitsOnly(a) || !digitsOnly(g) {
		return false
	}
	return (len(g) == len(a)+1 && strings.HasPrefix(g, a)) ||
		(len(a) == len(g)+1 && strings.HasPrefix(a, g))
}

// NormalizeIDNumber upper-cases s and drops separators (spaces, dots,
// dashes, commas, slashes) and a leading "CO" country prefix.
func NormalizeIDNumber(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(strings.TrimSpace(s)) {
		switch r {
		case ' ', '.', '-', ',', '/', '_', '\t':
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if strings.HasPrefix(out, "CO") && len(out) > 2 && out[2] >= '0' && out[2] <= '9' {
		out = out[2:]
	}
	return out
}

// Screened is what Screen did to a set of records.
type Screened struct {
	// NoRef counts the records dropped for having no ref_payment: they
	// could never be tracked.
	NoRef int
	// OtherCustomer counts the records dropped because their id_number is
	// another customer's.
	OtherCustomer int
}

// Screen prepares the charges an ERP gave for idNumber: it drops those
// without ref_payment and those whose IDNumber does not match idNumber
// (MatchesIDNumber), sets every kept charge's IDNumber to idNumber (the
// customer's own spelling, digits only as Efipay wants, where the ERP may
// add separators or a check digit), and gives each charge whose ref_payment
// appears more than once a Defect, since Efipay tells recaudas apart by it.
func Screen(idNumber string, charges []erp.Charge) ([]erp.Charge, Screened) {
	var st Screened
	kept := make([]erp.Charge, 0, len(charges))
	count := make(map[string]int, len(charges))
	for _, c := range charges {
		switch {
		case c.RefPayment == "":
			st.NoRef++
			continue
		case c.IDNumber != "" && !MatchesIDNumber(idNumber, c.IDNumber):
			st.OtherCustomer++
			continue
		}
		c.IDNumber = idNumber
		count[c.RefPayment]++
		kept = append(kept, c)
	}
	for i := range kept {
		if count[kept[i].RefPayment] > 1 {
			kept[i].Defects = append(slices.Clip(kept[i].Defects), erp.Defect{
				Field:   efipayPath[FieldRefPayment],
				Message: fmt.Sprintf("ref_payment %q appears %d times in the answer", kept[i].RefPayment, count[kept[i].RefPayment]),
			})
		}
	}
	return kept, st
}
