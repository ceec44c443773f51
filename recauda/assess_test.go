package recauda

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/models"
	"recauda-bridge/validation"
)

// assessToday is 2026-12-05 in Bogotá (12:00 UTC is 07:00 there).
var assessToday = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func assessCharge(ref, id string) erp.Charge {
	c := dueCharge("2026-12-15", "")
	c.RefPayment, c.IDNumber = ref, id
	return c
}

func charges(cs ...erp.Charge) []Candidate {
	out := make([]Candidate, len(cs))
	for i, c := range cs {
		out[i].Charge = c
	}
	return out
}

// rulesOf lists a verdict's violations as "field:rule message", or as
// "field:rule" where want does (the validator's own messages are its tests').
func rulesOf(v Verdict, want []string) []string {
	var out []string
	for i, x := range v.Violations {
		s := x.Field + ":" + x.Rule
		if i >= len(want) || strings.Contains(want[i], " ") {
			s += " " + x.Message
		}
		out = append(out, s)
	}
	return out
}

func TestAssess(t *testing.T) {
	rules := Rules{Validator: validation.New(func() time.Time { return assessToday }), WebhookURL: "https://bridge.example/webhooks/efipay"}
	asWritten := rules
	asWritten.AsWritten = true
	const id = "12345678"
	lookup := Ask{IDNumber: id, In: "this customer's charges"}

	unreadable := assessCharge("FAC-2", id)
	unreadable.Defects = []erp.Defect{{Field: "recauda_information.amount", Message: "amount is not a number"}}
	threePlaces := assessCharge("FAC-3", id)
	threePlaces.Amount = decimal.RequireFromString("1000.125")
	overdue := assessCharge("FAC-4", id)
	overdue.LimitDate = "2026-12-01"
	item, _ := PaymentFromCharge(assessCharge("FAC-9", "87654321"), "")
	broken := assessCharge("FAC-5", id)
	broken.Currency = "cop"

	tests := []struct {
		name  string
		cands []Candidate
		ask   Ask
		rules Rules
		// want is each verdict's violations ("field:rule message", or
		// "field:rule" for the validator's); "apart" for a verdict set apart.
		want [][]string
	}{
		{"valid", charges(assessCharge("FAC-1", id)), lookup, rules, [][]string{nil}},
		{"unreadable field", charges(unreadable), lookup, rules, [][]string{{
			"recauda_information.amount:unreadable amount is not a number",
		}}},
		{"another customer's charge", charges(assessCharge("FAC-1", "99999999")), lookup, rules, [][]string{{
			"recauda_information.id_number:id_number_mismatch the ERP returned this charge for another customer's ID number",
		}}},
		{"no ID number asked: any customer's", charges(assessCharge("FAC-1", "99999999")), Ask{}, rules, [][]string{nil}},
		{"ref repeated in a lookup", charges(assessCharge("FAC-1", id), assessCharge("FAC-2", id), assessCharge("FAC-1", id)), lookup, rules, [][]string{
			{"recauda_information.ref_payment:duplicate_ref_payment ref_payment appears 2 times in this customer's charges"},
			nil,
			{"recauda_information.ref_payment:duplicate_ref_payment ref_payment appears 2 times in this customer's charges"},
		}},
		{"ref repeated in a file names the places", []Candidate{
			{Charge: assessCharge("FAC-1", id), Where: "line 2"},
			{Charge: assessCharge("FAC-1", "99999999"), Where: "line 3"},
		}, Ask{In: "the file"}, rules, [][]string{
			{"recauda_information.ref_payment:duplicate_ref_payment ref_payment appears 2 times in the file: line 2, line 3"},
			{"recauda_information.ref_payment:duplicate_ref_payment ref_payment appears 2 times in the file: line 2, line 3"},
		}},
		{"ref offered to another customer before", charges(assessCharge("FAC-1", id), assessCharge("FAC-2", id)),
			Ask{IDNumber: id, OfferedTo: func(ref string) (string, bool) {
				if ref == "FAC-1" {
					return "99999999", true
				}
				return id, true
			}}, rules, [][]string{
				{"recauda_information.ref_payment:ref_payment_owner this ref_payment was already offered to another ID number"},
				nil,
			}},
		{"an Efipay rule", charges(threePlaces), lookup, rules, [][]string{{
			"recauda_information.amount:decimal_places",
		}}},
		{"every violation, the caller's first", []Candidate{{
			Charge:     func() erp.Charge { c := unreadable; c.IDNumber = "99999999"; c.Currency = "cop"; return c }(),
			Violations: []validation.Violation{{Field: "periods", Rule: "range", Message: "must be a whole number from 1 to 120"}},
		}}, lookup, rules, [][]string{{
			"periods:range must be a whole number from 1 to 120",
			"recauda_information.amount:unreadable amount is not a number",
			"recauda_information.id_number:id_number_mismatch the ERP returned this charge for another customer's ID number",
			"recauda_information.currency_type:one_of",
		}}},
		{"set apart: neither mapped nor validated", charges(assessCharge("FAC-1", id), threePlaces),
			Ask{IDNumber: id, Apart: func(int) bool { return true }}, rules, [][]string{{"apart"}, {"apart"}}},
		{"a broken charge is never set apart", charges(unreadable),
			Ask{IDNumber: id, Apart: func(int) bool { return true }}, rules, [][]string{{
				"recauda_information.amount:unreadable amount is not a number",
			}}},
		{"overdue under OVERDUE_POLICY=offer", charges(overdue), lookup, rules, [][]string{nil}},
		{"overdue as written (the ledger)", charges(overdue), Ask{}, asWritten, [][]string{{
			"advanced_options.limit_date:not_before_today",
		}}},
		{"an item, assessed as it is", []Candidate{{Item: &item, Charge: broken, Where: "item 0"}}, Ask{In: "the file"}, rules, [][]string{nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Assess(tc.cands, tc.ask, tc.rules)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d verdicts, want %d", len(got), len(tc.want))
			}
			for i, v := range got {
				want := tc.want[i]
				if reflect.DeepEqual(want, []string{"apart"}) {
					if !v.Apart || v.Offerable() || v.HeldBack() || !reflect.DeepEqual(v.Item, models.Payment{}) {
						t.Errorf("verdict %d = %+v, want set apart, unmapped", i, v)
					}
					continue
				}
				if g := rulesOf(v, want); !reflect.DeepEqual(g, want) {
					t.Errorf("verdict %d: got %q, want %q", i, g, want)
				}
				if v.HeldBack() == v.Offerable() {
					t.Errorf("verdict %d: HeldBack %v, Offerable %v, want one of them", i, v.HeldBack(), v.Offerable())
				}
				if v.Offerable() && v.Item.RecaudaInformation.RefPayment == "" {
					t.Errorf("verdict %d: offerable without its item", i)
				}
			}
		})
	}
}

func TestAssessMapsTheItemOfTheDay(t *testing.T) {
	rules := Rules{Validator: validation.New(func() time.Time { return assessToday }), WebhookURL: "https://bridge.example/w",
		Overdue: config.OverduePolicy{Mode: config.OverdueExtend, ExtendDays: 3}}
	c := assessCharge("FAC-1", "12345678")
	c.LimitDate = "2026-12-01"
	v := Assess(charges(c), Ask{IDNumber: c.IDNumber}, rules)[0]
	wantItem, wantDue := ItemFromCharge(c, rules.WebhookURL, "2026-12-05", rules.Overdue)
	if !reflect.DeepEqual(v.Item, wantItem) || !reflect.DeepEqual(v.Due, wantDue) {
		t.Errorf("got item %+v due %+v, want %+v %+v", v.Item, v.Due, wantItem, wantDue)
	}
	if got := v.Item.AdvancedOptions.LimitDate; got != "2026-12-08" {
		t.Errorf("got limit date %q, want 2026-12-08", got)
	}
}

func TestAssessOnWorkersAgrees(t *testing.T) {
	rules := Rules{Validator: validation.New(func() time.Time { return assessToday }), AsWritten: true}
	var cands []Candidate
	for i := range 2500 {
		c := assessCharge(fmt.Sprintf("FAC-%d", i%2400), "12345678")
		if i%7 == 0 {
			c.Amount = decimal.RequireFromString("1.001")
		}
		cands = append(cands, Candidate{Charge: c, Where: fmt.Sprintf("line %d", i+2)})
	}
	one := Assess(cands, Ask{In: "the file"}, rules)
	var last int
	calls := 0
	many := AssessOnWorkers(cands, Ask{In: "the file"}, rules, 4, func(done int) { last, calls = done, calls+1 })
	if !reflect.DeepEqual(one, many) {
		t.Error("verdicts on 4 workers differ from those on one")
	}
	if last != len(cands) || calls != 3 {
		t.Errorf("progress ended at %d after %d calls, want %d after 3", last, calls, len(cands))
	}
}
