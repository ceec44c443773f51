package odoo

import (
	"strings"
	"unicode"
)

// normalizeID upper-cases s and drops separators and a leading "CO"
// country prefix (Odoo's base_vat writes Colombian NITs as "CO900123456-7"
// in some versions).
func normalizeID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(strings.TrimSpace(s)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, "CO") && len(out) > 2 && out[2] >= '0' && out[2] <= '9' {
		out = out[2:]
	}
	return out
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// nitWeights are DIAN's weights for a NIT's check digit, from the rightmost
// digit of the number leftwards.
var nitWeights = []int{3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71}

// nitCheckDigit computes the check digit (dígito de verificación) of a
// Colombian NIT given as digits, or -1 when it has too many digits.
func nitCheckDigit(n string) int {
	if len(n) > len(nitWeights) || !allDigits(n) {
		return -1
	}
	sum := 0
	for i := 0; i < len(n); i++ {
		sum += int(n[len(n)-1-i]-'0') * nitWeights[i]
	}
	r := sum % 11
	if r > 1 {
		return 11 - r
	}
	return r
}

// hasCheckDigitSeparator reports whether vat is written with its check
// digit set apart: "900.123.456-7", "900123456-7", "900123456 7".
func hasCheckDigitSeparator(vat string) bool {
	v := strings.TrimSpace(vat)
	if len(v) < 3 {
		return false
	}
	last, sep := v[len(v)-1], v[len(v)-2]
	return last >= '0' && last <= '9' && (sep == '-' || sep == ' ')
}

// vatMatches reports whether a partner whose vat is vat is the customer who
// typed idNumber in Efipay's portal.
//
// Equal after dropping separators always matches, so a NIT stored with its
// check digit ("900.123.456-7") matches 9001234567, and a cédula matches
// itself. A check digit is tolerated only where it is unmistakable, because a
// wrong match shows one person's invoices to another:
//   - the vat sets its last digit apart ("900.123.456-7" matches 900123456);
//   - or the partner is a company (companies have NITs, people cédulas) and
//     the extra digit is the NIT check digit of the rest, on either side
//     ("9001234567" matches 900123456, "900123456" matches 9001234567).
//
// A person's plain number ("1020304050") therefore matches only itself,
// never 102030405.
func vatMatches(idNumber, vat string, isCompany bool) bool {
	id, v := normalizeID(idNumber), normalizeID(vat)
	if id == "" || v == "" {
		return false
	}
	if id == v {
		return true
	}
	if !allDigits(id) || !allDigits(v) {
		return false
	}
	switch {
	case len(v) == len(id)+1 && strings.HasPrefix(v, id):
		// Stored with a check digit, typed without.
		if hasCheckDigitSeparator(vat) {
			return true
		}
		return isCompany && nitCheckDigit(id) == int(v[len(id)]-'0')
	case len(id) == len(v)+1 && strings.HasPrefix(id, v):
		// Typed with a check digit, stored without.
		return isCompany && nitCheckDigit(v) == int(id[len(v)]-'0')
	}
	return false
}

// vatPattern is an =ilike pattern that finds every vat vatMatches could
// accept for idNumber, whatever separators it was written with: the
// characters of the ID number (without its last one, in case that is a
// check digit the partner's vat lacks) with % between and around them. It
// finds more than it should; vatMatches decides.
func vatPattern(idNumber string) string {
	id := normalizeID(idNumber)
	if allDigits(id) && len(id) > 5 {
		id = id[:len(id)-1]
	}
	var b strings.Builder
	b.WriteByte('%')
	for _, r := range id {
		b.WriteRune(r)
		b.WriteByte('%')
	}
	return b.String()
}
