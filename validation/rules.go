package validation

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/shopspring/decimal"
)

// number is a decimal together with the facts the rules need about its plain
// string form. The facts are computed from the coefficient and exponent, never
// by formatting: decimal.String() on 1e999999999 would build a billion-digit
// string, and such a number is one JSON token away.
type number struct {
	d       decimal.Decimal
	present bool
	sign    int
	// places is the number of decimal places once trailing zeros are
	// dropped, as decimal.String() writes it: 10.50 -> 1.
	places int64
	// intDigits is the number of digits before the point; 1 for 0.5.
	intDigits int64
	// strLen is len(d.String()).
	strLen int64
}

// maxInt64Digits is the longest coefficient whose value surely fits an int64.
const maxInt64Digits = 18

func newNumber(d decimal.Decimal) number {
	n := number{d: d, present: true, sign: d.Sign()}
	if n.sign == 0 {
		n.intDigits, n.strLen = 1, 1
		return n
	}
	digits := int64(d.NumDigits())
	exp := int64(d.Exponent())
	tz := trailingZeros(d, digits)
	digits -= tz
	exp += tz
	if exp >= 0 {
		n.intDigits = digits + exp
	} else {
		n.places = -exp
		n.intDigits = max(1, digits+exp)
	}
	n.strLen = n.intDigits
	if n.places > 0 {
		n.strLen += 1 + n.places
	}
	if n.sign < 0 {
		n.strLen++
	}
	return n
}

// trailingZeros counts the zeros that end d's coefficient (which is not 0).
func trailingZeros(d decimal.Decimal, digits int64) int64 {
	var tz int64
	if digits <= maxInt64Digits {
		c := d.CoefficientInt64()
		for c%10 == 0 {
			c /= 10
			tz++
		}
		return tz
	}
	s := d.Coefficient().String()
	for i := len(s) - 1; i >= 0 && s[i] == '0'; i-- {
		tz++
	}
	return tz
}

// moneyOK tells whether n is a well-formed positive amount: the only kind the
// cross-field comparisons look at.
func (n *number) moneyOK() bool { return n.present && n.sign > 0 && n.places <= 2 }

// less reports a < b for two numbers that passed moneyOK. Comparing digit
// counts first keeps decimal.Cmp away from rescaling 1e999999999.
func less(a, b *number) bool {
	if a.intDigits != b.intDigits {
		return a.intDigits < b.intDigits
	}
	return a.d.LessThan(b.d)
}

// maxPrintedDigits bounds the numbers a message quotes; longer ones are
// described instead of printed.
const maxPrintedDigits = 40

// text formats n for a message, or "" when it is too long to quote.
func (n *number) text() string {
	if !n.present || n.strLen > maxPrintedDigits || n.intDigits > maxPrintedDigits {
		return ""
	}
	return n.d.String()
}

// numberRef is how a mirror holds a number: a struct made of one pointer,
// which reflect turns into an interface without allocating. The validator
// boxes every field it visits, and a number is 56 bytes.
type numberRef struct{ n *number }

func numberField(fl validator.FieldLevel) *number {
	return fl.Field().Interface().(numberRef).n
}

// paramInt reads a tag's numeric parameter; the tags are ours, so a bad one
// is a programming error caught by the first test run.
func paramInt(fl validator.FieldLevel) int64 {
	p, err := strconv.ParseInt(fl.Param(), 10, 64)
	if err != nil {
		panic("validation: bad numeric parameter in tag " + fl.GetTag() + ": " + fl.Param())
	}
	return p
}

func isPositive(fl validator.FieldLevel) bool {
	n := numberField(fl)
	return !n.present || n.sign > 0
}

func hasDecimalPlaces(fl validator.FieldLevel) bool {
	n := numberField(fl)
	return !n.present || n.places <= paramInt(fl)
}

func hasIntegerDigits(fl validator.FieldLevel) bool {
	n := numberField(fl)
	return !n.present || n.intDigits <= paramInt(fl)
}

func hasAmountMinLength(fl validator.FieldLevel) bool {
	n := numberField(fl)
	return !n.present || n.strLen >= paramInt(fl)
}

func isDigits(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isNotBlank(fl validator.FieldLevel) bool {
	return strings.TrimSpace(fl.Field().String()) != ""
}

func isTrimmed(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	if s == "" {
		return true
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// hasNoControlCharacters refuses what a text must not carry to Efipay: a
// control character (C0 with newlines and NUL, DEL, C1), or bytes that are
// not UTF-8. PostgreSQL stores neither a NUL nor such bytes.
func hasNoControlCharacters(fl validator.FieldLevel) bool {
	return plainText(fl.Field().String())
}

// hasNoControlOrBidiCharacters is hasNoControlCharacters for an identifier,
// which must also read the same on every screen: no bidirectional control.
func hasNoControlOrBidiCharacters(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	return plainText(s) && !strings.ContainsFunc(s, isBidiControl)
}

func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// isBidiControl reports the characters that reorder text around them
// (U+202E RIGHT-TO-LEFT OVERRIDE and its kin): an identifier holding one
// shows as another.
func isBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

func isJSONObjectOrArray(fl validator.FieldLevel) bool {
	b := bytes.TrimSpace(fl.Field().Bytes())
	if len(b) == 0 || string(b) == "null" {
		return true
	}
	return (b[0] == '{' || b[0] == '[') && json.Valid(b)
}

func isAbsoluteURL(fl validator.FieldLevel) bool {
	return absoluteURL(fl.Field().String())
}

// absoluteURL accepts http and https URLs with a host name. Spaces and control
// characters are refused outright: url.Parse lets a space through in a path,
// and Efipay would not.
func absoluteURL(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || unicode.IsControl(r) }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return false
	}
	return u.Hostname() != "" && u.Opaque == ""
}

// A date is a calendar day packed as yyyymmdd, so that dates compare as ints.
type date int32

// parseDate reads a strict "YYYY-MM-DD" naming a real calendar day.
func parseDate(s string) (date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := atoi(s[0:4])
	m, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return date(y*10000 + m*100 + d), true
}

func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func newDate(y, m, d int) date { return date(y*10000 + m*100 + d) }

// String writes d as YYYY-MM-DD.
func (d date) String() string {
	b := make([]byte, 0, 10)
	b = appendPadded(b, int(d)/10000, 4)
	b = append(b, '-')
	b = appendPadded(b, int(d)/100%100, 2)
	b = append(b, '-')
	b = appendPadded(b, int(d)%100, 2)
	return string(b)
}

func appendPadded(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func isDate(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	if s == "" {
		return true
	}
	_, ok := parseDate(s)
	return ok
}

// isNotBeforeToday reads "today" from the mirror being validated, so one
// Payment call uses one today for every date.
func isNotBeforeToday(fl validator.FieldLevel) bool {
	d, ok := parseDate(fl.Field().String())
	if !ok {
		return true // empty or already reported as date
	}
	return d >= fl.Top().Interface().(*payment).today
}
