package efipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		file       string // under testdata/efipay, or body
		body       string
		id         string
		status     string
		outcome    Outcome
		amount     string
		currency   string
		production bool
		approvedAt time.Time
		refs       []string
	}{
		{
			name: "Efipay's example", file: "webhook-example.json",
			id: "107", status: "Aprobada", outcome: OutcomeApproved,
			amount: "37323.25", currency: "COP", production: false,
			approvedAt: time.Date(2023, 12, 27, 15, 41, 54, 553992000, time.UTC),
			refs:       []string{"1234567"},
		},
		{
			name: "top-level fallback, string fields, PHP empty objects", file: "webhook-fallback.json",
			id: "a9f3-0042", status: "Rechazada", outcome: OutcomeFailed,
			amount: "150000.50", currency: "COP", production: true,
			refs: []string{"REC-2024-0001", "REC-2024-0002", "REC-2024-0003"},
		},
		{
			name: "ref_payment deep in the body", file: "webhook-ref-payment.json",
			id: "9001", status: "  Reversión Escalada ", outcome: OutcomeReversed,
			amount: "20000", currency: "COP", production: true,
			approvedAt: time.Date(2024, 3, 5, 15, 20, 30, 0, time.UTC), // 10:20:30 in Bogota
			refs:       []string{"RP-0", "RP-1", "RP-2", "RP-3", "4567", "RP-4"},
		},
		{
			name: "Efipay's transaction page, rate record with its own times", file: "webhook-transaction.json",
			id: "107", status: "Aprobada", outcome: OutcomeApproved,
			amount: "37323.25", currency: "COP", production: false,
			approvedAt: time.Date(2023, 12, 27, 15, 41, 54, 553992000, time.UTC),
			refs:       []string{"1234567"},
		},
		{
			name: "Cobra Plus's example", file: "webhook-cobra-plus.json",
			id: "143", status: "Aprobada", outcome: OutcomeApproved,
			amount: "100000", currency: "COP", production: true,
			approvedAt: time.Date(2024, 3, 14, 16, 23, 8, 790973000, time.UTC),
			refs:       []string{"CP-2024-0143"},
		},
		{
			name: "slashes escaped by PHP's json_encode", file: "webhook-php-escaped.json",
			id: "143", status: "Aprobada", outcome: OutcomeApproved,
			amount: "100000", currency: "COP", production: true,
			approvedAt: time.Date(2024, 3, 14, 16, 23, 8, 790973000, time.UTC),
			refs:       []string{"CP/2024/0143"},
		},
		{
			name: "English Pending of an older plugin",
			body: `{"transaction":{"transaction_id":5,"status":"Pending","amount":10}}`,
			id:   "5", status: "Pending", outcome: OutcomeInProgress, amount: "10",
		},
		{
			name: "references with control characters are dropped",
			body: `{"transaction":{"transaction_id":6,"status":"Aprobada"},"checkout":{"payment_gateway":{"advanced_option":{"references":["A\u0000","B\n1","\u202eC","D"]}}}}`,
			id:   "6", status: "Aprobada", outcome: OutcomeApproved, amount: "0",
			refs: []string{"\u202eC", "D"},
		},
		{
			name: "references that are not UTF-8 are dropped",
			body: "{\"transaction\":{\"transaction_id\":7,\"status\":\"Aprobada\"},\"ref_payment\":[\"FAC\xff1\",\"FAC-2\"]}",
			id:   "7", status: "Aprobada", outcome: OutcomeApproved, amount: "0",
			refs: []string{"FAC-2"},
		},
		{
			name: "transaction_id as a string",
			body: `{"transaction":{"transaction_id":" 107 ","status":"Pendiente","amount":"10.10"}}`,
			id:   "107", status: "Pendiente", outcome: OutcomeInProgress, amount: "10.1",
		},
		{
			name: "minimal transaction, references as a scalar",
			body: `{"transaction":{"transaction_id":1,"status":"Iniciada"},"checkout":{"payment_gateway":{"advanced_option":{"references":"R1"}}}}`,
			id:   "1", status: "Iniciada", outcome: OutcomeInProgress, amount: "0",
			refs: []string{"R1"},
		},
		{
			name: "approved_at with an offset",
			body: `{"transaction":{"transaction_id":2,"status":"Aprobada","amount":1,"approved_at":"2024-01-02T03:04:05-05:00"}}`,
			id:   "2", status: "Aprobada", outcome: OutcomeApproved, amount: "1",
			approvedAt: time.Date(2024, 1, 2, 8, 4, 5, 0, time.UTC),
		},
		{
			name: "unknown approved_at format and odd shapes around references",
			body: `{"transaction":{"transaction_id":3,"status":"Aprobada","approved_at":"27/12/2023"},` +
				`"checkout":{"payment_gateway":{"advanced_option":{"references":[{"x":1},null,true,"ok"]}}},` +
				`"payment_gateway":"nope","ref_payment":{"a":1}}`,
			id: "3", status: "Aprobada", outcome: OutcomeApproved, amount: "0",
			refs: []string{"ok"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				var err error
				if body, err = os.ReadFile("../testdata/efipay/" + tt.file); err != nil {
					t.Fatal(err)
				}
			}
			ev, err := Parse(body)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if ev.TransactionID != tt.id {
				t.Errorf("TransactionID: got %q, want %q", ev.TransactionID, tt.id)
			}
			if ev.Status != tt.status {
				t.Errorf("Status: got %q, want %q", ev.Status, tt.status)
			}
			if ev.Outcome != tt.outcome {
				t.Errorf("Outcome: got %q, want %q", ev.Outcome, tt.outcome)
			}
			if want := decimal.RequireFromString(tt.amount); !ev.Amount.Equal(want) {
				t.Errorf("Amount: got %s, want %s", ev.Amount, want)
			}
			if ev.Currency != tt.currency {
				t.Errorf("Currency: got %q, want %q", ev.Currency, tt.currency)
			}
			if ev.Production != tt.production {
				t.Errorf("Production: got %v, want %v", ev.Production, tt.production)
			}
			if !ev.ApprovedAt.Equal(tt.approvedAt) {
				t.Errorf("ApprovedAt: got %v, want %v", ev.ApprovedAt, tt.approvedAt)
			}
			if !slices.Equal(ev.References, tt.refs) {
				t.Errorf("References: got %q, want %q", ev.References, tt.refs)
			}
		})
	}
}

func TestParseExampleExact(t *testing.T) {
	ev, err := Parse(readExample(t))
	if err != nil {
		t.Fatal(err)
	}
	// Exact, not merely equal in value: no float64 on the way.
	if got, want := ev.Amount.String(), "37323.25"; got != want {
		t.Errorf("Amount: got %s, want %s", got, want)
	}
	if got, want := ev.Webhook.Transaction.ValueCOP.String(), "37323.25"; got != want {
		t.Errorf("ValueCOP: got %s, want %s", got, want)
	}
	if got, want := ev.PaymentMethod, "credit"; got != want {
		t.Errorf("PaymentMethod: got %q, want %q", got, want)
	}
	if got, want := string(ev.Webhook.Transaction.TrazabilityID), "107"; got != want {
		t.Errorf("TrazabilityID: got %q, want %q", got, want)
	}
	if got, want := ev.Webhook.Transaction.CurrencyRateConversion.USDToCOP.String(), "0.000244"; got != want {
		t.Errorf("USDToCOP: got %s, want %s", got, want)
	}
	if len(ev.Webhook.Checkout) == 0 {
		t.Errorf("Checkout: got empty, want the raw checkout object")
	}
}

func TestParseUnparseable(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"not JSON", "transaction_id=107&status=Aprobada"},
		{"truncated", `{"transaction":{"transaction_id":107,"status":"Aprobada"`},
		{"null", "null"},
		{"array", `[{"transaction":{"transaction_id":107,"status":"Aprobada"}}]`},
		{"string", `"Aprobada"`},
		{"missing transaction", `{"checkout":{}}`},
		{"transaction null", `{"transaction":null}`},
		{"transaction is an array", `{"transaction":[]}`},
		{"transaction is a string", `{"transaction":"107"}`},
		{"missing status", `{"transaction":{"transaction_id":107}}`},
		{"blank status", `{"transaction":{"transaction_id":107,"status":"  "}}`},
		{"missing transaction_id", `{"transaction":{"status":"Aprobada"}}`},
		{"null transaction_id", `{"transaction":{"transaction_id":null,"status":"Aprobada"}}`},
		{"transaction_id is an object", `{"transaction":{"transaction_id":{},"status":"Aprobada"}}`},
		{"amount not a number", `{"transaction":{"transaction_id":1,"status":"Aprobada","amount":"12,5"}}`},
		{"amount null", `{"transaction":{"transaction_id":1,"status":"Aprobada","amount":null}}`},
		{"status not a string", `{"transaction":{"transaction_id":1,"status":1}}`},
		{"NUL in transaction_id", `{"transaction":{"transaction_id":"1\u0000","status":"Aprobada"}}`},
		{"NUL in status", `{"transaction":{"transaction_id":1,"status":"Aprobada\u0000"}}`},
		{"NUL in currency_type", `{"transaction":{"transaction_id":1,"status":"Aprobada","currency_type":"C\u0000OP"}}`},
		{"NUL in payment_method", `{"transaction":{"transaction_id":1,"status":"Aprobada","payment_method":"\u0000"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse([]byte(tt.body))
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("got %v, want ErrUnparseable", err)
			}
			if ev != nil {
				t.Fatalf("got event %+v, want nil", ev)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	for _, name := range []string{"webhook-fallback.json", "webhook-ref-payment.json", "webhook-cobra-plus.json", "webhook-php-escaped.json"} {
		b, err := os.ReadFile("../testdata/efipay/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "null", "[]", "{}", `{"transaction":{}}`, `{"transaction":[]}`,
		`{"transaction":{"transaction_id":"1","status":"Aprobada"},"ref_payment":[["x"],{"ref_payment":1}]}`,
		`{"transaction":{"transaction_id":1e400,"status":"x","amount":"1e400"}}`,
		`{"ref_payment":`, `{"a":[}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if json.Valid(body) {
			got, want := collect(refPayments, body), collect(tokenRefPayments, body)
			if !slices.Equal(got, want) {
				t.Fatalf("ref_payment values: got %q, want %q", got, want)
			}
		}
		ev, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrUnparseable) {
				t.Fatalf("got %v, want ErrUnparseable", err)
			}
			return
		}
		if ev.TransactionID == "" || strings.TrimSpace(ev.Status) == "" {
			t.Fatalf("got id %q status %q, want both non-blank", ev.TransactionID, ev.Status)
		}
		switch ev.Outcome {
		case OutcomeApproved, OutcomeInProgress, OutcomeReversed, OutcomeFailed:
		default:
			t.Fatalf("got outcome %q, want one of the four", ev.Outcome)
		}
		if len(ev.References) > MaxReferences {
			t.Fatalf("got %d references, want at most %d", len(ev.References), MaxReferences)
		}
		seen := map[string]bool{}
		for _, r := range ev.References {
			if r == "" || r != strings.TrimSpace(r) || seen[r] || !utf8.ValidString(r) || strings.ContainsFunc(r, unicode.IsControl) {
				t.Fatalf("got references %q, want trimmed, non-empty, unique", ev.References)
			}
			seen[r] = true
		}
	})
}

func BenchmarkParse(b *testing.B) {
	body := readExample(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

// tokenRefPayments is the plain json.Decoder.Token version of refPayments,
// kept as an oracle for FuzzParse.
func tokenRefPayments(body []byte, add func(any)) {
	type frame struct {
		object  bool   // an object, else an array
		wantKey bool   // the next token of this object is a key
		key     string // the key of the current member, or of the array itself
	}
	const refKey = "ref_payment"
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return // io.EOF or a syntax error: what was found so far stands
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object && top.wantKey {
			top.key, _ = tok.(string)
			top.wantKey = false
			continue
		}
		// tok starts a value, a member of top (if any).
		key := ""
		if top != nil {
			key = top.key
			if top.object {
				top.wantKey = true
			}
		}
		switch d := tok.(type) {
		case json.Delim:
			f := frame{object: d == '{', wantKey: d == '{'}
			if d == '[' && top != nil && top.object {
				f.key = key // elements of "ref_payment": [...] are refs too
			}
			stack = append(stack, f)
		default:
			if key == refKey {
				add(tok)
			}
		}
	}
}

// collect returns what walk passes to add, as text.
func collect(walk func([]byte, func(any)), body []byte) []string {
	var out []string
	walk(body, func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, "s:"+v)
		case json.Number:
			out = append(out, "n:"+string(v))
		}
	})
	return out
}

func TestRefPaymentsMatchesDecoder(t *testing.T) {
	bodies := []string{
		`{"ref_payment":"a","x":{"ref_payment":["b",2,[3],{"ref_payment":"c"}],"y":[{"ref_payment":-1.5e2}]}}`,
		`{"ref\u005fpayment":"escaped key","ref_payment":"esc\"aped \u00e9 value"}`,
		`{"a":"ref_payment","b":["ref_payment","x"],"ref_payment":null,"c":{"ref_payment":true}}`,
		`{"ref_payment":{"ref_payment":{"ref_payment":"deep"}}}`,
		`[{"ref_payment":"in array"}]`,
		`"ref_payment"`,
		`{}`,
	}
	for _, name := range []string{"webhook-example.json", "webhook-fallback.json", "webhook-ref-payment.json"} {
		b, err := os.ReadFile("../testdata/efipay/" + name)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	for _, body := range bodies {
		t.Run(body[:min(len(body), 40)], func(t *testing.T) {
			b := []byte(body)
			if !json.Valid(b) {
				t.Fatalf("test body is not valid JSON")
			}
			got, want := collect(refPayments, b), collect(tokenRefPayments, b)
			if !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
	got := collect(refPayments, []byte(bodies[0]))
	want := []string{"s:a", "s:b", "n:2", "s:c", "n:-1.5e2"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestParseCapsReferences(t *testing.T) {
	// 40,000 distinct references: more than SQLite's 32,766 variables.
	var b strings.Builder
	b.WriteString(`{"transaction":{"transaction_id":9,"status":"Aprobada"},"checkout":{"payment_gateway":{"advanced_option":{"references":[`)
	for i := range 40000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"R%d"`, i)
	}
	b.WriteString(`]}}}}`)
	ev, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if got, want := len(ev.References), MaxReferences; got != want {
		t.Fatalf("got %d references, want %d", got, want)
	}
	if got, want := ev.References[MaxReferences-1], fmt.Sprintf("R%d", MaxReferences-1); got != want {
		t.Fatalf("last reference: got %q, want %q (the first ones, in order)", got, want)
	}
}

func TestParseCobraPlusForms(t *testing.T) {
	for _, name := range []string{"webhook-cobra-plus.json", "webhook-php-escaped.json"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile("../testdata/efipay/" + name)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := Parse(body)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			tr := ev.Webhook.Transaction
			for _, c := range []struct{ field, got, want string }{
				{"installments", string(tr.TransactionDetails.Installments), "1"},
				{"country", string(tr.TransactionDetails.Country), "+57"},
				{"created_at", tr.CreatedAt, "2024-03-14 11:23:08"},
				{"currency_rate_conversion.created_at", tr.CurrencyRateConversion.CreatedAt, "2023-10-27T13:20:07.000000Z"},
				{"currency_rate_conversion.updated_at", tr.CurrencyRateConversion.UpdatedAt, "2024-03-14T12:00:02.000000Z"},
				{"url_response", tr.URLResponse, "https://sag.efipay.co/Checkout/Transaction/9b902174-7189-4f5a-a035-6b68f97b695a/Response"},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
				}
			}
			// The same example's approved_at is 16:23:08.79Z: its zone-less
			// created_at is Bogota's wall clock.
			if got, want := parseTime(tr.CreatedAt), time.Date(2024, 3, 14, 16, 23, 8, 0, time.UTC); !got.Equal(want) {
				t.Errorf("created_at read: got %v, want %v", got, want)
			}
		})
	}
}

func TestParseTimeWithoutZoneIsBogota(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"2026-12-06 23:30:00", "2026-12-07T04:30:00Z"},
		{"2026-12-06T23:30:00", "2026-12-07T04:30:00Z"},
		{"2026-12-06T23:30:00Z", "2026-12-06T23:30:00Z"},
		{"2026-12-06 23:30:00-05:00", "2026-12-07T04:30:00Z"},
		{"2026-12-06T23:30:00.5+00:00", "2026-12-06T23:30:00.5Z"},
	} {
		t.Run(c.in, func(t *testing.T) {
			want, _ := time.Parse(time.RFC3339Nano, c.want)
			got := parseTime(c.in)
			if !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("got %v, want %v in UTC", got, want)
			}
		})
	}
}
