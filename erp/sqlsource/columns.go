package sqlsource

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// The result columns the query may name, after Efipay's fields.
const (
	colRefPayment             = "ref_payment"
	colDescription            = "description"
	colAmount                 = "amount"
	colCurrencyType           = "currency_type"
	colPayerName              = "payer_name"
	colIDNumber               = "id_number"
	colLimitDate              = "limit_date"
	colAdvanceType            = "advance_type"
	colAdvanceValue           = "advance_value"
	colReferences             = "references"
	colPicture                = "picture"
	colHasComments            = "has_comments"
	colCommentsLabel          = "comments_label"
	colDiscountType           = "discount_type"
	colDiscountValue          = "discount_value"
	colDiscountBeforeOn       = "discount_before_on"
	colDeliveryType           = "delivery_type"
	colDeliveryValue          = "delivery_value"
	colRequestAddressDelivery = "request_address_delivery"
	colSelectedTaxes          = "selected_taxes"
	colMetadata               = "metadata"
)

// RequiredColumns are the columns the query must return.
var RequiredColumns = []string{colRefPayment, colDescription, colAmount, colCurrencyType, colPayerName}

// OptionalColumns are the other columns with a meaning; any column not named
// here or in RequiredColumns goes into the charge's metadata.
var OptionalColumns = []string{
	colIDNumber, colLimitDate, colAdvanceType, colAdvanceValue, colReferences,
	colPicture, colHasComments, colCommentsLabel, colDiscountType,
	colDiscountValue, colDiscountBeforeOn, colDeliveryType, colDeliveryValue,
	colRequestAddressDelivery, colSelectedTaxes, colMetadata,
}

// fieldPath is the Efipay path a column feeds, used in Defects.
var fieldPath = map[string]string{
	colRefPayment:             "recauda_information.ref_payment",
	colDescription:            "recauda_information.description",
	colAmount:                 "recauda_information.amount",
	colCurrencyType:           "recauda_information.currency_type",
	colPayerName:              "recauda_information.payer_name",
	colIDNumber:               "recauda_information.id_number",
	colAdvanceType:            "recauda_information.advance.type",
	colAdvanceValue:           "recauda_information.advance.value",
	colSelectedTaxes:          "recauda_information.selected_taxes",
	colMetadata:               "recauda_information.metadata",
	colLimitDate:              "advanced_options.limit_date",
	colReferences:             "advanced_options.references",
	colPicture:                "advanced_options.picture",
	colHasComments:            "advanced_options.has_comments",
	colCommentsLabel:          "advanced_options.comments_label",
	colDiscountType:           "advanced_options.discount.type",
	colDiscountValue:          "advanced_options.discount.value",
	colDiscountBeforeOn:       "advanced_options.discount.before_on",
	colDeliveryType:           "advanced_options.delivery_service.type",
	colDeliveryValue:          "advanced_options.delivery_service.value",
	colRequestAddressDelivery: "advanced_options.request_address_delivery",
}

// column is one result column: its name as the database gave it and its
// database type name (upper case, e.g. "NUMERIC", "_TEXT", "VARCHAR"; empty
// when the driver does not say).
type column struct {
	name     string
	typeName string
}

// layout maps the result columns of the query to Charge fields.
type layout struct {
	cols   []column
	known  map[string]int // Efipay column name -> index in cols
	extras []int          // indexes of the columns that go into metadata
}

func columnsOf(types []*sql.ColumnType) []column {
	cols := make([]column, len(types))
	for i, t := range types {
		cols[i] = column{name: t.Name(), typeName: strings.ToUpper(t.DatabaseTypeName())}
	}
	return cols
}

// newLayout checks the columns: every required one present, no name twice.
// Efipay's names match case-insensitively, since some databases fold them.
func newLayout(cols []column) (*layout, error) {
	l := &layout{cols: cols, known: map[string]int{}}
	seen := map[string]bool{}
	for i, c := range cols {
		key := strings.ToLower(c.name)
		if seen[key] {
			return nil, fmt.Errorf("the query returns the column %q twice", c.name)
		}
		seen[key] = true
		if contains(RequiredColumns, key) || contains(OptionalColumns, key) {
			l.known[key] = i
		} else {
			l.extras = append(l.extras, i)
		}
	}
	var missing []string
	for _, name := range RequiredColumns {
		if _, ok := l.known[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the query returns no %s column (required: %s; it returns: %s)",
			strings.Join(missing, ", "), strings.Join(RequiredColumns, ", "), columnNames(cols))
	}
	return l, nil
}

func columnNames(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// floatMoneyColumns lists the money columns whose database type is binary
// floating point, which cannot hold most decimal amounts exactly.
func (l *layout) floatMoneyColumns() []string {
	var out []string
	for _, name := range []string{colAmount, colAdvanceValue, colDiscountValue, colDeliveryValue} {
		if i, ok := l.known[name]; ok && isFloatType(l.cols[i].typeName) {
			out = append(out, name)
		}
	}
	return out
}

func isFloatType(t string) bool {
	switch t {
	case "FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL":
		return true
	}
	return false
}

// row converts one row (the values database/sql scanned into any) to a
// Charge. Values it cannot convert become Defects; it never fails.
type row struct {
	l       *layout
	vals    []any
	charge  erp.Charge
	defects []erp.Defect
}

func (l *layout) charge(vals []any, askedID string) erp.Charge {
	r := &row{l: l, vals: vals}
	c := &r.charge

	c.RefPayment = r.requiredText(colRefPayment)
	c.Description = r.requiredText(colDescription)
	c.Currency = r.requiredText(colCurrencyType)
	c.PayerName = r.requiredText(colPayerName)
	if d, ok := r.decimal(colAmount); ok {
		c.Amount = d
	} else if r.isNull(colAmount) {
		r.defect(colAmount, "is NULL")
	}
	c.IDNumber = askedID
	if id, ok := r.text(colIDNumber); ok && id != "" {
		c.IDNumber = id
	}

	advType, hasAdvType := r.text(colAdvanceType)
	advValue, hasAdvValue := r.decimal(colAdvanceValue)
	if hasAdvType || hasAdvValue {
		c.Advance = &erp.Advance{Type: advType, Value: advValue}
		if !hasAdvValue && r.isNull(colAdvanceValue) {
			r.defect(colAdvanceValue, "is NULL but advance_type is set")
		}
	}

	c.LimitDate, _ = r.date(colLimitDate)
	c.References, _ = r.strings(colReferences)
	c.SelectedTaxes = r.ints(colSelectedTaxes)
	c.Picture, _ = r.text(colPicture)
	if b, ok := r.bool(colHasComments); ok {
		c.HasComments = *b
	}
	c.CommentsLabel, _ = r.text(colCommentsLabel)
	c.RequestAddressDelivery, _ = r.bool(colRequestAddressDelivery)

	discType, hasDiscType := r.text(colDiscountType)
	discValue, hasDiscValue := r.decimal(colDiscountValue)
	discBefore, hasDiscBefore := r.date(colDiscountBeforeOn)
	if hasDiscType || hasDiscValue || hasDiscBefore {
		c.Discount = &erp.Discount{Type: discType, Value: discValue, BeforeOn: discBefore}
		if !hasDiscValue && r.isNull(colDiscountValue) {
			r.defect(colDiscountValue, "is NULL but another discount column is set")
		}
	}

	delType, hasDelType := r.text(colDeliveryType)
	delValue, hasDelValue := r.decimal(colDeliveryValue)
	if hasDelType || hasDelValue {
		c.Delivery = &erp.Delivery{Type: delType, Value: delValue}
		if !hasDelValue && r.isNull(colDeliveryValue) && delType != models.DeliveryFree {
			r.defect(colDeliveryValue, fmt.Sprintf("is NULL but delivery_type is %q", delType))
		}
	}

	c.Metadata = r.metadata()
	c.Defects = r.defects
	return r.charge
}

func (r *row) defect(col, msg string) {
	r.defects = append(r.defects, erp.Defect{Field: fieldPath[col], Message: "column " + col + ": " + msg})
}

// value returns the value of the Efipay column name; ok is false when the
// query has no such column.
func (r *row) value(name string) (v any, ok bool) {
	i, ok := r.l.known[name]
	if !ok {
		return nil, false
	}
	return r.vals[i], true
}

// isNull reports whether the query has the column and it is NULL here.
func (r *row) isNull(name string) bool {
	v, ok := r.value(name)
	return ok && v == nil
}

func (r *row) typeName(name string) string {
	return r.l.cols[r.l.known[name]].typeName
}

// text reads a column as text, trimmed; ok is false when it is absent, NULL
// or cannot be read (then it records a Defect).
func (r *row) text(name string) (string, bool) {
	v, ok := r.value(name)
	if !ok || v == nil {
		return "", false
	}
	s, err := textOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return "", false
	}
	return strings.TrimSpace(s), true
}

func (r *row) requiredText(name string) string {
	if r.isNull(name) {
		r.defect(name, "is NULL")
		return ""
	}
	s, _ := r.text(name)
	return s
}

func (r *row) decimal(name string) (decimal.Decimal, bool) {
	v, ok := r.value(name)
	if !ok || v == nil {
		return decimal.Decimal{}, false
	}
	d, err := decimalOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return decimal.Decimal{}, false
	}
	return d, true
}

func (r *row) date(name string) (string, bool) {
	v, ok := r.value(name)
	if !ok || v == nil {
		return "", false
	}
	s, err := dateOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return "", false
	}
	return s, s != ""
}

func (r *row) bool(name string) (*bool, bool) {
	v, ok := r.value(name)
	if !ok || v == nil {
		return nil, false
	}
	b, err := boolOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return nil, false
	}
	return &b, true
}

// strings reads a list: a PostgreSQL array, or text separated by "|".
func (r *row) strings(name string) ([]string, bool) {
	v, ok := r.value(name)
	if !ok || v == nil {
		return nil, false
	}
	if isArrayType(r.typeName(name)) {
		var list []string
		if err := scanArray(v, &list); err != nil {
			r.defect(name, err.Error())
			return nil, false
		}
		return nonEmpty(list), true
	}
	s, err := textOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return nil, false
	}
	return nonEmpty(strings.Split(s, "|")), true
}

// ints reads a list of integers: a PostgreSQL array, text separated by "|",
// or a single integer.
func (r *row) ints(name string) []int64 {
	v, ok := r.value(name)
	if !ok || v == nil {
		return nil
	}
	if isArrayType(r.typeName(name)) {
		var list []int64
		if err := scanArray(v, &list); err != nil {
			r.defect(name, err.Error())
			return nil
		}
		return list
	}
	if n, ok := v.(int64); ok {
		return []int64{n}
	}
	s, err := textOf(v)
	if err != nil {
		r.defect(name, err.Error())
		return nil
	}
	var out []int64
	for _, part := range nonEmpty(strings.Split(s, "|")) {
		n, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			r.defect(name, fmt.Sprintf("%q is not an integer", part))
			return nil
		}
		out = append(out, n)
	}
	return out
}

// metadata builds the metadata object: the metadata column (a JSON object)
// plus every column Efipay does not know, keyed by its name. A key of the
// metadata column wins over a column of the same name.
func (r *row) metadata() json.RawMessage {
	var base map[string]json.RawMessage
	var raw []byte
	if v, ok := r.value(colMetadata); ok && v != nil {
		s, err := textOf(v)
		if err != nil {
			r.defect(colMetadata, err.Error())
		} else if strings.TrimSpace(s) != "" {
			raw = []byte(s)
			if err := json.Unmarshal(raw, &base); err != nil {
				r.defect(colMetadata, "is not a JSON object: "+err.Error())
				raw, base = nil, nil
			}
		}
	}
	added := false
	for _, i := range r.l.extras {
		v := r.vals[i]
		if v == nil {
			continue
		}
		name := r.l.cols[i].name
		if _, taken := base[name]; taken {
			continue
		}
		if base == nil {
			base = map[string]json.RawMessage{}
		}
		base[name] = jsonOf(v, r.l.cols[i].typeName)
		added = true
	}
	if !added {
		if base == nil { // absent, or JSON null
			return nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err == nil {
			return buf.Bytes()
		}
		return raw
	}
	out, err := json.Marshal(base)
	if err != nil { // cannot happen: every value is valid JSON
		r.defect(colMetadata, err.Error())
		return nil
	}
	return out
}

func nonEmpty(parts []string) []string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isArrayType(t string) bool { return strings.HasPrefix(t, "_") }

// scanArray parses a PostgreSQL array in its text form ("{a,b}"), which is
// how the pgx database/sql driver hands arrays over.
func scanArray(v any, dst any) error {
	if err := pgtype.NewMap().SQLScanner(dst).Scan(v); err != nil {
		return fmt.Errorf("cannot read the array: %v", err)
	}
	return nil
}

// textOf renders a scanned value as text. Numbers keep every digit the
// driver gave; a float64 (from a float column) is written with the fewest
// digits that read back as the same float.
func textOf(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		if !utf8.Valid(v) {
			return "", fmt.Errorf("is binary, not text")
		}
		return string(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		return formatTime(v), nil
	}
	return "", fmt.Errorf("has an unsupported type %T", v)
}

// decimalOf reads an exact amount. Text and the NUMERIC/DECIMAL types (which
// the drivers hand over as text) keep every digit; a float64 can only come
// from a binary floating-point column and is written with strconv's shortest
// round-trip form, which is the closest this package can get.
func decimalOf(v any) (decimal.Decimal, error) {
	switch v := v.(type) {
	case string, []byte:
		s, err := textOf(v)
		if err != nil {
			return decimal.Decimal{}, err
		}
		d, err := decimal.NewFromString(strings.TrimSpace(s))
		if err != nil {
			return decimal.Decimal{}, fmt.Errorf("%q is not a decimal number", s)
		}
		return d, nil
	case int64:
		return decimal.NewFromInt(v), nil
	case uint64:
		return decimal.RequireFromString(strconv.FormatUint(v, 10)), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return decimal.Decimal{}, fmt.Errorf("%v is not a number", v)
		}
		return decimal.RequireFromString(strconv.FormatFloat(v, 'f', -1, 64)), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%s is not an amount", typeWord(v))
}

// dateOf reads a date as "YYYY-MM-DD". A time.Time is formatted in its own
// location. Text passes as it is (so that validation reports an impossible
// date such as "2024-02-30"), except that a time after a "YYYY-MM-DD" date
// is dropped; empty text counts as no date.
func dateOf(v any) (string, error) {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.DateOnly), nil
	case string, []byte:
		s, err := textOf(v)
		if err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
		if len(s) > 10 && (s[10] == ' ' || s[10] == 'T') && looksLikeDate(s[:10]) {
			s = s[:10]
		}
		return s, nil
	}
	return "", fmt.Errorf("%s is not a date", typeWord(v))
}

func looksLikeDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range 10 {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// boolOf reads a boolean from a bool, the integers 0 and 1, MySQL's BIT(1)
// bytes, or the words true/false, t/f, 1/0, si/sí/no, yes/y/n.
func boolOf(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case int64:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
		return false, fmt.Errorf("%d is not a boolean (want 0 or 1)", v)
	case uint64:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
		return false, fmt.Errorf("%d is not a boolean (want 0 or 1)", v)
	case []byte:
		if len(v) == 1 && v[0] <= 1 { // BIT(1)
			return v[0] == 1, nil
		}
		s, err := textOf(v)
		if err != nil {
			return false, err
		}
		return boolOf(s)
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "t", "1", "si", "sí", "yes", "y":
			return true, nil
		case "false", "f", "0", "no", "n":
			return false, nil
		}
		return false, fmt.Errorf("%q is not a boolean (want true/false, 1/0, t/f, si/no)", v)
	}
	return false, fmt.Errorf("%s is not a boolean", typeWord(v))
}

// jsonOf renders an unknown column's value for the metadata object: numbers
// as JSON numbers (NUMERIC/DECIMAL text keeps its digits), JSON columns as
// they are, dates as "YYYY-MM-DD", other times in RFC 3339, bytes that are
// not text in base64, everything else as a string.
func jsonOf(v any, typeName string) json.RawMessage {
	switch v := v.(type) {
	case int64:
		return json.RawMessage(strconv.FormatInt(v, 10))
	case uint64:
		return json.RawMessage(strconv.FormatUint(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return jsonString(strconv.FormatFloat(v, 'f', -1, 64))
		}
		return json.RawMessage(strconv.FormatFloat(v, 'f', -1, 64))
	case bool:
		return json.RawMessage(strconv.FormatBool(v))
	case time.Time:
		return jsonString(formatTime(v))
	case []byte:
		if !utf8.Valid(v) {
			return jsonString(base64.StdEncoding.EncodeToString(v))
		}
		return jsonOf(string(v), typeName)
	case string:
		s := strings.TrimSpace(v)
		switch {
		case isDecimalType(typeName) && isJSONNumber(s):
			return json.RawMessage(s)
		case (typeName == "JSON" || typeName == "JSONB") && json.Valid([]byte(s)):
			var buf bytes.Buffer
			if json.Compact(&buf, []byte(s)) == nil {
				return buf.Bytes()
			}
		}
		return jsonString(v)
	}
	return jsonString(fmt.Sprint(v))
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

func isDecimalType(t string) bool {
	return strings.HasPrefix(t, "NUMERIC") || strings.HasPrefix(t, "DECIMAL")
}

// isJSONNumber reports whether s is a number in JSON's grammar (which is
// stricter than decimal's: no "+", no leading dot, no "NaN").
func isJSONNumber(s string) bool {
	if s == "" || !(s[0] == '-' || isDigit(s[0])) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// formatTime writes a time that is a whole day as "YYYY-MM-DD" and any other
// in RFC 3339, in the time's own location.
func formatTime(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// typeWord names the kind of a scanned value for a Defect message.
func typeWord(v any) string {
	switch v := v.(type) {
	case bool:
		return fmt.Sprintf("a boolean (%v)", v)
	case int64, uint64:
		return fmt.Sprintf("an integer (%d)", v)
	case float64:
		return fmt.Sprintf("a float (%v)", v)
	case time.Time:
		return "a timestamp"
	}
	return fmt.Sprintf("a value of type %T", v)
}
