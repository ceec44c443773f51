package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// OverduePolicy is what a lookup does with a charge whose limit date (the
// ERP's due date) has passed in America/Bogota: OVERDUE_POLICY.
type OverduePolicy struct {
	// Mode is OverdueOffer, OverdueExtend or OverdueHold.
	Mode string
	// ExtendDays is N of extend:<N>d: the limit date sent is today + N.
	ExtendDays int
}

// The modes of OVERDUE_POLICY.
const (
	// OverdueOffer sends an overdue charge without a limit date: payable
	// until paid.
	OverdueOffer = "offer"
	// OverdueExtend sends it with limit_date today + ExtendDays.
	OverdueExtend = "extend"
	// OverdueHold holds it back, as Efipay's not_before_today rule would.
	OverdueHold = "hold"
)

// maxExtendDays bounds extend:<N>d to a year: a longer window is offer.
const maxExtendDays = 366

// overdueForms is what an OVERDUE_POLICY error message lists.
const overdueForms = "offer (the default), extend:<N>d with N from 1 to 366 (e.g. extend:3d), or hold"

// ParseOverduePolicy reads OVERDUE_POLICY's value; "" is offer.
func ParseOverduePolicy(s string) (OverduePolicy, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "", OverdueOffer:
		return OverduePolicy{Mode: OverdueOffer}, nil
	case OverdueHold:
		return OverduePolicy{Mode: OverdueHold}, nil
	}
	if days, ok := strings.CutPrefix(v, OverdueExtend+":"); ok {
		if n, ok := strings.CutSuffix(days, "d"); ok {
			if d, err := strconv.Atoi(n); err == nil && d >= 1 && d <= maxExtendDays && n[0] != '+' {
				return OverduePolicy{Mode: OverdueExtend, ExtendDays: d}, nil
			}
		}
	}
	return OverduePolicy{}, errors.New("must be " + overdueForms + fmt.Sprintf("; got %q", s))
}

// String writes p as OVERDUE_POLICY takes it.
func (p OverduePolicy) String() string {
	if p.Mode == OverdueExtend {
		return fmt.Sprintf("%s:%dd", OverdueExtend, p.ExtendDays)
	}
	if p.Mode == "" {
		return OverdueOffer
	}
	return p.Mode
}
