package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"recauda-bridge/erp"
)

// bom is the UTF-8 byte order mark that Windows tools put before text.
var bom = []byte{0xEF, 0xBB, 0xBF}

// record is a charge read from the file and where it was found, for messages.
type record struct {
	charge erp.Charge
	where  string // "item 3" or "line 7"
}

// dataset is the content of one successful read of the file.
type dataset struct {
	byID    map[string][]erp.Charge // by id_number, in file order
	charges int
	// skipped says, for each record that was left out, where and why. It
	// never holds a customer's ID number or name.
	skipped []string
}

// newDataset indexes records by id_number and marks every record whose
// ref_payment is also used by another: Efipay keeps only one recauda per
// ref_payment, so each of them is held back until the file is fixed.
func newDataset(records []record, skipped []string) *dataset {
	byRef := make(map[string][]int, len(records))
	for i, r := range records {
		byRef[r.charge.RefPayment] = append(byRef[r.charge.RefPayment], i)
	}
	d := &dataset{byID: make(map[string][]erp.Charge), charges: len(records), skipped: skipped}
	for _, r := range records {
		c := r.charge
		if same := byRef[c.RefPayment]; len(same) > 1 {
			where := make([]string, 0, len(same))
			for _, j := range same {
				where = append(where, records[j].where)
			}
			c.Defects = append(c.Defects, erp.Defect{
				Field:   "recauda_information.ref_payment",
				Message: fmt.Sprintf("%s: ref_payment is not unique, used at %s", r.where, strings.Join(where, ", ")),
			})
		}
		d.byID[c.IDNumber] = append(d.byID[c.IDNumber], c)
	}
	return d
}

// lookup returns copies of the charges of idNumber, never nil.
func (d *dataset) lookup(idNumber string) []erp.Charge {
	stored := d.byID[idNumber]
	out := make([]erp.Charge, len(stored))
	for i, c := range stored {
		out[i] = cloneCharge(c)
	}
	return out
}

// cloneCharge deep-copies c so that a caller's changes never reach the
// shared dataset.
func cloneCharge(c erp.Charge) erp.Charge {
	c.References = slices.Clone(c.References)
	c.SelectedTaxes = slices.Clone(c.SelectedTaxes)
	c.Metadata = bytes.Clone(c.Metadata)
	c.Defects = slices.Clone(c.Defects)
	if c.Advance != nil {
		v := *c.Advance
		c.Advance = &v
	}
	if c.Discount != nil {
		v := *c.Discount
		c.Discount = &v
	}
	if c.Delivery != nil {
		v := *c.Delivery
		c.Delivery = &v
	}
	if c.RequestAddressDelivery != nil {
		v := *c.RequestAddressDelivery
		c.RequestAddressDelivery = &v
	}
	return c
}

// readKey reads id_number or ref_payment: a JSON string, or a JSON integer
// as spreadsheets export them, trimmed. It fails on anything else and on an
// empty value.
func readKey(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", fmt.Errorf("missing")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("not a string")
		}
	} else {
		for _, b := range raw {
			if b < '0' || b > '9' {
				return "", fmt.Errorf("must be a string")
			}
		}
		s = string(raw)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty")
	}
	return s, nil
}
