package models

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// TestExamplePaymentsRoundTrip reads Efipay's own example answer and writes
// it back byte for byte: field names, order, numbers as numbers, nulls kept.
func TestExamplePaymentsRoundTrip(t *testing.T) {
	golden, err := os.ReadFile("../testdata/example-payments.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp PaymentsResponse
	if err := json.Unmarshal(golden, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Payments) != 3 {
		t.Fatalf("got %d payments, want 3", len(resp.Payments))
	}
	if got := resp.Payments[0].RecaudaInformation.Amount.String(); got != "20000" {
		t.Fatalf("amount = %s, want 20000", got)
	}
	out, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(out), bytes.TrimSpace(golden)) {
		t.Fatalf("round trip differs:\n--- got\n%s\n--- want\n%s", out, golden)
	}
}

func TestMoneyAcceptsNumbersAndStrings(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`20000`, "20000", true},
		{`"20000.50"`, "20000.5", true},
		{`37323.25`, "37323.25", true},
		{`1e3`, "1000", true},
		{`"abc"`, "", false},
		{`null`, "", false},
		{`true`, "", false},
	}
	for _, tc := range tests {
		var m Money
		err := json.Unmarshal([]byte(tc.in), &m)
		if (err == nil) != tc.ok {
			t.Fatalf("Unmarshal(%s) err = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if tc.ok && m.String() != tc.want {
			t.Fatalf("Unmarshal(%s) = %s, want %s", tc.in, m.String(), tc.want)
		}
	}
	b, _ := json.Marshal(MustMoney("150000.50"))
	if string(b) != "150000.5" {
		t.Fatalf("Marshal = %s, want the number 150000.5", b)
	}
}
