package efipay

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Outcome is what an Efipay status means for the recauda it pays.
type Outcome string

// The outcomes of a transaction. A transaction may pass through several:
// in progress, then approved, and later perhaps reversed.
const (
	// OutcomeApproved means the money was collected (Aprobada).
	OutcomeApproved Outcome = "approved"
	// OutcomeInProgress means the attempt is not finished yet (Iniciada,
	// Pendiente, Por Pagar, and the English Pending of an older Efipay
	// plugin): another webhook will follow.
	OutcomeInProgress Outcome = "in_progress"
	// OutcomeReversed means an approved payment was taken back (Reversada,
	// Reversion Escalada): the recauda is owed again.
	OutcomeReversed Outcome = "reversed"
	// OutcomeFailed means the attempt ended without payment (Rechazada,
	// Fallida, and any status not listed above); the payer may try again.
	OutcomeFailed Outcome = "failed"
)

// statuses maps a folded status (see fold) to its outcome.
var statuses = map[string]Outcome{
	"aprobada":           OutcomeApproved,
	"iniciada":           OutcomeInProgress,
	"pendiente":          OutcomeInProgress,
	"por pagar":          OutcomeInProgress,
	"pending":            OutcomeInProgress,
	"reversada":          OutcomeReversed,
	"reversion escalada": OutcomeReversed,
}

// OutcomeOf maps an Efipay status to its outcome. The comparison ignores case,
// accents and surrounding or repeated spaces ("Reversión Escalada" and
// "APROBADA" are recognised). Unknown statuses are [OutcomeFailed]: an
// attempt Efipay does not call approved, pending or reversed did not pay.
func OutcomeOf(status string) Outcome {
	if o, ok := statuses[fold(status)]; ok {
		return o
	}
	return OutcomeFailed
}

// fold lower-cases s, strips its accents and normalises its spaces.
func fold(s string) string {
	if !isASCII(s) {
		// A transformer holds state, so each call builds its own.
		t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
		if r, _, err := transform.String(t, s); err == nil {
			s = r
		}
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
