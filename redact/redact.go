// Package redact masks personal data before it reaches a log line.
package redact

import (
	"strings"
	"unicode/utf8"
)

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

// IDInError returns err with every occurrence of the ID number id masked in
// its message, for errors that are logged: an ERP's error text may quote the
// customer it was asked about. errors.Is and errors.As still see err.
func IDInError(err error, id string) error {
	if err == nil || id == "" || !strings.Contains(err.Error(), id) {
		return err
	}
	return &maskedError{err: err, msg: strings.ReplaceAll(err.Error(), id, ID(id))}
}

type maskedError struct {
	err error
	msg string
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
