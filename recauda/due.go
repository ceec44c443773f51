package recauda

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// Due is what a lookup knows of a charge's dates once mapped: the ERP's
// due date (its limit_date), whether that has passed in America/Bogota,
// and what the mapping changed so that Efipay accepts the item today.
type Due struct {
	// Date is the ERP's limit date, "YYYY-MM-DD"; empty when it has none.
	Date string
	// Overdue: Date is before today in America/Bogota.
	Overdue bool
	// LimitDate is the limit_date the item carries (empty: none).
	LimitDate string
	// Notes say, one sentence each, what was changed and why, worded for
	// an item that is sent (NotesFor words them for one that is not).
	Notes []string
	// unsent is, for each of the first Notes, its wording for an item not
	// sent, with %s where what happened to it goes.
	unsent []string
}

// note adds a note: sent is its wording for an item sent, unsent for one
// not sent (see Due.unsent).
func (d *Due) note(sent, unsent string) {
	d.Notes, d.unsent = append(d.Notes, sent), append(d.unsent, unsent)
}

// NotesFor is Notes worded by what happened to the item: a held-back or
// withheld item was not sent, whatever its item would have carried.
func (d Due) NotesFor(decision Decision) []string {
	if decision == DecisionSend || len(d.unsent) == 0 {
		return d.Notes
	}
	what := "not sent"
	if decision == DecisionHeldBack {
		what = "held back"
	}
	out := slices.Clone(d.Notes)
	for i, form := range d.unsent {
		out[i] = fmt.Sprintf(form, what)
	}
	return out
}

// Note is Notes as one line, as the timeline and the logs write it.
func (d Due) Note() string {
	return strings.Join(d.Notes, "; ")
}

// ItemFromCharge maps an ERP charge to the item Efipay gets today (a date
// "YYYY-MM-DD" in America/Bogota): PaymentFromCharge, then the charge's
// dates made acceptable without hiding the debt. An overdue charge follows
// policy (sent without a limit date, with today + N days, or left as it is
// and held back by the validator); an early-payment discount whose date
// has passed is dropped (the full amount is due), and so is one that would
// end after a limit date the bridge set itself. A charge that is not
// overdue and whose discount has not lapsed is mapped exactly as before.
func ItemFromCharge(c erp.Charge, webhookURL, today string, policy config.OverduePolicy) (models.Payment, Due) {
	p, _ := PaymentFromCharge(c, webhookURL)
	return p, adjustDates(&p, today, policy)
}

// adjustDates is ItemFromCharge's second half, on an item already mapped.
func adjustDates(p *models.Payment, today string, policy config.OverduePolicy) Due {
	ao := p.AdvancedOptions
	if ao == nil {
		return Due{}
	}
	d := Due{Date: ao.LimitDate, LimitDate: ao.LimitDate}
	limitSet := false
	if Overdue(d.Date, today) {
		d.Overdue = true
		switch policy.Mode {
		case config.OverdueHold:
			d.note(fmt.Sprintf("overdue since %s, held back (OVERDUE_POLICY=%s)", d.Date, policy),
				fmt.Sprintf("overdue since %s, %%s (OVERDUE_POLICY=%s)", d.Date, policy))
		case config.OverdueExtend:
			ao.LimitDate = addDays(today, policy.ExtendDays)
			limitSet = true
			d.note(fmt.Sprintf("overdue since %s, sent with limit date %s (OVERDUE_POLICY=%s)", d.Date, ao.LimitDate, policy),
				fmt.Sprintf("overdue since %s, %%s; it would be sent with limit date %s (OVERDUE_POLICY=%s)", d.Date, ao.LimitDate, policy))
		default:
			ao.LimitDate = ""
			limitSet = true
			d.note(fmt.Sprintf("overdue since %s, sent without a limit date (OVERDUE_POLICY=%s)", d.Date, policy),
				fmt.Sprintf("overdue since %s, %%s; it would be sent without a limit date (OVERDUE_POLICY=%s)", d.Date, policy))
		}
		d.LimitDate = ao.LimitDate
	}
	if disc := ao.Discount; disc != nil && isDate(disc.BeforeOn) {
		switch {
		case disc.BeforeOn < today:
			ao.Discount = nil
			d.note(fmt.Sprintf("discount expired on %s, sent without it", disc.BeforeOn),
				fmt.Sprintf("discount expired on %s, %%s; it would be sent without it", disc.BeforeOn))
		case limitSet && ao.LimitDate != "" && disc.BeforeOn > ao.LimitDate:
			// Efipay refuses a discount that outlives the offer; the limit
			// date is the bridge's, the discount's date the ERP's.
			ao.Discount = nil
			d.note(fmt.Sprintf("discount until %s ends after the limit date sent (%s), sent without it", disc.BeforeOn, ao.LimitDate),
				fmt.Sprintf("discount until %s ends after the limit date %s, %%s; it would be sent without it", disc.BeforeOn, ao.LimitDate))
		}
	}
	return d
}

// Overdue reports whether a due date ("YYYY-MM-DD", empty: none) is before
// today, both dates in America/Bogota.
func Overdue(dueDate, today string) bool { return isDate(dueDate) && dueDate < today }

// isDate: s is a real calendar day written "YYYY-MM-DD", so that two of
// them compare as strings. Anything else is the validator's to report.
func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// addDays is day + n days, both "YYYY-MM-DD".
func addDays(day string, n int) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

// Today is the day the lookup's date rules use now: "YYYY-MM-DD" in
// America/Bogota.
func (s *Service) Today() string { return s.validator.Today() }

// ChargeOverdue reports whether a tracked charge is overdue on today: the
// ERP's due date has passed and the debt is still owed (not paid, and not
// set inactive by the operator).
func ChargeOverdue(r models.TrackedCharge, today string) bool {
	switch r.Status {
	case models.StatusPaid, models.StatusInactive:
		return false
	}
	return Overdue(r.DueDate, today)
}

// OfferedAgainAt is when an unpaid charge may be offered again; nil for a
// charge that cannot be offered in its state (paid, in progress, inactive),
// whatever time is left in the row.
func OfferedAgainAt(r models.TrackedCharge) *time.Time {
	if models.OfferableStatus(r.Status) && r.OfferAfter != nil && !r.OfferAfter.IsZero() {
		return r.OfferAfter
	}
	return nil
}
