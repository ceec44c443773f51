package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"recauda-bridge/erp"
)

const fixtures = "../../testdata/erp"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func refs(charges []erp.Charge) []string {
	out := []string{}
	for _, c := range charges {
		out = append(out, c.RefPayment)
	}
	return out
}

func byRef(t *testing.T, d *dataset, id, ref string) erp.Charge {
	t.Helper()
	for _, c := range d.lookup(id) {
		if c.RefPayment == ref {
			return c
		}
	}
	t.Fatalf("%s: no charge %s; got %v", id, ref, refs(d.lookup(id)))
	return erp.Charge{}
}

// defectFields lists "field" for each defect, for compact assertions.
func defectFields(c erp.Charge) []string {
	var out []string
	for _, d := range c.Defects {
		out = append(out, d.Field)
	}
	return out
}

func TestParseJSON(t *testing.T) {
	d, err := parseJSON(readFixture(t, "charges.json"))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if got, want := d.charges, 4; got != want {
		t.Errorf("charges: got %d, want %d", got, want)
	}
	if len(d.skipped) != 0 {
		t.Errorf("skipped: got %v, want none", d.skipped)
	}
	tests := []struct {
		id   string
		refs []string
	}{
		{"1032456789", []string{"FAC-1001", "FAC-1002"}},
		{"79845123", []string{"FAC-2001"}}, // id_number written as a JSON integer
		{"52789456", []string{"FAC-3001"}},
		{"12345", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := refs(d.lookup(tt.id)); !slices.Equal(got, tt.refs) {
				t.Errorf("got %v, want %v", got, tt.refs)
			}
		})
	}

	c := byRef(t, d, "1032456789", "FAC-1001")
	checks := []struct{ name, got, want string }{
		{"amount", c.Amount.String(), "3450000"},
		{"payer_name", c.PayerName, "María Fernanda Gómez Rojas"},
		{"advance", c.Advance.Type + " " + c.Advance.Value.String(), "Porcentaje Minimo 30"},
		{"discount", c.Discount.BeforeOn + " " + c.Discount.Type + " " + c.Discount.Value.String(), "2030-02-05 Porcentaje 5"},
		{"references", strings.Join(c.References, "|"), "EST-1032|SEM-2030-1"},
		{"limit_date", c.LimitDate, "2030-02-15"},
		{"metadata", string(c.Metadata), `{ "programa": "Ingeniería de Sistemas" }`},
		{"usd amount", byRef(t, d, "52789456", "FAC-3001").Amount.String(), "149.99"},
		{"string amount", byRef(t, d, "1032456789", "FAC-1002").Amount.String(), "85000"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	c2 := byRef(t, d, "79845123", "FAC-2001")
	if c2.Delivery == nil || c2.Delivery.Value.String() != "12000" || !c2.HasComments ||
		c2.RequestAddressDelivery == nil || !*c2.RequestAddressDelivery || !slices.Equal(c2.SelectedTaxes, []int64{1}) {
		t.Errorf("FAC-2001: got %+v, want paid delivery 12000, comments, address, taxes [1]", c2)
	}
	for id := range d.byID {
		for _, c := range d.lookup(id) {
			if len(c.Defects) > 0 {
				t.Errorf("%s: got defects %v, want none", c.RefPayment, c.Defects)
			}
		}
	}
}

// TestParseJSONEfipayExample reads Efipay's documented answer as a file.
func TestParseJSONEfipayExample(t *testing.T) {
	d, err := parseJSON(readFixture(t, "efipay-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refs(d.lookup("12345678")), []string{"1234567", "7654321", "7654322"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseJSONBrokenItems(t *testing.T) {
	d, err := parseJSON(readFixture(t, "broken.json"))
	if err != nil {
		t.Fatalf("got error %v, want the file read with defects", err)
	}
	tests := []struct {
		id, ref string
		fields  []string
	}{
		{"1032456789", "BRK-1", []string{
			"recauda_information.amount",
			"recauda_information.advance.value",
			"advanced_options.references",
			"advanced_options.has_comments",
		}},
		{"1032456789", "BRK-2", []string{
			"recauda_information.payer_name",
			"recauda_information.amount",
			"advanced_options",
		}},
		{"79845123", "DUP-1", []string{"recauda_information.ref_payment"}},
		{"79845123", "OK-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			c := byRef(t, d, tt.id, tt.ref)
			got := defectFields(c)
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.fields))
			if !slices.Equal(got, want) {
				t.Errorf("defects: got %v, want %v (%v)", got, want, c.Defects)
			}
		})
	}
	if got, want := refs(d.lookup("79845123")), []string{"DUP-1", "DUP-1", "OK-1"}; !slices.Equal(got, want) {
		t.Errorf("79845123: got %v, want %v", got, want)
	}
	c := byRef(t, d, "1032456789", "BRK-1")
	if got, want := c.Defects[0].Message, `item 1: must be a decimal number, got string "abc"`; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
	if got, want := c.LimitDate, "2030-02-15"; got != want {
		t.Errorf("fields after a broken one: limit_date got %q, want %q", got, want)
	}
	wantSkipped := []string{
		"item 3 skipped: id_number missing",
		"item 4 skipped: ref_payment missing",
		"item 5 skipped: not a JSON object",
	}
	if !slices.Equal(d.skipped, wantSkipped) {
		t.Errorf("skipped: got %q, want %q", d.skipped, wantSkipped)
	}
}

func TestParseJSONWholeFileErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", "this is { not json"},
		{"empty", ""},
		{"array at top", `[{"recauda_information":{}}]`},
		{"no payments key", `{"pagos":[]}`},
		{"payments null", `{"payments":null}`},
		{"payments not an array", `{"payments":{}}`},
		{"trailing garbage", `{"payments":[]} x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseJSON([]byte(tt.in)); err == nil {
				t.Error("got nil error, want one")
			}
		})
	}
	d, err := parseJSON([]byte("\xef\xbb\xbf{\"payments\":[]}"))
	if err != nil || d.charges != 0 {
		t.Errorf("empty list with BOM: got %v, %v; want an empty dataset", d, err)
	}
}

func TestParseCSV(t *testing.T) {
	d, err := parseCSV(readFixture(t, "charges.csv"))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if len(d.skipped) != 0 {
		t.Errorf("skipped: got %v, want none", d.skipped)
	}
	if got, want := refs(d.lookup("1032456789")), []string{"FAC-1001", "FAC-1002"}; !slices.Equal(got, want) {
		t.Errorf("1032456789: got %v, want %v", got, want)
	}
	c := byRef(t, d, "1032456789", "FAC-1001")
	c2 := byRef(t, d, "79845123", "FAC-2001")
	c3 := byRef(t, d, "52789456", "FAC-3001")
	checks := []struct{ name, got, want string }{
		{"amount", c.Amount.String(), "3450000"},
		{"advance", c.Advance.Type + " " + c.Advance.Value.String(), "Porcentaje Minimo 30"},
		{"references", strings.Join(c.References, ","), "EST-1032,SEM-2030-1"},
		{"picture", c.Picture, "https://example.co/img/matricula.png"},
		{"discount", c.Discount.BeforeOn + " " + c.Discount.Type + " " + c.Discount.Value.String(), "2030-02-05 Porcentaje 5"},
		{"metadata merges the unknown column", string(c.Metadata), `{"programa":"Ingeniería de Sistemas","sede":"Bogotá"}`},
		{"quoted description with comma", c2.Description, "Cuota de administración apto 502, torre B"},
		{"delivery", c2.Delivery.Type + " " + c2.Delivery.Value.String(), "Con Valor 12000"},
		{"comments", c2.CommentsLabel, "Comentarios para la administración"},
		{"unknown column alone", string(c2.Metadata), `{"sede":"Medellín"}`},
		{"metadata column wins", string(c3.Metadata), `{"sede":"virtual"}`},
		{"usd", c3.Currency + " " + c3.Amount.String(), "USD 149.99"},
		{"free delivery", c3.Delivery.Type + " " + c3.Delivery.Value.String(), "Gratis 0"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c2.HasComments || c.HasComments || c3.HasComments {
		t.Errorf("has_comments: got %v %v %v, want false true false", c.HasComments, c2.HasComments, c3.HasComments)
	}
	if c2.RequestAddressDelivery == nil || !*c2.RequestAddressDelivery || c3.RequestAddressDelivery == nil || *c3.RequestAddressDelivery ||
		c.RequestAddressDelivery != nil {
		t.Errorf("request_address_delivery: got %v %v %v, want nil true false", c.RequestAddressDelivery, c2.RequestAddressDelivery, c3.RequestAddressDelivery)
	}
	if f := byRef(t, d, "1032456789", "FAC-1002"); f.Advance != nil || f.Discount != nil || f.Delivery != nil || f.Metadata != nil || f.References != nil {
		t.Errorf("FAC-1002 with empty optional cells: got %+v, want no options", f)
	}
}

func TestParseCSVSemicolonWithBOM(t *testing.T) {
	d, err := parseCSV(readFixture(t, "charges-semicolon.csv"))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	got := d.lookup("1017234567")
	if want := []string{"FAC-4001", "FAC-4002"}; !slices.Equal(refs(got), want) {
		t.Fatalf("got %v, want %v (skipped %v)", refs(got), want, d.skipped)
	}
	c := got[0]
	checks := []struct{ name, got, want string }{
		{"decimal comma", c.Amount.String(), "96000.5"},
		{"description with comma", c.Description, "Pedido 4581, café de origen Huila"},
		{"metadata", string(c.Metadata), `{"Ciudad":"Pereira"}`},
		{"references", strings.Join(c.References, "|"), "PED-4581"},
		{"limit_date", c.LimitDate, "2030-05-01"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !c.HasComments || got[1].HasComments {
		t.Errorf("has_comments Sí / 0: got %v / %v, want true / false", c.HasComments, got[1].HasComments)
	}
	if len(d.skipped) != 0 || d.charges != 2 {
		t.Errorf("got %d charges, skipped %v; want 2 and none (blank row ignored)", d.charges, d.skipped)
	}
}

func TestParseCSVBrokenRows(t *testing.T) {
	d, err := parseCSV(readFixture(t, "broken.csv"))
	if err != nil {
		t.Fatalf("got error %v, want the file read with defects", err)
	}
	tests := []struct {
		id, ref string
		fields  []string
	}{
		{"1032456789", "BRK-1", []string{"recauda_information.amount", "advanced_options.has_comments"}},
		{"1032456789", "BRK-2", []string{"recauda_information.amount", "recauda_information.advance.type", "recauda_information.metadata"}},
		{"79845123", "OK-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := defectFields(byRef(t, d, tt.id, tt.ref))
			slices.Sort(got)
			if want := slices.Sorted(slices.Values(tt.fields)); !slices.Equal(got, want) {
				t.Errorf("defects: got %v, want %v", got, want)
			}
		})
	}
	if got, want := byRef(t, d, "1032456789", "BRK-1").Defects[0].Message,
		`line 2, column amount: "abc" is not a plain decimal number (digits, one decimal point, no thousands separators)`; got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
	if got := byRef(t, d, "79845123", "OK-1"); got.Advance == nil || got.Advance.Value.String() != "10000" || !got.HasComments {
		t.Errorf("OK-1: got %+v, want advance 10000 and comments", got)
	}
	wantSkipped := []string{
		"line 4 skipped: 6 fields, the header has 10",
		"line 5 skipped: id_number is empty",
		"line 6 skipped: ref_payment is empty",
		`line 9 skipped: bare " in non-quoted-field`,
	}
	if !slices.Equal(d.skipped, wantSkipped) {
		t.Errorf("skipped: got %q, want %q", d.skipped, wantSkipped)
	}
	if got, want := d.charges, 3; got != want {
		t.Errorf("charges: got %d, want %d", got, want)
	}
}

func TestParseCSVWholeFileErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"only a BOM", "\xef\xbb\xbf"},
		{"missing amount column", string(readFixture(t, "missing-column.csv"))},
		{"repeated column", "ref_payment,id_number,payer_name,description,amount,currency_type,Amount\n"},
		{"semicolons in data but commas in header", "ref_payment,id_number\nA;1\n"},
		{"broken header quoting", "\"ref_payment,id_number\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseCSV([]byte(tt.in)); err == nil {
				t.Error("got nil error, want one")
			}
		})
	}
}

func TestParseCSVSeparatorAndValues(t *testing.T) {
	const header = "ref_payment,id_number,payer_name,description,amount,currency_type"
	tests := []struct {
		name   string
		in     string
		amount string // "" when a defect is wanted
	}{
		{"plain", header + "\nR,12345,Payer Name,Desc,1250000.50,COP\n", "1250000.5"},
		{"excel sep line", "sep=;\n" + strings.ReplaceAll(header, ",", ";") + "\nR;12345;Payer Name;Desc;1250000,50;COP\n", "1250000.5"},
		{"decimal comma needs semicolons", header + "\nR,12345,Payer Name,Desc,\"1250000,50\",COP\n", ""},
		{"thousands separators", header + "\nR,12345,Payer Name,Desc,\"1,250,000\",COP\n", ""},
		{"exponent", header + "\nR,12345,Payer Name,Desc,1e6,COP\n", ""},
		{"currency sign", header + "\nR,12345,Payer Name,Desc,$1000,COP\n", ""},
		{"empty amount", header + "\nR,12345,Payer Name,Desc,,COP\n", ""},
		{"crlf and spaces", header + "\r\n R , 12345 ,Payer Name,Desc, 20000 ,COP\r\n", "20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parseCSV([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := d.lookup("12345")
			if len(got) != 1 {
				t.Fatalf("got %d charges (skipped %v), want 1", len(got), d.skipped)
			}
			if tt.amount == "" {
				if f := defectFields(got[0]); !slices.Equal(f, []string{"recauda_information.amount"}) {
					t.Errorf("defects: got %v, want amount", got[0].Defects)
				}
				return
			}
			if len(got[0].Defects) > 0 || got[0].Amount.String() != tt.amount {
				t.Errorf("got %s %v, want %s", got[0].Amount, got[0].Defects, tt.amount)
			}
			if got[0].RefPayment != "R" {
				t.Errorf("ref: got %q, want R", got[0].RefPayment)
			}
		})
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	d, err := parseJSON(readFixture(t, "charges.json"))
	if err != nil {
		t.Fatal(err)
	}
	first := d.lookup("1032456789")
	first[0].References[0] = "changed"
	first[0].Advance.Value = first[0].Amount
	first[0].Metadata[0] = 'X'
	again := d.lookup("1032456789")
	if again[0].References[0] != "EST-1032" || again[0].Advance.Value.String() != "30" || again[0].Metadata[0] != '{' {
		t.Errorf("got %+v, want the stored charge unchanged", again[0])
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, name := range []string{"charges.csv", "charges-semicolon.csv", "broken.csv", "missing-column.csv"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("sep=;\nref_payment;id_number;payer_name;description;amount;currency_type\n\"a;1;b;c;1;COP"))
	f.Add([]byte(""))
	const h = "ref_payment,id_number,payer_name,description,amount,currency_type,metadata,sede\r\n"
	f.Add([]byte(h + "A,1,\"P\r\nQ\",D,1.5,COP,\"{\"\"a\"\":1}\",x\r\n\r\nB,1,\"P\" x,D,1,COP,,\r\nA,2,P,D,1,COP,,\r\nC,1,P,D,2,COP,,y\r"))
	f.Add([]byte(h + "A,1,P,D,1,COP,,\n,,,,,,,\nB,1,\"P,D,1,COP,,\nC,1,P,D,1,COP,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseCSV(data)
		rows, skips, rerr := ReadCSV(data)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("parseCSV: %v; ReadCSV: %v", err, rerr)
		}
		if err != nil {
			return
		}
		checkDataset(t, d)
		checkAgainstRead(t, d, rows, skips)
	})
}

func FuzzReadJSON(f *testing.F) {
	for _, name := range []string{"charges.json", "broken.json", "efipay-example.json", "invalid.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"payments":[{"recauda_information":{"id_number":1,"ref_payment":"r","amount":null,"advance":[]},"advanced_options":{"discount":{"value":"x"}}}]}`))
	f.Add([]byte(`{"payments":[]}`))
	f.Add([]byte(`{"Payments":[1, {"recauda_information":{"id_number":"1","ref_payment":"r"}} ,{"recauda_information":{"id_number":1,"ref_payment":"r"}}],"x":{"payments":null}}`))
	f.Add([]byte(`{"payments":[{"recauda_information":{"id_number":"1","ref_payment":"a"}}],"payments":[{"recauda_information":{"id_number":"2","ref_payment":"b"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseJSON(data)
		rows, skips, rerr := ReadJSON(data)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("parseJSON: %v; ReadJSON: %v", err, rerr)
		}
		if err != nil {
			return
		}
		checkDataset(t, d)
		checkAgainstRead(t, d, rows, skips)
	})
}

// itemSamples are payments items that are valid JSON but tricky to read
// without decoding them.
var itemSamples = []string{
	`{"recauda_information":{"id_number":"1","ref_payment":"r"}}`,
	` { "recauda_information" : { "id_number" : 12 , "ref_payment" : " r " } } `,
	`{"recauda_information":{"id_number":"1","ref_payment":"r"},"recauda_information":{"id_number":"2","ref_payment":"s"}}`,
	`{"recauda_information":{"id_number":"1","ref_payment":"r"},"recauda_information":null}`,
	`{"recauda_information":{"id_number":"1","id_number":"3","ref_payment":"r"}}`,
	`{"recauda\u005finformation":{"id\u005fnumber":"\u0031","ref_payment":"\"}{"}}`,
	`{"x":{"recauda_information":{"id_number":"1","ref_payment":"r"}},"recauda_information":{"a":["}",{"id_number":"9"}],"ref_payment":"r"}}`,
	`{"x":"\\","recauda_information":{"id_number":"1","ref_payment":"r"}}`,
	`{"Recauda_Information":{"id_number":"1","ref_payment":"r"}}`,
	`{"recauda_information":{"ID_NUMBER":"1","ref_payment":"r"}}`,
	`{"recauda_information":{"id_number":1.5,"ref_payment":"r"}}`,
	`{"recauda_information":{"id_number":-1,"ref_payment":"r"}}`,
	`{"recauda_information":{"id_number":"1","ref_payment":true}}`,
	`{"recauda_information":{"id_number":"1","ref_payment":null}}`,
	`{"recauda_information":{"id_number":"  ","ref_payment":"r"}}`,
	`{"recauda_information":{"id_number":"1"}}`,
	`{"recauda_information":[]}`,
	`{"recauda_information":"x"}`,
	`{"recauda_information":{}}`,
	`{}`,
	`null`,
	`[{"recauda_information":{"id_number":"1","ref_payment":"r"}}]`,
	`"x"`,
	`7`,
	`{"recauda_information":{"id_number":"1","ref_payment":"r","metadata":{"k":"}\"]"}}}`,
	`" \u00e9 1 "`,
	`"\t1"`,
	"\" \u00a01 \u2003\"",
	"\"caf\xc3\xa9\"",
	"\"caf\xe9\"",
	"{\"recauda_information\":{\"id_number\":\"\xff1\",\"ref_payment\":\"r\"}}",
}

// TestItemKeysReadsWhatDecodeItemReads compares the light read of the load
// with decodeItem's, which lookups use.
func TestItemKeysReadsWhatDecodeItemReads(t *testing.T) {
	for _, item := range itemSamples {
		if !json.Valid([]byte(item)) {
			t.Fatalf("sample is not valid JSON: %s", item)
		}
		checkItemKeys(t, []byte(item))
	}
}

func FuzzItemKeys(f *testing.F) {
	for _, item := range itemSamples {
		f.Add([]byte(item))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		checkItemKeys(t, raw)
	})
}

func checkItemKeys(t *testing.T, raw []byte) {
	t.Helper()
	// readKey reads a plain string without json.Unmarshal: the same.
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '"' {
		var want string
		if json.Unmarshal(trimmed, &want) == nil {
			want = strings.TrimSpace(want)
			if got, err := readKey(raw); got != want || (err == nil) != (want != "") {
				t.Errorf("readKey(%s): got %q, %v; json.Unmarshal reads %q", raw, got, err, want)
			}
		}
	}
	raw = bytes.TrimSpace(raw) // as a walked file's items are
	id, ref, err := itemKeys(raw)
	c, cerr := decodeItem(raw, "item 1")
	if fmt.Sprint(err) != fmt.Sprint(cerr) || id != c.IDNumber || ref != c.RefPayment {
		t.Errorf("%s:\nitemKeys   %q %q %v\ndecodeItem %q %q %v", raw, id, ref, err, c.IDNumber, c.RefPayment, cerr)
	}
}

// TestDatasetServesWhatReadReads compares, for each fixture, what lookups
// return (parsed from the records' spans) with what ReadCSV and ReadJSON
// read from the whole file.
func TestDatasetServesWhatReadReads(t *testing.T) {
	for _, name := range []string{"charges.csv", "charges-semicolon.csv", "broken.csv", "charges.json", "broken.json", "efipay-example.json"} {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			parse, read := parseCSV, ReadCSV
			if strings.HasSuffix(name, ".json") {
				parse, read = parseJSON, ReadJSON
			}
			d, err := parse(data)
			if err != nil {
				t.Fatal(err)
			}
			rows, skips, err := read(data)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstRead(t, d, rows, skips)
		})
	}
}

// checkAgainstRead asserts that d serves what ReadCSV or ReadJSON read from
// the same file, with the Defect of a repeated ref_payment added, and skips
// the same records for the same reasons.
func checkAgainstRead(t *testing.T, d *dataset, rows []Row, skips []Skip) {
	t.Helper()
	var skipped []string
	for _, s := range skips {
		skipped = append(skipped, s.Where+" skipped: "+s.Reason)
	}
	if !slices.Equal(skipped, d.skipped) {
		t.Fatalf("skipped: dataset %q, read %q", d.skipped, skipped)
	}
	where := make(map[string][]string)
	for _, r := range rows {
		where[r.Charge.RefPayment] = append(where[r.Charge.RefPayment], r.Where)
	}
	want := make(map[string][]erp.Charge)
	for _, r := range rows {
		c := r.Charge
		if same := where[c.RefPayment]; len(same) > 1 {
			c.Defects = append(c.Defects, erp.Defect{
				Field:   "recauda_information.ref_payment",
				Message: r.Where + ": ref_payment is not unique, used at " + strings.Join(same, ", "),
			})
		}
		want[c.IDNumber] = append(want[c.IDNumber], c)
	}
	if len(want) != len(d.byID) || d.charges != len(rows) {
		t.Fatalf("dataset: %d customers, %d charges; read: %d customers, %d charges", len(d.byID), d.charges, len(want), len(rows))
	}
	for id, charges := range want {
		if got := d.lookup(id); !reflect.DeepEqual(got, charges) {
			t.Fatalf("%q: dataset serves\n%+v\nread\n%+v", id, got, charges)
		}
	}
}

// checkDataset asserts what every successful read guarantees.
func checkDataset(t *testing.T, d *dataset) {
	n := 0
	for id := range d.byID {
		for _, c := range d.lookup(id) {
			n++
			if c.IDNumber != id || id == "" || strings.TrimSpace(id) != id {
				t.Fatalf("charge indexed under %q has id_number %q", id, c.IDNumber)
			}
			if c.RefPayment == "" {
				t.Fatalf("charge without ref_payment: %+v", c)
			}
			for _, def := range c.Defects {
				if def.Field == "" || def.Message == "" {
					t.Fatalf("defect without field or message: %+v", def)
				}
			}
		}
	}
	if n != d.charges {
		t.Fatalf("indexed %d charges, counted %d", n, d.charges)
	}
}

// Customers c and c+memoSize share a memo slot: each lookup must still get
// its own customer's charges, whichever was parsed last.
func TestMemoSlotSharedByTwoCustomers(t *testing.T) {
	var b strings.Builder
	b.WriteString("ref_payment,id_number,payer_name,description,amount,currency_type\n")
	for c := 0; c <= memoSize; c++ {
		fmt.Fprintf(&b, "R-%d,%d,Cliente %d,Cuota,%d,COP\n", c, 10000000+c, c, 1000+c)
	}
	d, err := parseCSV([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{0, memoSize, 0, 0, memoSize, 1} {
		got := d.lookup(strconv.Itoa(10000000 + c))
		if len(got) != 1 || got[0].RefPayment != fmt.Sprintf("R-%d", c) || got[0].Amount.IntPart() != int64(1000+c) {
			t.Fatalf("customer %d: got %+v", c, got)
		}
	}
}
