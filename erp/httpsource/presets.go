package httpsource

// presets are ready-made settings for known ERPs, built from their public
// API documentation (not captured from live systems). Each is a function so
// that every Source gets its own maps.
//
// For both, the amount offered is the invoice's balance (what is still
// owed), never its total: a partly paid invoice must not be charged twice.
var presets = map[string]func() Config{
	"alegra": alegraPreset,
	"siigo":  siigoPreset,
}

// alegraPreset reads Alegra's GET /invoices, filtered by the client's
// identification and status open. The answer is an array of invoices, each
// with id, numberTemplate.fullNumber, dueDate, total, balance,
// client{name, identification} and currency{code}. Alegra authenticates with
// HTTP Basic: the user's e-mail and API token. Alegra pages at 30 invoices at
// most; a customer with more open invoices sees the 30 oldest due first.
//
// ref_payment is Alegra's invoice id, which is what Alegra's own payment API
// needs to record a payment; the printed number goes in the description and
// the references.
func alegraPreset() Config {
	return Config{
		URL:    "https://api.alegra.com/api/v1/invoices?client_identification={id_number}&status=open&order_field=dueDate&order_direction=ASC&limit=30",
		Method: "GET",
		Auth:   Auth{Type: AuthBasic},
		Filter: "balance>0",
		Mapping: map[string]string{
			FieldRefPayment:   "id",
			FieldIDNumber:     "client.identification || client.identificationObject.number",
			FieldPayerName:    "client.name",
			FieldAmount:       "balance",
			FieldCurrencyType: "currency.code",
			FieldLimitDate:    "dueDate",
			FieldReferences:   "[numberTemplate.fullNumber]",
		},
		Templates: map[string]string{
			FieldDescription: "Factura {numberTemplate.fullNumber || id}",
		},
		Defaults: map[string]string{
			FieldCurrencyType: "COP",
		},
	}
}

// siigoPreset reads Siigo Nube's GET /v1/invoices filtered by the customer's
// identification. The answer is {"pagination": {...}, "results": [...]},
// each invoice with id, name ("FV-1-22"), date, customer{identification},
// currency{code}, total, balance and payments[{due_date}]. Siigo's invoices
// carry no customer name, so the name comes from GET /v1/customers (whose
// name is a list: ["Ana", "Pérez"]). Siigo authenticates with a token from
// POST /auth ({"username", "access_key"} -> {"access_token", "expires_in"})
// and requires a Partner-Id header on every request, which the
// configuration must give. Siigo pages at 100 invoices at most.
//
// ref_payment is the invoice's name, which Siigo's receipts (recibos de
// caja) name the invoice they pay by.
func siigoPreset() Config {
	return Config{
		URL:       "https://api.siigo.com/v1/invoices?customer_identification={id_number}&page_size=100",
		Method:    "GET",
		ItemsPath: "results",
		Filter:    "balance>0",
		Auth: Auth{
			Type:          AuthLogin,
			LoginURL:      "https://api.siigo.com/auth",
			LoginBody:     `{"username":"{username}","access_key":"{password}"}`,
			TokenPath:     "access_token",
			ExpiresInPath: "expires_in",
		},
		PayerNameLookup: Lookup{
			URL:  "https://api.siigo.com/v1/customers?identification={id_number}",
			Path: "results.0.name",
		},
		Mapping: map[string]string{
			FieldRefPayment:   "name",
			FieldIDNumber:     "customer.identification",
			FieldAmount:       "balance",
			FieldCurrencyType: "currency.code",
			FieldLimitDate:    "payments.0.due_date || date",
		},
		Templates: map[string]string{
			FieldDescription: "Factura {name}",
		},
		Defaults: map[string]string{
			FieldCurrencyType: "COP",
		},
	}
}
