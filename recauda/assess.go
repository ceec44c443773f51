package recauda

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// Candidate is one charge to assess: as its source gave it, or already an
// Efipay item (a file for `validate`).
type Candidate struct {
	// Charge is mapped to the item Efipay would get; its Defects are
	// violations (rule "unreadable").
	Charge erp.Charge
	// Item, when not nil, is assessed as it is and Charge is ignored.
	Item *models.Payment
	// Where names the candidate in a repeated ref_payment's message ("line
	// 7", "item 3"); empty in a lookup, whose charges have no place to name.
	Where string
	// Violations the caller found first (a recurring row's columns); they
	// come first in the verdict.
	Violations []validation.Violation
}

// Ask is what the candidates were asked for.
type Ask struct {
	// IDNumber is the customer asked for: a charge for another one is held
	// back. Empty when no one was asked for (a file, the ledger).
	IDNumber string
	// In says where the candidates came from, for a repeated ref_payment's
	// message: "this customer's charges", "the file".
	In string
	// OfferedTo, when set, returns the ID number a ref_payment was offered to
	// before (ok false: never offered): another customer's ref is held back.
	OfferedTo func(ref string) (idNumber string, ok bool)
	// Apart, when set, is asked about each candidate that broke no rule so
	// far, before it is mapped: true sets it apart, neither mapped nor
	// validated (a lookup's charge already sent, or a balance to work out).
	Apart func(i int) bool
}

// Rules is how a charge becomes an item and which rules the item must keep.
type Rules struct {
	// Validator checks every Efipay rule; its clock is "today" (America/Bogota).
	Validator  *validation.Validator
	WebhookURL string
	// Overdue is OVERDUE_POLICY, applied to an item's dates as a lookup
	// would; AsWritten leaves the dates as written instead: the ledger keeps
	// what the operator wrote, so a limit date already past is refused there.
	Overdue   config.OverduePolicy
	AsWritten bool
}

// Verdict is what became of one candidate.
type Verdict struct {
	// Item is the item Efipay would get, Due what its dates are and what the
	// mapping changed about them; both zero when set apart.
	Item models.Payment
	Due  Due
	// Violations are every rule broken, nil when none.
	Violations []validation.Violation
	// Apart: Ask.Apart set it apart; it was neither mapped nor validated.
	Apart bool
}

// HeldBack reports whether the candidate broke a rule and must not be sent.
func (v Verdict) HeldBack() bool { return len(v.Violations) > 0 }

// Offerable reports whether the candidate may be sent: checked, no rule broken.
func (v Verdict) Offerable() bool { return !v.Apart && len(v.Violations) == 0 }

// Assess is the one assessment of charges, used by the lookup, preview,
// check-source, validate, import and the ledger. For each candidate, in
// this order: the caller's violations, the fields its source could not read
// (RuleUnreadable), a charge for another customer than asked
// (RuleIDMismatch), a ref_payment repeated among the candidates
// (RuleDuplicateRef), a ref_payment offered to another customer before
// (RuleRefOwnedByOther); then, unless Ask.Apart sets it apart, every Efipay
// rule on the item it becomes today. Verdicts are in the candidates' order.
// Assess does no I/O.
func Assess(cands []Candidate, ask Ask, rules Rules) []Verdict {
	out := make([]Verdict, len(cands))
	// A lookup whose charges were all sent maps none: "today" is read only
	// when one is.
	today := ""
	screen(cands, ask, out, func(i int) {
		if today == "" {
			today = rules.Validator.Today()
		}
		assessItem(&cands[i], &out[i], &rules, today)
	})
	return out
}

// AssessOnWorkers is Assess with the mapping and validation on workers
// goroutines (an import of many rows); progress, when set, gets the count
// done so far, from one goroutine at a time. The lookup calls Assess, which
// hands nothing to a goroutine and so keeps its arguments off the heap.
func AssessOnWorkers(cands []Candidate, ask Ask, rules Rules, workers int, progress func(done int)) []Verdict {
	out := make([]Verdict, len(cands))
	var check []int
	screen(cands, ask, out, func(i int) { check = append(check, i) })
	today := rules.Validator.Today()
	eachOf(check, workers, progress, func(i int) { assessItem(&cands[i], &out[i], &rules, today) })
	return out
}

// screen runs the checks that need no item on every candidate, into out,
// and hands next each one they leave to map and validate.
func screen(cands []Candidate, ask Ask, out []Verdict, next func(i int)) {
	var count map[string]int
	if len(cands) > 1 {
		count = make(map[string]int, len(cands))
		for i := range cands {
			count[cands[i].ref()]++
		}
	}
	var places map[string][]string
	if len(count) < len(cands) && len(cands) > 1 {
		places = make(map[string][]string)
		for i := range cands {
			if ref := cands[i].ref(); count[ref] > 1 && cands[i].Where != "" {
				places[ref] = append(places[ref], cands[i].Where)
			}
		}
	}
	in := ask.In
	if in == "" {
		in = "these charges"
	}
	for i := range cands {
		c, v := &cands[i], &out[i]
		ref := c.ref()
		v.Violations = append(v.Violations, c.Violations...)
		if c.Item == nil {
			for _, d := range c.Charge.Defects {
				v.Violations = append(v.Violations, validation.Violation{Field: d.Field, Rule: RuleUnreadable, Message: d.Message,
					Params: map[string]string{"field": d.Field}})
			}
		}
		if ask.IDNumber != "" && c.idNumber() != ask.IDNumber {
			v.Violations = append(v.Violations, validation.Violation{Field: "recauda_information.id_number", Rule: RuleIDMismatch,
				Message: "the ERP returned this charge for another customer's ID number", Params: map[string]string{"field": "recauda_information.id_number"}})
		}
		if n := count[ref]; n > 1 {
			msg := "ref_payment appears " + strconv.Itoa(n) + " times in " + in
			if p := places[ref]; len(p) > 0 {
				msg += ": " + strings.Join(p, ", ")
			}
			v.Violations = append(v.Violations, validation.Violation{Field: "recauda_information.ref_payment", Rule: RuleDuplicateRef, Message: msg,
				Params: map[string]string{"field": "recauda_information.ref_payment", "count": strconv.Itoa(n)}})
		}
		if ask.OfferedTo != nil {
			if owner, ok := ask.OfferedTo(ref); ok && owner != ask.IDNumber {
				v.Violations = append(v.Violations, validation.Violation{Field: "recauda_information.ref_payment", Rule: RuleRefOwnedByOther,
					Message: "this ref_payment was already offered to another ID number", Params: map[string]string{"field": "recauda_information.ref_payment"}})
			}
		}
		if len(v.Violations) == 0 && ask.Apart != nil && ask.Apart(i) {
			v.Apart = true
			continue
		}
		next(i)
	}
}

// assessItem maps the candidate to its item and checks every Efipay rule.
func assessItem(c *Candidate, v *Verdict, rules *Rules, today string) {
	switch {
	case c.Item != nil:
		v.Item = *c.Item
	case rules.AsWritten:
		v.Item, _ = PaymentFromCharge(c.Charge, rules.WebhookURL)
	default:
		v.Item, v.Due = ItemFromCharge(c.Charge, rules.WebhookURL, today, rules.Overdue)
	}
	v.Violations = append(v.Violations, rules.Validator.Payment(&v.Item)...)
}

func (c *Candidate) ref() string {
	if c.Item != nil {
		return c.Item.RecaudaInformation.RefPayment
	}
	return c.Charge.RefPayment
}

func (c *Candidate) idNumber() string {
	if c.Item != nil {
		return c.Item.RecaudaInformation.IDNumber
	}
	return c.Charge.IDNumber
}

// eachOf runs do on every index, on workers goroutines when more than one
// (the validator is safe for concurrent use and the candidates are
// independent), in batches, reporting the count done to progress.
func eachOf(idx []int, workers int, progress func(done int), do func(i int)) {
	if progress == nil {
		progress = func(int) {}
	}
	if workers <= 1 {
		for k, i := range idx {
			do(i)
			if (k+1)%1000 == 0 || k+1 == len(idx) {
				progress(k + 1)
			}
		}
		return
	}
	const batch = 1000
	var (
		next atomic.Int64
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				start := int(next.Add(batch)) - batch
				if start >= len(idx) {
					return
				}
				end := min(start+batch, len(idx))
				for _, i := range idx[start:end] {
					do(i)
				}
				mu.Lock()
				done += end - start
				progress(done)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
