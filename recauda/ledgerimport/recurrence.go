package ledgerimport

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"recauda-bridge/erp/file"
	"recauda-bridge/validation"
)

// The CSV columns (or JSON item keys) of a recurring row: it becomes
// MaxPeriods charges at most, <ref_payment>-YYYY-MM, due first_due and
// then the same day of each following month.
const (
	ColRecurrence = "recurrence"
	ColPeriods    = "periods"
	ColFirstDue   = "first_due"
	// MaxPeriods bounds one recurring row: ten years of monthly fees.
	MaxPeriods = 120
	// PeriodPlaceholder in a recurring row's description becomes the
	// period, "2030-03".
	PeriodPlaceholder = "{period}"
)

// expandRows turns rows into charges: a plain row is one, a recurring row
// one per period. A recurring row whose recurrence columns are wrong stays
// one item, with the violations.
func expandRows(rows []file.Row) []item {
	items := make([]item, 0, len(rows))
	for _, r := range rows {
		base := item{line: r.Line, where: r.Where, charge: r.Charge}
		rec, periods, first := r.Extra[ColRecurrence], r.Extra[ColPeriods], r.Extra[ColFirstDue]
		if rec == "" && periods == "" && first == "" {
			items = append(items, base)
			continue
		}
		n, due, vs := recurrence(rec, periods, first, r.Charge.LimitDate)
		if len(vs) > 0 {
			base.violations = vs
			items = append(items, base)
			continue
		}
		for k := range n {
			items = append(items, period(base, due, k))
		}
	}
	return items
}

// recurrence reads a recurring row's columns: how many periods and the
// first due date. first_due defaults to limit_date.
func recurrence(rec, periods, first, limitDate string) (int, time.Time, []validation.Violation) {
	var vs []validation.Violation
	fail := func(field, rule, msg string) {
		vs = append(vs, validation.Violation{Field: field, Rule: rule, Message: msg})
	}
	if !strings.EqualFold(rec, "monthly") {
		if rec == "" {
			fail(ColRecurrence, "required", "is required when periods or first_due is set (monthly)")
		} else {
			fail(ColRecurrence, "one_of", "must be monthly")
		}
	}
	n, err := strconv.Atoi(periods)
	if err != nil || n < 1 || n > MaxPeriods {
		fail(ColPeriods, "range", fmt.Sprintf("must be a whole number from 1 to %d", MaxPeriods))
	}
	switch {
	case first == "":
		first = limitDate
	case limitDate != "" && limitDate != first:
		fail(ColFirstDue, "conflict", "differs from limit_date; give one of them")
	}
	due, err := time.Parse(time.DateOnly, first)
	if err != nil {
		fail(ColFirstDue, "date", "must be a real calendar date YYYY-MM-DD (or set limit_date)")
	}
	return n, due, vs
}

// period is the k-th charge (from 0) of a recurring row: ref_payment
// "<ref>-YYYY-MM", limit date k months after the first (the same day, or
// the month's last when it has fewer days), the discount date moved by as
// much, and {period} in the description replaced.
func period(base item, first time.Time, k int) item {
	due := AddMonths(first, k)
	label := due.Format("2006-01")
	c := base.charge
	c.RefPayment = base.charge.RefPayment + "-" + label
	c.LimitDate = due.Format(time.DateOnly)
	c.Description = strings.ReplaceAll(c.Description, PeriodPlaceholder, label)
	c.References = slices.Clone(c.References)
	c.SelectedTaxes = slices.Clone(c.SelectedTaxes)
	c.Defects = slices.Clone(c.Defects)
	if a := c.Advance; a != nil {
		v := *a
		c.Advance = &v
	}
	if d := c.Delivery; d != nil {
		v := *d
		c.Delivery = &v
	}
	if d := c.Discount; d != nil {
		v := *d
		if on, err := time.Parse(time.DateOnly, d.BeforeOn); err == nil {
			v.BeforeOn = AddMonths(on, k).Format(time.DateOnly)
		}
		c.Discount = &v
	}
	return item{line: base.line, where: base.where + " (" + label + ")", charge: c}
}

// AddMonths is d plus n months, the day kept or, when the month is shorter,
// its last day (31 January + 1 month = 28 or 29 February).
func AddMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	firstOfMonth := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := firstOfMonth.AddDate(0, 1, -1).Day()
	return firstOfMonth.AddDate(0, 0, min(day, last)-1)
}
