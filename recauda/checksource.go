package recauda

import (
	"context"
	"errors"
	"fmt"
	"time"

	"recauda-bridge/erp"
)

// minCheckTimeout bounds the health check when the ERP timeout is shorter:
// a first login to an ERP may take longer than a lookup.
const minCheckTimeout = 10 * time.Second

// SourceCheck is check-source's use case: it tries a built source step by
// step, without the HTTP server or the tracking store. Each method is one
// step; the caller prints them and stops at the first that fails.
type SourceCheck struct {
	// Source is the source as serve would use it: built and guarded
	// (erp/sources.Open).
	Source erp.Source
	// Timeout is ERP_TIMEOUT: the sample lookup's; the health check gets at
	// least minCheckTimeout.
	Timeout time.Duration
	// Rules are the sample's: how its charges become items and which rules
	// they must keep, as a lookup would apply them.
	Rules Rules
}

// Health runs the source's health check and says how long it took. It
// answers erp.ErrUnsupported when the source has none.
func (c SourceCheck) Health(ctx context.Context) (time.Duration, error) {
	hc, ok := c.Source.(erp.HealthChecker)
	if !ok {
		return 0, erp.ErrUnsupported
	}
	ctx, cancel := context.WithTimeout(ctx, max(c.Timeout, minCheckTimeout))
	defer cancel()
	start := time.Now()
	err := hc.Check(ctx)
	return time.Since(start), err
}

// Writeback says whether the source records payments in the ERP, and
// whether it also undoes the ones Efipay reverses.
func (c SourceCheck) Writeback() (payments, reversals bool) {
	return erp.CanRecord(c.Source), erp.CanRecord(c.Source) && erp.CanReverse(c.Source)
}

// Sample is a sample lookup: the charges the source answered, how long it
// took, and each charge's verdict (in the charges' order).
type Sample struct {
	Charges  []erp.Charge
	Took     time.Duration
	Verdicts []Verdict
	// HeldBack is how many charges break a rule and would be held back.
	HeldBack int
}

// Sample asks the source for idNumber's pending charges under the timeout
// and assesses them as a lookup does (Assess: fields the source could not
// read, another customer's ID number, a repeated ref_payment, every Efipay
// rule, the dates under the overdue policy). Whether the tracking store
// would still offer them is preview's business.
func (c SourceCheck) Sample(ctx context.Context, idNumber string) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	start := time.Now()
	charges, err := c.Source.PendingCharges(ctx, idNumber)
	took := time.Since(start)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within ERP_TIMEOUT=%s: %w", c.Timeout, err)
		}
		return Sample{}, err
	}
	cands := make([]Candidate, len(charges))
	for i, ch := range charges {
		cands[i].Charge = ch
	}
	s := Sample{Charges: charges, Took: took,
		Verdicts: Assess(cands, Ask{IDNumber: idNumber, In: "this customer's charges"}, c.Rules)}
	for _, v := range s.Verdicts {
		if v.HeldBack() {
			s.HeldBack++
		}
	}
	return s, nil
}
