package recauda

import (
	"encoding/json"
	"errors"
	"fmt"

	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// ItemCheck is one item of a {"payments":[...]} document and every rule it
// breaks (none: valid).
type ItemCheck struct {
	// RefPayment is the item's ref_payment, "?" when it could not be read.
	RefPayment string
	Violations []validation.Violation
}

// CheckDocument checks each item of a {"payments":[...]} document (what a
// lookup answers) against every Efipay rule, and its ref_payment against
// the other items': `recauda-bridge validate`. An item that is not an
// Efipay item is one violation (RuleUnreadable, field "(item)"). The error
// is for a document that is not {"payments":[...]} at all.
func CheckDocument(doc []byte, v *validation.Validator) ([]ItemCheck, error) {
	var d struct {
		Payments []json.RawMessage `json:"payments"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf(`not a {"payments":[...]} JSON document: %w`, err)
	}
	if d.Payments == nil {
		return nil, errors.New(`no "payments" array`)
	}
	out := make([]ItemCheck, len(d.Payments))
	var (
		cands []Candidate
		at    []int
	)
	for i, raw := range d.Payments {
		var p models.Payment
		if err := json.Unmarshal(raw, &p); err != nil {
			out[i] = ItemCheck{RefPayment: "?", Violations: []validation.Violation{{Field: "(item)", Rule: RuleUnreadable, Message: err.Error()}}}
			continue
		}
		cands = append(cands, Candidate{Item: &p, Where: fmt.Sprintf("item %d", i)})
		at = append(at, i)
	}
	for k, verdict := range Assess(cands, Ask{In: "the file"}, Rules{Validator: v}) {
		out[at[k]] = ItemCheck{RefPayment: cands[k].Item.RecaudaInformation.RefPayment, Violations: verdict.Violations}
	}
	return out, nil
}
