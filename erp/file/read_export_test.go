package file

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadCSVRowsSkipsAndExtras(t *testing.T) {
	data := strings.Join([]string{
		"sep=;",
		"ref_payment;id_number;payer_name;description;amount;currency_type;Recurrence;periods;plan",
		"A-1;1032456789;Ana María Gómez;Cuota mensual;150000,50;COP;monthly;12;oro",
		";1032456789;Ana María Gómez;Sin referencia;1000;COP;;;",
		"A-2;1032456789;Ana María Gómez;Cuota única;abc;COP;;;",
		"A-3;1032456789;too few",
		";;;;;;;;",
		"A-4;1032456789;Ana María Gómez;Cuota única;1000;COP;;;plata",
	}, "\n")
	rows, skips, err := ReadCSV([]byte(data), "recurrence", "PERIODS", "first_due")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d %s %v %s %d", r.Line, r.Charge.RefPayment, r.Extra, r.Charge.Metadata, len(r.Charge.Defects)))
	}
	want := []string{
		`3 A-1 map[periods:12 recurrence:monthly] {"plan":"oro"} 0`,
		`5 A-2 map[]  1`, // empty cells stay out of metadata
		`8 A-4 map[] {"plan":"plata"} 0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	var skipped []string
	for _, s := range skips {
		skipped = append(skipped, fmt.Sprintf("%d %s", s.Line, s.Reason))
	}
	if w := "[4 ref_payment is empty 6 3 fields, the header has 9]"; fmt.Sprint(skipped) != w {
		t.Errorf("skips: got %v, want %s", skipped, w)
	}
}

func TestReadJSONRowsAndExtras(t *testing.T) {
	data := `{"payments":[
		{"recauda_information":{"ref_payment":"J-1","id_number":1032456789,"description":"Cuota","payer_name":"Ana María","amount":"1000","currency_type":"COP"},
		 "recurrence":"monthly","periods":6,"first_due":null},
		7,
		{"recauda_information":{"ref_payment":"J-2","id_number":"1032456789","amount":1000}}
	]}`
	rows, skips, err := ReadJSON([]byte(data), "recurrence", "periods", "first_due")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 1 || rows[1].Line != 3 || rows[1].Charge.RefPayment != "J-2" {
		t.Fatalf("rows: got %+v", rows)
	}
	if got := fmt.Sprint(rows[0].Extra); got != "map[periods:6 recurrence:monthly]" {
		t.Errorf("extras: got %s", got)
	}
	if len(skips) != 1 || skips[0].Line != 2 || skips[0].Where != "item 2" {
		t.Errorf("skips: got %+v, want item 2", skips)
	}
}
