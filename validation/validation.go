package validation

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"recauda-bridge/models"
)

// Violation is one broken rule of one item.
type Violation struct {
	// Field is the path inside the item in Efipay's JSON names, e.g.
	// "recauda_information.amount", "advanced_options.references[1]".
	Field string `json:"field"`
	// Rule is a stable snake_case rule id; the package documentation lists
	// them all.
	Rule string `json:"rule"`
	// Message is an English sentence naming the limit and what is wrong with
	// the value. It never quotes a long value, nor an ID number or a name.
	Message string `json:"message"`
	// Params are the values Message names, so that a page can word it in
	// the reader's language: "field", the rule's limits ("max", "min"), what
	// the value has ("got", "value"), and "variant" when a rule has more
	// than one sentence. Violations stored before there were Params have
	// none: show their Message.
	Params map[string]string `json:"params,omitempty"`
}

// Validator checks Efipay lookup items. It is safe for concurrent use.
type Validator struct {
	now     func() time.Time
	loc     *time.Location
	v       *validator.Validate
	mirrors sync.Pool
}

// New builds the validator; now is the injected clock (time.Now when nil).
// "Today" is now() converted to America/Bogota.
func New(now func() time.Time) *Validator {
	if now == nil {
		now = time.Now
	}
	loc := models.Bogota

	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	for tag, fn := range map[string]validator.Func{
		"positive":              isPositive,
		"decimal_places":        hasDecimalPlaces,
		"integer_digits":        hasIntegerDigits,
		"amount_min_length":     hasAmountMinLength,
		"digits":                isDigits,
		"not_blank":             isNotBlank,
		"trimmed":               isTrimmed,
		"control_characters":    hasNoControlCharacters,
		"control_characters_id": hasNoControlOrBidiCharacters,
		"json_object_or_array":  isJSONObjectOrArray,
		"absolute_url":          isAbsoluteURL,
		"date":                  isDate,
		"not_before_today":      isNotBeforeToday,
	} {
		if err := v.RegisterValidation(tag, fn); err != nil {
			panic(fmt.Sprintf("validation: register %s: %v", tag, err))
		}
	}
	v.RegisterStructValidation(crossField, payment{})

	return &Validator{
		now: now,
		loc: loc,
		v:   v,
		mirrors: sync.Pool{New: func() any {
			return new(payment)
		}},
	}
}

// Today is the date Efipay's date rules compare with: now() in
// America/Bogota, "YYYY-MM-DD".
func (v *Validator) Today() string { return v.Day(v.now()) }

// Day is the date of t in America/Bogota, "YYYY-MM-DD": the calendar
// Efipay's dates (limit_date, before_on) are written in.
func (v *Validator) Day(t time.Time) string {
	return t.In(v.loc).Format(time.DateOnly)
}

// Payment returns every violation of p (nil when valid), sorted by field path
// then rule. A nil p is one "required" violation with an empty Field.
func (v *Validator) Payment(p *models.Payment) []Violation {
	if p == nil {
		return []Violation{{Rule: "required", Message: "the payment item is missing", Params: map[string]string{"variant": "item"}}}
	}
	y, mo, d := v.now().In(v.loc).Date()
	today := newDate(y, int(mo), d)

	m := v.mirrors.Get().(*payment)
	defer func() {
		*m = payment{} // drop references to p before pooling
		v.mirrors.Put(m)
	}()
	m.fill(p, today)
	err := v.v.Struct(m)
	if err == nil {
		return nil
	}

	var fieldErrs validator.ValidationErrors
	if !errors.As(err, &fieldErrs) {
		// Only a non-struct argument gets here, and m is always a struct.
		panic("validation: unexpected validator error: " + err.Error())
	}
	// The errors point into m: translate them before m goes back to the pool.
	out := make([]Violation, 0, len(fieldErrs))
	for _, fe := range fieldErrs {
		out = append(out, violation(fe, today))
	}
	slices.SortFunc(out, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Field, b.Field), strings.Compare(a.Rule, b.Rule))
	})
	return out
}

// violation turns a validator error into a Violation.
func violation(fe validator.FieldError, today date) Violation {
	field := fe.Namespace()
	if _, rest, ok := strings.Cut(field, "."); ok {
		field = rest // drop the mirror's type name
	}
	rule := fe.Tag()
	switch rule {
	case "min":
		rule = "min_length"
	case "max":
		rule = "max_length"
		if fe.Kind() == reflect.Slice {
			rule = "max_items"
		}
	case "oneof":
		rule = "one_of"
	case "not_blank":
		rule = "required"
	case "control_characters_id":
		rule = "control_characters"
	}
	msg, params := message(field, rule, fe, today)
	return Violation{Field: field, Rule: rule, Message: msg, Params: params}
}

// maxQuoted is the longest value a message repeats.
const maxQuoted = 40

// message is the English sentence of a broken rule and the values it names,
// for wording it in another language: "field" always; "variant" when the
// rule has more than one sentence; "value" when the value is short enough
// to quote.
func message(field, rule string, fe validator.FieldError, today date) (string, map[string]string) {
	str, _ := fe.Value().(string)
	ref, isNum := fe.Value().(numberRef)
	var num number
	if isNum {
		num = *ref.n
	}
	p := map[string]string{"field": field}
	quote := func(msg string) string {
		if utf8.RuneCountInString(str) <= maxQuoted {
			p["value"] = strconv.Quote(str)
			msg += "; it is " + p["value"]
		}
		return msg
	}
	numberIs := func(msg string) string {
		if t := isText(num, isNum); t != "" {
			p["value"] = num.text()
			msg += t
		}
		return msg
	}
	switch rule {
	case "required":
		if fe.Tag() == "not_blank" {
			p["variant"] = "blank"
			return field + " is required and must not be only whitespace", p
		}
		if field == "advanced_options.delivery_service.value" {
			p["variant"] = "delivery_value"
			return field + ` is required when type is "Con Valor"`, p
		}
		return field + " is required", p
	case "min_length":
		p["min"], p["got"] = fe.Param(), strconv.Itoa(utf8.RuneCountInString(str))
		return fmt.Sprintf("%s must be at least %s characters long; it has %s", field, p["min"], p["got"]), p
	case "max_length":
		p["max"], p["got"] = fe.Param(), strconv.Itoa(utf8.RuneCountInString(str))
		return fmt.Sprintf("%s must be at most %s characters long; it has %s", field, p["max"], p["got"]), p
	case "max_items":
		p["max"], p["got"] = fe.Param(), strconv.Itoa(reflect.ValueOf(fe.Value()).Len())
		return fmt.Sprintf("%s must have at most %s items; it has %s", field, p["max"], p["got"]), p
	case "one_of":
		p["allowed"] = oneOfList(fe.Param())
		return quote(fmt.Sprintf("%s must be one of %s (exact case)", field, p["allowed"])), p
	case "digits":
		return field + " must contain only the digits 0-9", p
	case "trimmed":
		return field + " must not start or end with whitespace", p
	case "control_characters":
		if fe.Tag() == "control_characters_id" {
			p["variant"] = "bidi"
			return field + " must not contain control characters, bidirectional controls (such as U+202E) or bytes that are not UTF-8", p
		}
		return field + " must not contain control characters (newlines, tabs, NUL) or bytes that are not UTF-8", p
	case "positive":
		return numberIs(field + " must be greater than 0"), p
	case "decimal_places":
		p["max"], p["got"] = fe.Param(), strconv.FormatInt(num.places, 10)
		return fmt.Sprintf("%s must have at most %s decimal places; it has %s", field, p["max"], p["got"]), p
	case "integer_digits":
		p["max"], p["got"] = fe.Param(), strconv.FormatInt(num.intDigits, 10)
		return fmt.Sprintf("%s must have at most %s digits before the decimal point; it has %s", field, p["max"], p["got"]), p
	case "amount_min_length":
		p["min"], p["got"] = fe.Param(), strconv.FormatInt(num.strLen, 10)
		return fmt.Sprintf("%s written as a plain decimal must be at least %s characters long (1000 and 10.5 are, 999 and 9.5 are not); it has %s",
			field, p["min"], p["got"]), p
	case "below_amount":
		if fe.Param() == "" {
			p["variant"] = "unknown_amount"
			return field + " must be less than recauda_information.amount", p
		}
		p["amount"] = fe.Param()
		return numberIs(fmt.Sprintf("%s must be less than recauda_information.amount (%s)", field, p["amount"])), p
	case "below_100":
		return numberIs(field + " is a percentage and must be less than 100"), p
	case "zero_or_absent":
		return numberIs(field + ` must be absent or 0 when type is "Gratis"`), p
	case "json_object_or_array":
		return field + " must be a JSON object, a JSON array or null", p
	case "absolute_url":
		return field + " must be an absolute http or https URL with a host, without spaces", p
	case "date":
		return quote(field + " must be a real calendar date written YYYY-MM-DD"), p
	case "not_before_today":
		p["today"], p["got"] = today.String(), str
		return fmt.Sprintf("%s must be today (%s in America/Bogota) or later; it is %s", field, today, str), p
	case "not_after_limit_date":
		p["limit"], p["got"] = fe.Param(), str
		return fmt.Sprintf("%s must not be after advanced_options.limit_date (%s); it is %s", field, fe.Param(), str), p
	}
	p["rule"] = rule
	return field + " breaks rule " + rule, p
}

// isText is "; it is X" for a number short enough to quote, else "".
func isText(n number, ok bool) string {
	if !ok {
		return ""
	}
	if t := n.text(); t != "" {
		return "; it is " + t
	}
	return ""
}

// oneOfList writes a oneof parameter ("'Valor Minimo' 'Porcentaje Minimo'")
// as a readable list ("Valor Minimo, Porcentaje Minimo").
func oneOfList(param string) string {
	var items []string
	for param != "" {
		param = strings.TrimLeft(param, " ")
		if param == "" {
			break
		}
		var item string
		if param[0] == '\'' {
			item, param, _ = strings.Cut(param[1:], "'")
		} else {
			item, param, _ = strings.Cut(param, " ")
		}
		items = append(items, `"`+item+`"`)
	}
	return strings.Join(items, ", ")
}
