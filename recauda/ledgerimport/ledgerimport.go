// Package ledgerimport is the import of a file of charges into the
// bridge's own ledger (ERP_SOURCE=local): read with the file source's
// reader, expand recurring rows, assess every charge as a lookup would
// (recauda.Assess), then write the valid ones (store.UpsertLedger). The
// command that runs it only parses flags and prints.
package ledgerimport

import (
	"context"
	"fmt"
	"slices"
	"time"

	"recauda-bridge/erp"
	"recauda-bridge/erp/file"
	"recauda-bridge/recauda"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// RuleLedgerState: the ledger refused a valid charge because of what it
// already holds (a paid or cancelled charge, another ID number).
const RuleLedgerState = "ledger_state"

// Options tune an import.
type Options struct {
	// SkipInvalid writes the valid charges when some are held back;
	// otherwise one held-back charge writes nothing.
	SkipInvalid bool
	// WebhookURL goes into each item checked, as a lookup's would.
	WebhookURL string
	// Now is the clock "today" comes from; nil means time.Now.
	Now func() time.Time
	// Workers check charges in parallel; 0 means one.
	Workers int
	// Progress, when set, is told how far each phase ("checking",
	// "importing") is, from one goroutine at a time; a call with done 0
	// starts a phase.
	Progress func(phase string, done, total int)
}

// HeldBack is one reason a charge (or a row that could not be read) is not
// imported: one line of the report.
type HeldBack struct {
	Line                                    int
	Where, RefPayment, Field, Rule, Message string
}

// item is one charge to import (a row, or a period of a recurring row) and
// what is wrong with it.
type item struct {
	line       int
	where      string // "line 7", "line 7 (2030-03)"
	charge     erp.Charge
	violations []validation.Violation
	duplicate  bool
}

// Plan is a file read and checked, ready to be written.
type Plan struct {
	// Rows is how many records the file has, Charges how many charges they
	// make (a recurring row makes one per period; an unreadable row counts
	// as one).
	Rows, Charges int
	items         []item
	skips         []HeldBack
	opts          Options
}

// Check reads the file at path (.csv or .json, erp/file/FORMAT.md, plus
// the recurring columns), expands recurring rows and assesses every charge.
// Nothing is written.
func Check(path string, opts Options) (*Plan, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rows, skips, err := file.Read(path, ColRecurrence, ColPeriods, ColFirstDue)
	if err != nil {
		return nil, err
	}
	p := &Plan{opts: opts, items: expandRows(rows)}
	for _, s := range skips {
		p.skips = append(p.skips, HeldBack{Line: s.Line, Where: s.Where, RefPayment: "?", Field: "(row)", Rule: recauda.RuleUnreadable, Message: s.Reason})
	}
	p.Rows, p.Charges = len(rows)+len(skips), len(p.items)+len(skips)

	cands := make([]recauda.Candidate, len(p.items))
	for i, it := range p.items {
		cands[i] = recauda.Candidate{Charge: it.charge, Where: it.where, Violations: it.violations}
	}
	progress := opts.phase("checking", len(cands))
	// The ledger keeps a charge as written: its dates are not adjusted.
	verdicts := recauda.AssessOnWorkers(cands, recauda.Ask{In: "the file"},
		recauda.Rules{Validator: validation.New(opts.Now), WebhookURL: opts.WebhookURL, AsWritten: true}, opts.Workers, progress)
	for i, v := range verdicts {
		p.items[i].violations = v.Violations
		p.items[i].duplicate = slices.ContainsFunc(v.Violations, func(x validation.Violation) bool { return x.Rule == recauda.RuleDuplicateRef })
	}
	return p, nil
}

// phase returns the Progress of one phase, nil without one.
func (o Options) phase(name string, total int) func(done int) {
	if o.Progress == nil {
		return nil
	}
	o.Progress(name, 0, total)
	return func(done int) { o.Progress(name, done, total) }
}

// Ledger is what an import writes to; *store.Store is one.
type Ledger interface {
	// LedgerHashes returns the content hash of each ref already in the ledger.
	LedgerHashes(ctx context.Context, refs []string) (map[string]string, error)
	// UpsertLedger writes charges (store.Store.UpsertLedger).
	UpsertLedger(ctx context.Context, charges []erp.Charge, opts store.LedgerImportOptions) (store.LedgerImportResult, error)
}

// Result is what an import did.
type Result struct {
	// HeldBack are the reasons charges were not imported, by line.
	HeldBack []HeldBack
	// Written is false when nothing was written: a charge was held back and
	// SkipInvalid was not set, or the ledger refused one in an all or
	// nothing import.
	Written bool
	// Valid is how many charges passed every rule; the counts say what
	// writing them did.
	Valid                       int
	Created, Updated, Unchanged int
}

// HeldBackCharges counts the distinct charges (line and ref) held back.
func (r Result) HeldBackCharges() int {
	type key struct {
		line int
		ref  string
	}
	seen := map[key]bool{}
	for _, h := range r.HeldBack {
		seen[key{h.Line, h.RefPayment}] = true
	}
	return len(seen)
}

// Apply writes the plan's valid charges to the ledger, in batches of 500:
// one transaction for the whole file unless SkipInvalid, and nothing at all
// when a charge is held back and SkipInvalid is not set.
func (p *Plan) Apply(ctx context.Context, l Ledger) (Result, error) {
	// A broken row whose content the ledger already holds changes nothing:
	// it counts as unchanged, so that a file imported yesterday still
	// imports today although a limit date has passed since.
	var invalidRefs []string
	for _, it := range p.items {
		if len(it.violations) > 0 && !it.duplicate {
			invalidRefs = append(invalidRefs, it.charge.RefPayment)
		}
	}
	known, err := l.LedgerHashes(ctx, invalidRefs)
	if err != nil {
		return Result{}, err
	}
	res := Result{HeldBack: slices.Clone(p.skips)}
	var (
		valid     []erp.Charge
		validItem []int
		unchanged int
	)
	for i, it := range p.items {
		switch {
		case len(it.violations) == 0:
			valid = append(valid, it.charge)
			validItem = append(validItem, i)
		case !it.duplicate && known[it.charge.RefPayment] == store.LedgerHash(it.charge):
			unchanged++
		default:
			for _, v := range it.violations {
				res.HeldBack = append(res.HeldBack, HeldBack{Line: it.line, Where: it.where, RefPayment: it.charge.RefPayment,
					Field: v.Field, Rule: v.Rule, Message: v.Message})
			}
		}
	}
	res.Valid = len(valid)
	sortByLine := func() {
		slices.SortStableFunc(res.HeldBack, func(a, b HeldBack) int { return a.Line - b.Line })
	}
	if len(res.HeldBack) > 0 && !p.opts.SkipInvalid {
		sortByLine()
		return res, nil
	}
	up, err := l.UpsertLedger(ctx, valid, store.LedgerImportOptions{Atomic: !p.opts.SkipInvalid, Progress: p.opts.phase("importing", len(valid))})
	if err != nil {
		return Result{}, fmt.Errorf("import: %w", err)
	}
	for _, r := range up.Refused {
		it := p.items[validItem[r.Index]]
		res.HeldBack = append(res.HeldBack, HeldBack{Line: it.line, Where: it.where, RefPayment: r.RefPayment,
			Field: "recauda_information.ref_payment", Rule: RuleLedgerState, Message: r.Reason})
	}
	sortByLine()
	res.Valid -= len(up.Refused)
	res.Written = !up.RolledBack
	res.Created, res.Updated, res.Unchanged = up.Created, up.Updated, up.Unchanged+unchanged
	return res, nil
}
