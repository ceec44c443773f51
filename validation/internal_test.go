package validation

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestNumberMatchesString checks the facts computed from coefficient and
// exponent against decimal.String(), the form the rules are written for.
func TestNumberMatchesString(t *testing.T) {
	inputs := []string{
		"0", "0.00", "-0", "1", "-1", "9.5", "10.5", "10.50", "999", "1000", "1e3", "1E3", "10e-1",
		"0.01", "0.1", "0.001", "-0.5", "12.345", "12.3450", "9999999999.99", "10000000000",
		"123456789012345678901234567890", "1234567890123456789.000000000000000000001",
		"100000000000000000000000000000e-28", "5000", "20000", "20000.00",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		digits := r.IntN(30) + 1
		var b strings.Builder
		if r.IntN(4) == 0 {
			b.WriteByte('-')
		}
		for i := range digits {
			if i == 0 {
				b.WriteByte(byte('1' + r.IntN(9)))
			} else if r.IntN(3) == 0 {
				b.WriteByte('0')
			} else {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		b.WriteString("e" + strconv.Itoa(r.IntN(40)-20))
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		d := decimal.RequireFromString(in)
		s := d.String()
		n := newNumber(d)
		intPart, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
		if got, want := n.strLen, int64(len(s)); got != want {
			t.Errorf("%s (%s): strLen got %d, want %d", in, s, got, want)
		}
		if got, want := n.places, int64(len(frac)); got != want {
			t.Errorf("%s (%s): places got %d, want %d", in, s, got, want)
		}
		if got, want := n.intDigits, int64(len(intPart)); got != want {
			t.Errorf("%s (%s): intDigits got %d, want %d", in, s, got, want)
		}
	}
}

func TestLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"5000", "20000", true},
		{"19999.99", "20000", true},
		{"20000", "20000.00", false},
		{"20000.01", "20000", false},
		{"0.5", "0.7", true},
		{"0.7", "0.5", false},
		{"9.99", "10", true},
		{"1e10000", "20000", false},
		{"20000", "1e10000", true},
		{"1e10000", "2e10000", true},
		{"1e-10000", "20000", true},
	}
	for _, tc := range tests {
		t.Run(tc.a+"<"+tc.b, func(t *testing.T) {
			a, b := newNumber(decimal.RequireFromString(tc.a)), newNumber(decimal.RequireFromString(tc.b))
			if got := less(&a, &b); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHugeExponents must finish at once: decimal.String() or Cmp on these
// would build billion-digit numbers.
func TestHugeExponents(t *testing.T) {
	big := newNumber(decimal.New(1, 999999999))
	if big.intDigits != 1000000000 || big.places != 0 || big.text() != "" {
		t.Errorf("1e999999999: got %+v, want 10^9 integer digits and no text", big)
	}
	tiny := newNumber(decimal.New(1, -999999999))
	if tiny.places != 999999999 || tiny.intDigits != 1 || tiny.text() != "" {
		t.Errorf("1e-999999999: got %+v, want 999999999 places and no text", tiny)
	}
	amount := newNumber(decimal.RequireFromString("20000"))
	if less(&big, &amount) || !less(&amount, &big) {
		t.Errorf("got 1e999999999 < 20000, want the opposite")
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want date
		ok   bool
	}{
		{"2025-03-01", 20250301, true},
		{"2024-02-29", 20240229, true},
		{"2000-02-29", 20000229, true},
		{"1900-02-29", 0, false},
		{"2025-02-29", 0, false},
		{"2025-02-28", 20250228, true},
		{"2025-02-30", 0, false},
		{"2025-04-30", 20250430, true},
		{"2025-04-31", 0, false},
		{"2025-12-31", 20251231, true},
		{"2025-12-32", 0, false},
		{"2025-00-10", 0, false},
		{"2025-13-10", 0, false},
		{"2025-01-00", 0, false},
		{"2025-3-01", 0, false},
		{"2025-03-1", 0, false},
		{"25-03-01", 0, false},
		{"2025/03/01", 0, false},
		{"20250301", 0, false},
		{"2025-03-01 ", 0, false},
		{"2025-03-01T00:00:00Z", 0, false},
		{"+025-03-01", 0, false},
		{"2025-0a-01", 0, false},
		{"２０２５-03-01", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseDate(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %d %v, want %d %v", got, ok, tc.want, tc.ok)
			}
			if ok && got.String() != tc.in {
				t.Errorf("String: got %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestOneOfList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"COP USD EUR", `"COP", "USD", "EUR"`},
		{"'Valor Minimo' 'Porcentaje Minimo'", `"Valor Minimo", "Porcentaje Minimo"`},
		{"Gratis 'Con Valor'", `"Gratis", "Con Valor"`},
	}
	for _, tc := range tests {
		if got := oneOfList(tc.in); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
}
