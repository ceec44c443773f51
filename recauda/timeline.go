package recauda

import (
	"regexp"
	"strings"
)

// Entry is a line of a charge's timeline, or a webhook's detail, read as a
// code and the values it names, so that a page can word it in the reader's
// language. The store keeps each line as English text (the admin API shows
// it as it is, and rows written long ago read the same way); the forms
// below are the ones the bridge writes.
type Entry struct {
	// Code names the form ("send", "webhook", "writeback_done", …); empty
	// when the text is in none of them, and is then shown as written.
	Code string
	// Params are the values the text names, by the form's placeholders.
	Params map[string]string
}

// form is one way the bridge words a line: literal text with {name}
// placeholders.
type form struct {
	code string
	re   *regexp.Regexp
}

// placeholderPattern is what each placeholder matches: numbers are digits,
// transactions, currencies and amounts one word; anything else the
// shortest text that lets the rest match.
var placeholderPattern = map[string]string{
	"n": `\d+`, "job": `\d+`, "attempt": `\d+`, "attempts": `\d+`,
	"transaction": `\S*`, "paid_by": `\S*`, "currency": `\S+`, "charge_currency": `\S+`,
	"amount": `\S+`, "outcome": `\w+`, "state": `\w+`,
}

func newForm(code, text string) form {
	var b strings.Builder
	b.WriteString("^")
	for {
		open := strings.IndexByte(text, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '}')
		name := text[open+1 : open+end]
		pat, ok := placeholderPattern[name]
		if !ok {
			pat = `.+?`
		}
		b.WriteString(regexp.QuoteMeta(text[:open]) + "(?P<" + name + ">" + pat + ")")
		text = text[open+end+1:]
	}
	b.WriteString(regexp.QuoteMeta(text) + "$")
	return form{code: code, re: regexp.MustCompile(b.String())}
}

func read(forms []form, text string) Entry {
	for _, f := range forms {
		m := f.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		e := Entry{Code: f.code, Params: map[string]string{}}
		for i, name := range f.re.SubexpNames() {
			if name != "" {
				e.Params[name] = m[i]
			}
		}
		return e
	}
	return Entry{}
}

// entryForms are the store's timeline lines. A form with a tail comes
// before the same form without it.
var entryForms = []form{
	newForm("send", "send #{n}: {note}"),
	newForm("send", "send #{n}"),
	newForm("changed", "item changed since send #{n}: {changes}"),
	newForm("changed", "item changed since send #{n}"),
	newForm("released_operator", "released by the operator: offered at the next lookup"),
	newForm("deactivated_operator", "deactivated by the operator: not offered until activated"),
	newForm("activated_operator", "activated by the operator: offered at the next lookup"),
	newForm("not_delivered", "answer not delivered"),
	newForm("webhook", "webhook {outcome}: transaction {transaction} {status} {currency} {amount}: {detail}"),
	newForm("webhook", "webhook {outcome}: transaction {transaction} {status} {currency} {amount}"),
	newForm("webhook_parent", "{status} through {ref} (transaction {transaction})"),
	newForm("writeback_queued_reversal", "write-back #{job} queued for the reversal of transaction {transaction}"),
	newForm("writeback_queued", "write-back #{job} queued for transaction {transaction}"),
	newForm("writeback_done_reversal", "write-back #{job}: reversal of payment {transaction} recorded in the ERP on attempt {attempt}{cancelled}"),
	newForm("writeback_done_reversal", "write-back #{job}: reversal of payment {transaction} recorded in the ERP on attempt {attempt}"),
	newForm("writeback_done", "write-back #{job}: payment {transaction} recorded in the ERP on attempt {attempt}{cancelled}"),
	newForm("writeback_done", "write-back #{job}: payment {transaction} recorded in the ERP on attempt {attempt}"),
	newForm("writeback_failed", "write-back #{job}: attempt {attempt} failed: {cause}; next attempt at {next}"),
	newForm("writeback_needs_operator", "write-back #{job} needs the operator: {cause}"),
	newForm("writeback_retry", "write-back #{job}: retry asked by the operator (was {state} after {attempts} attempts)"),
	newForm("writeback_cancelled", "write-back #{job}: cancelled by the operator after {attempts} attempts"),
}

// cancelledInFlight is the tail of a write-back done after the operator
// cancelled it.
const cancelledInFlight = " (it was cancelled while in flight)"

// ReadEntry reads a timeline line as the store writes it.
func ReadEntry(detail string) Entry {
	e := read(entryForms, detail)
	if c, ok := e.Params["cancelled"]; ok {
		if c != cancelledInFlight {
			return Entry{}
		}
		e.Params["cancelled"] = "yes"
	}
	return e
}

// decisionForms are the details decide and approvedAmount give a webhook.
var decisionForms = []form{
	newForm("test_payment", "test payment (production=false) while the bridge is not in test mode"),
	newForm("currency_differs", "currency {currency} differs from the charge's {charge_currency}"),
	newForm("already_applied", "transaction already applied"),
	newForm("double_payment", "a second approved payment (transaction {transaction}) for a charge already paid by transaction {paid_by}: possible double payment"),
	newForm("was_reversed", "transaction was reversed"),
	newForm("already_paid", "charge already paid"),
	newForm("already_ended", "transaction already ended as {status}"),
	newForm("inactive", "charge is inactive"),
	newForm("reversed", "payment reversed; the debt is owed again"),
	newForm("already_reversed", "already reversed"),
	newForm("reversal_not_paying", "reversal of a transaction that did not pay this charge"),
	newForm("already_approved", "transaction already approved"),
	newForm("another_failed_paid", "another attempt failed; the charge is already paid"),
	newForm("transaction_reversed", "transaction already reversed"),
	newForm("older_failed", "an older attempt failed; transaction {transaction} is still in progress"),
	newForm("failed", "attempt failed ({status}); the debt is still owed"),
	newForm("discount_expired", "discount expired: paid {amount}, the discounted price, on {day} (Bogota); the discount ended on {ended} and the full amount is {full}"),
	newForm("earlier_offer_balance", "paid {amount} for an earlier offer of {offer} (send #{n}); the latest offer is {latest}: its remainder {remainder} is offered as a balance once the ERP reports it"),
	newForm("overpaid", "overpaid: paid {amount} for an earlier offer of {offer} (send #{n}); the latest offer is {latest}, {difference} less; nothing more is offered"),
	newForm("earlier_offer", "paid {amount} for an earlier offer of {offer} (send #{n})"),
	newForm("advance", "advance of {amount}; balance {balance}"),
	newForm("advance_below", "advance of {amount} is below the minimum {minimum}"),
	newForm("amount_mismatch_earlier", "amount {amount} does not match the charge's {charge} nor an earlier offer's ({earlier})"),
	newForm("amount_mismatch", "amount {amount} does not match the charge's {charge}"),
}

// ReadDecision reads what the state machine said of a webhook (a webhook
// event's detail, and the tail of its timeline line).
func ReadDecision(detail string) Entry { return read(decisionForms, detail) }

// EntryCodes and DecisionCodes are every code ReadEntry and ReadDecision
// give, for a page's tests to check that each has its words.
func EntryCodes() []string { return codes(entryForms) }

// DecisionCodes: see EntryCodes.
func DecisionCodes() []string { return codes(decisionForms) }

func codes(forms []form) []string {
	var out []string
	for _, f := range forms {
		if len(out) == 0 || out[len(out)-1] != f.code {
			out = append(out, f.code)
		}
	}
	return out
}

// noteForms are the notes a send may carry (Due.Note: what the lookup
// changed in the item), joined by "; ".
var noteForms = []form{
	newForm("overdue_limit", "overdue since {date}, sent with limit date {limit} (OVERDUE_POLICY={policy})"),
	newForm("overdue_no_limit", "overdue since {date}, sent without a limit date (OVERDUE_POLICY={policy})"),
	newForm("discount_expired", "discount expired on {date}, sent without it"),
	newForm("discount_after_limit", "discount until {date} ends after the limit date sent ({limit}), sent without it"),
	newForm("reissued", "the offer of {ref} ended on {date} unpaid; re-issued as {next}"),
}

// noteHeads are noteForms matching at the start of a text, up to "; " or
// its end.
var noteHeads = func() []form {
	out := make([]form, len(noteForms))
	for i, f := range noteForms {
		expr := strings.TrimSuffix(f.re.String(), "$") + `(?:; |$)`
		out[i] = form{code: f.code, re: regexp.MustCompile(expr)}
	}
	return out
}()

// ReadNotes reads a send's note as the notes it joins; nil when any part
// is in no known form.
func ReadNotes(note string) []Entry {
	var out []Entry
	for note != "" {
		var e Entry
		for _, f := range noteHeads {
			m := f.re.FindStringSubmatchIndex(note)
			if m == nil {
				continue
			}
			e = Entry{Code: f.code, Params: map[string]string{}}
			for i, name := range f.re.SubexpNames() {
				if name != "" {
					e.Params[name] = note[m[2*i]:m[2*i+1]]
				}
			}
			note = note[m[1]:]
			break
		}
		if e.Code == "" {
			return nil
		}
		out = append(out, e)
	}
	return out
}

// NoteCodes: see EntryCodes.
func NoteCodes() []string { return codes(noteForms) }
