package config

import "strings"

// Asobancaria are the merchant's settings of the Asobancaria 2001
// collection file the payments report exports. All are optional: without
// them that one format is refused, naming what is missing.
type Asobancaria struct {
	NIT           string // ASOBANCARIA_NIT: the collecting company's NIT, up to 10 digits, no check digit
	BankCode      string // ASOBANCARIA_BANK_CODE: the bank's code, 3 digits
	Account       string // ASOBANCARIA_ACCOUNT: the account credited, up to 17 characters
	AccountType   string // ASOBANCARIA_ACCOUNT_TYPE: the account type's code, 2 digits
	ServiceCode   string // ASOBANCARIA_SERVICE_CODE: the service collected (EAN-13 or NIT), up to 13 digits
	PaymentOrigin string // ASOBANCARIA_PAYMENT_ORIGIN: "procedencia de pago" code, 2 digits
	PaymentMeans  string // ASOBANCARIA_PAYMENT_MEANS: "medio de pago" code, 2 digits
}

// asobancaria reads the settings; a value given must have its form.
func (r *reader) asobancaria(c *Config) {
	field := func(key string, max int, digits bool) string {
		v := strings.TrimSpace(r.str(key, ""))
		if v == "" {
			return ""
		}
		if len(v) > max || (digits && strings.Trim(v, "0123456789") != "") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			kind := "characters"
			if digits {
				kind = "digits"
			}
			r.fail(key, "must be at most %d %s, got %q", max, kind, v)
		}
		return v
	}
	c.Asobancaria = Asobancaria{
		NIT:           field("ASOBANCARIA_NIT", 10, true),
		BankCode:      field("ASOBANCARIA_BANK_CODE", 3, true),
		Account:       field("ASOBANCARIA_ACCOUNT", 17, false),
		AccountType:   field("ASOBANCARIA_ACCOUNT_TYPE", 2, true),
		ServiceCode:   field("ASOBANCARIA_SERVICE_CODE", 13, true),
		PaymentOrigin: field("ASOBANCARIA_PAYMENT_ORIGIN", 2, true),
		PaymentMeans:  field("ASOBANCARIA_PAYMENT_MEANS", 2, true),
	}
}
