package models

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"
)

// Money is an exact decimal amount that travels as a JSON number, the way
// Efipay's own example sends it (20000, not "20000"). It also accepts a
// quoted string, since Efipay documents amount as a string.
type Money struct {
	decimal.Decimal
}

// NewMoney wraps d.
func NewMoney(d decimal.Decimal) Money { return Money{Decimal: d} }

// MustMoney parses s or panics; for literals in tests and the demo data set.
func MustMoney(s string) Money { return Money{Decimal: decimal.RequireFromString(s)} }

// MarshalJSON writes the plain decimal as a JSON number.
func (m Money) MarshalJSON() ([]byte, error) {
	return []byte(m.Decimal.String()), nil
}

// UnmarshalJSON reads a JSON number or a quoted decimal string.
func (m *Money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return fmt.Errorf("amount is null")
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return fmt.Errorf("not a decimal number: %q", string(b))
	}
	m.Decimal = d
	return nil
}
