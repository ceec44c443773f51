package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/file"
	"recauda-bridge/erp/sources"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// The CSV columns (or JSON item keys) of a recurring row. See importUsage.
const (
	colRecurrence = "recurrence"
	colPeriods    = "periods"
	colFirstDue   = "first_due"
	// maxPeriods bounds one recurring row: ten years of monthly fees.
	maxPeriods = 120
	// periodPlaceholder in a recurring row's description becomes the
	// period, "2030-03".
	periodPlaceholder = "{period}"
)

// importUsage is the import's own help, shown with a usage error.
const importUsage = `recauda-bridge import [--skip-invalid] FILE.csv|FILE.json

Imports charges into the bridge's own ledger (ERP_SOURCE=local), in the
formats of the file source (erp/file/FORMAT.md). Every row is checked with
the lookup's rules; by default one broken row imports nothing (exit 1);
--skip-invalid imports the valid rows. Re-importing a file changes nothing.

A recurring row (columns recurrence=monthly, periods=N, first_due=YYYY-MM-DD)
becomes N charges <ref_payment>-YYYY-MM, due first_due and then the same day
of each following month.
`

// importOptions is the import command's input.
type importOptions struct {
	path        string
	skipInvalid bool
	// progress, when set, receives a progress bar (stderr on a terminal).
	progress io.Writer
}

// parseImportArgs reads [--skip-invalid] FILE, flags before or after FILE.
func parseImportArgs(args []string) (importOptions, error) {
	var o importOptions
	for _, a := range args {
		switch {
		case a == "--skip-invalid" || a == "-skip-invalid":
			o.skipInvalid = true
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("import: unknown flag %s", a)
		case o.path != "":
			return o, fmt.Errorf("import takes exactly one FILE")
		default:
			o.path = a
		}
	}
	if o.path == "" {
		return o, fmt.Errorf("import takes exactly one FILE")
	}
	return o, nil
}

// importItem is one charge to import (a row, or a period of a recurring
// row) and what is wrong with it.
type importItem struct {
	line       int
	where      string // "line 7", "line 7 (2030-03)"
	charge     erp.Charge
	violations []validation.Violation
	duplicate  bool
}

// rejection is one reason a charge (or an unreadable row) was not imported.
type rejection struct {
	line                             int
	where, ref, field, rule, message string
}

// importLedger runs `recauda-bridge import`: read, expand recurring rows,
// check every charge, then write the valid ones in batches of 500 (one
// transaction for the whole file unless --skip-invalid). It prints the
// rejections, one line each, and a summary; exit 1 when nothing could be
// imported because of a broken row (without --skip-invalid).
func importLedger(ctx context.Context, env config.Lookup, o importOptions, stdout, stderr io.Writer) error {
	cfg, err := config.Load(env, sources.Config())
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("invalid configuration:\n%w", err)}
	}
	start := time.Now()
	rows, skips, err := file.Read(o.path, colRecurrence, colPeriods, colFirstDue)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("import %s: %w", o.path, err)}
	}
	var rejected []rejection
	for _, s := range skips {
		rejected = append(rejected, rejection{line: s.Line, where: s.Where, ref: "?", field: "(row)", rule: recauda.RuleUnreadable, message: s.Reason})
	}
	items := expandRows(rows)
	cands := make([]recauda.Candidate, len(items))
	for i, it := range items {
		cands[i] = recauda.Candidate{Charge: it.charge, Where: it.where, Violations: it.violations}
	}
	// The ledger keeps a charge as written: its dates are not adjusted.
	bar := newProgressBar(o.progress, "checking", len(items))
	verdicts := recauda.Assess(cands, recauda.Ask{In: "the file", Workers: runtime.GOMAXPROCS(0), Progress: bar.set},
		recauda.Rules{Validator: validation.New(time.Now), WebhookURL: cfg.WebhookURL(), AsWritten: true})
	bar.finish()
	for i, v := range verdicts {
		items[i].violations = v.Violations
		items[i].duplicate = slices.ContainsFunc(v.Violations, func(x validation.Violation) bool { return x.Rule == recauda.RuleDuplicateRef })
	}

	st, err := store.Open(ctx, cfg.Database.Dialect, cfg.Database.DSN, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}

	// A broken row whose content the ledger already holds changes nothing:
	// it counts as unchanged, so that a file imported yesterday still
	// imports today although a limit date has passed since.
	var invalidRefs []string
	for _, it := range items {
		if len(it.violations) > 0 && !it.duplicate {
			invalidRefs = append(invalidRefs, it.charge.RefPayment)
		}
	}
	known, err := st.LedgerHashes(ctx, invalidRefs)
	if err != nil {
		return err
	}
	var (
		valid     []erp.Charge
		validItem []int
		unchanged int
	)
	for i, it := range items {
		switch {
		case len(it.violations) == 0:
			valid = append(valid, it.charge)
			validItem = append(validItem, i)
		case !it.duplicate && known[it.charge.RefPayment] == store.LedgerHash(it.charge):
			unchanged++
		default:
			for _, viol := range it.violations {
				rejected = append(rejected, rejection{line: it.line, where: it.where, ref: it.charge.RefPayment, field: viol.Field,
					rule: viol.Rule, message: viol.Message})
			}
		}
	}
	rejectedCharges := countCharges(rejected)

	summary := func(res store.LedgerImportResult, written bool) {
		slices.SortStableFunc(rejected, func(a, b rejection) int { return a.line - b.line })
		for _, r := range rejected {
			fmt.Fprintf(stdout, "%s\tref_payment=%s\t%s\t%s\t%s\n", r.where, r.ref, r.field, r.rule, r.message)
		}
		fmt.Fprintf(stdout, "import %s: %d rows, %d charges, in %s\n", filepath.Base(o.path), len(rows)+len(skips), len(items)+len(skips),
			time.Since(start).Round(time.Millisecond))
		if !written {
			fmt.Fprintf(stdout, "nothing imported: %d charge(s) rejected; fix them, or rerun with --skip-invalid to import the %d valid one(s)\n",
				countCharges(rejected), len(valid)-len(res.Refused))
			return
		}
		fmt.Fprintf(stdout, "created %d, updated %d, unchanged %d, rejected %d\n",
			res.Created, res.Updated, res.Unchanged+unchanged, countCharges(rejected))
	}
	if rejectedCharges > 0 && !o.skipInvalid {
		summary(store.LedgerImportResult{}, false)
		return &exitError{code: 1}
	}

	bar = newProgressBar(o.progress, "importing", len(valid))
	res, err := st.UpsertLedger(ctx, valid, store.LedgerImportOptions{Atomic: !o.skipInvalid, Progress: bar.set})
	bar.finish()
	if err != nil {
		return fmt.Errorf("import %s: %w", o.path, err)
	}
	for _, r := range res.Refused {
		it := items[validItem[r.Index]]
		rejected = append(rejected, rejection{line: it.line, where: it.where, ref: r.RefPayment, field: "recauda_information.ref_payment",
			rule: "ledger_state", message: r.Reason})
	}
	summary(res, !res.RolledBack)
	if res.RolledBack {
		return &exitError{code: 1}
	}
	if cfg.ERPSource != "local" {
		fmt.Fprintf(stdout, "note: ERP_SOURCE is %s; the ledger is served only when ERP_SOURCE=local\n", cfg.ERPSource)
	}
	return nil
}

// countCharges counts the distinct charges (line and ref) among rejections.
func countCharges(rs []rejection) int {
	type key struct {
		line int
		ref  string
	}
	seen := map[key]bool{}
	for _, r := range rs {
		seen[key{r.line, r.ref}] = true
	}
	return len(seen)
}

// expandRows turns rows into charges: a plain row is one, a recurring row
// one per period. A recurring row whose recurrence columns are wrong stays
// one item, with the violations.
func expandRows(rows []file.Row) []importItem {
	items := make([]importItem, 0, len(rows))
	for _, r := range rows {
		base := importItem{line: r.Line, where: r.Where, charge: r.Charge}
		rec, periods, first := r.Extra[colRecurrence], r.Extra[colPeriods], r.Extra[colFirstDue]
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
			fail(colRecurrence, "required", "is required when periods or first_due is set (monthly)")
		} else {
			fail(colRecurrence, "one_of", "must be monthly")
		}
	}
	n, err := strconv.Atoi(periods)
	if err != nil || n < 1 || n > maxPeriods {
		fail(colPeriods, "range", fmt.Sprintf("must be a whole number from 1 to %d", maxPeriods))
	}
	switch {
	case first == "":
		first = limitDate
	case limitDate != "" && limitDate != first:
		fail(colFirstDue, "conflict", "differs from limit_date; give one of them")
	}
	due, err := time.Parse(time.DateOnly, first)
	if err != nil {
		fail(colFirstDue, "date", "must be a real calendar date YYYY-MM-DD (or set limit_date)")
	}
	return n, due, vs
}

// period is the k-th charge (from 0) of a recurring row: ref_payment
// "<ref>-YYYY-MM", limit date k months after the first (the same day, or
// the month's last when it has fewer days), the discount date moved by as
// much, and {period} in the description replaced.
func period(base importItem, first time.Time, k int) importItem {
	due := addMonths(first, k)
	label := due.Format("2006-01")
	c := base.charge
	c.RefPayment = base.charge.RefPayment + "-" + label
	c.LimitDate = due.Format(time.DateOnly)
	c.Description = strings.ReplaceAll(c.Description, periodPlaceholder, label)
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
			v.BeforeOn = addMonths(on, k).Format(time.DateOnly)
		}
		c.Discount = &v
	}
	return importItem{line: base.line, where: base.where + " (" + label + ")", charge: c}
}

// addMonths is d plus n months, the day kept or, when the month is shorter,
// its last day (31 January + 1 month = 28 or 29 February).
func addMonths(d time.Time, n int) time.Time {
	y, m, day := d.Date()
	firstOfMonth := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := firstOfMonth.AddDate(0, 1, -1).Day()
	return firstOfMonth.AddDate(0, 0, min(day, last)-1)
}

// progressBar draws "label  42% [=========>          ] 42000/100000" on one
// terminal line, at most ten times a second. A nil *progressBar draws
// nothing.
type progressBar struct {
	w     io.Writer
	label string
	total int
	done  int
	shown int // done when last drawn
	drawn time.Time
}

// newProgressBar returns a bar on w, or nil when w is nil.
func newProgressBar(w io.Writer, label string, total int) *progressBar {
	if w == nil || total == 0 {
		return nil
	}
	return &progressBar{w: w, label: label, total: total}
}

func (p *progressBar) set(done int) {
	if p == nil {
		return
	}
	p.done = done
	if now := time.Now(); now.Sub(p.drawn) >= 100*time.Millisecond || done == p.total {
		p.drawn, p.shown = now, done
		const width = 30
		filled := width * done / p.total
		bar := strings.Repeat("=", filled)
		if filled < width {
			bar += ">" + strings.Repeat(" ", width-filled-1)
		}
		fmt.Fprintf(p.w, "\r%-9s %3d%% [%s] %d/%d", p.label, 100*done/p.total, bar, done, p.total)
	}
}

func (p *progressBar) finish() {
	if p == nil {
		return
	}
	if p.shown != p.done {
		p.drawn = time.Time{}
		p.set(p.done)
	}
	fmt.Fprintln(p.w)
}

// terminal returns w when it is a terminal (a progress bar is wanted
// there), nil otherwise: a redirected stderr gets no bar.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return w
	}
	return nil
}
