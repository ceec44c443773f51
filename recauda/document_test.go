package recauda

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"recauda-bridge/validation"
)

func TestCheckDocument(t *testing.T) {
	v := validation.New(func() time.Time { return assessToday })
	const valid = `{"recauda_information":{"description":"Cuota de noviembre","amount":1000,"currency_type":"COP","id_number":"12345678",` +
		`"payer_name":"Ana María","ref_payment":"%s"},"advanced_options":{"has_comments":false}}`
	item := func(ref string) string { return fmt.Sprintf(valid, ref) }
	tests := []struct {
		name    string
		doc     string
		want    []string // per item: ref and its rules, "ref rule,rule"
		wantErr bool
	}{
		{"valid items", `{"payments":[` + item("A-1") + `,` + item("A-2") + `]}`, []string{"A-1 ", "A-2 "}, false},
		{"no items", `{"payments":[]}`, []string{}, false},
		{"a ref twice", `{"payments":[` + item("A-1") + `,` + item("A-1") + `]}`,
			[]string{"A-1 duplicate_ref_payment", "A-1 duplicate_ref_payment"}, false},
		{"an unreadable item", `{"payments":[` + item("A-1") + `,{"recauda_information":{"amount":"x"}}]}`,
			[]string{"A-1 ", "? unreadable"}, false},
		{"an empty item is checked", `{"payments":[{}]}`, []string{" positive,required,required,required,required,required"}, false},
		{"not JSON", `{"payments":`, nil, true},
		{"no payments array", `{"items":[]}`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckDocument([]byte(tc.doc), v)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got error %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			lines := []string{}
			for _, it := range got {
				rules := ""
				for k, x := range it.Violations {
					if k > 0 {
						rules += ","
					}
					rules += x.Rule
				}
				lines = append(lines, it.RefPayment+" "+rules)
			}
			if !reflect.DeepEqual(lines, tc.want) {
				t.Errorf("got %q, want %q", lines, tc.want)
			}
		})
	}
}
