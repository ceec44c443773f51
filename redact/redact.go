// Package redact masks personal data before it reaches a log line.
package redact

import "unicode/utf8"

// ID masks an identification number, keeping its last 3 characters so an
// operator can still tell two customers apart: "1032456789" -> "*******789".
func ID(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= 3 {
		return "***"
	}
	keep := 3
	out := make([]rune, 0, n)
	for i, r := range []rune(s) {
		if i < n-keep {
			out = append(out, '*')
		} else {
			out = append(out, r)
		}
	}
	return string(out)
}

// Name masks a person's name down to its initial: "Ana Gómez" -> "A***".
func Name(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return ""
	}
	return string(r) + "***"
}
