package redact

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// minDigits is the shortest run of digits taken for an ID number: Colombian
// ID numbers have 5 to 20 digits (Efipay's rule).
const minDigits = 5

// Digits masks every run of 5 or more ASCII digits in s as ID masks an ID
// number, keeping its last 3: free text (a path, a program's stderr) may
// carry anyone's ID number, not only the one asked about.
func Digits(s string) string {
	i := 0
	for i < len(s) && !isDigitRun(s, i) {
		i++
	}
	if i == len(s) {
		return s // nothing to mask: no copy
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j-i >= minDigits:
			b.WriteString(strings.Repeat("*", j-i-3))
			b.WriteString(s[j-3 : j])
			i = j
		case j > i:
			b.WriteString(s[i:j])
			i = j
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// isDigitRun says whether a run of at least minDigits digits starts at s[i].
func isDigitRun(s string, i int) bool {
	n := 0
	for i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '9' {
		n++
	}
	return n >= minDigits
}

// Text masks free text that may quote people: every run of 5 or more digits
// (Digits), and every word of 3 letters or more of the given names, as Name
// masks a name ("María Gómez" in "no debt for Gómez, María" becomes
// "no debt for G***, M***").
func Text(s string, names ...string) string {
	s = Digits(s)
	var words []string
	for _, name := range names {
		for _, w := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) }) {
			if utf8.RuneCountInString(w) >= 3 {
				words = append(words, w)
			}
		}
	}
	// Longest first, so that a word inside another is not masked first.
	slices.SortFunc(words, func(a, b string) int { return len(b) - len(a) })
	for _, w := range words {
		if strings.Contains(s, w) {
			s = strings.ReplaceAll(s, w, Name(w))
		}
	}
	return s
}
