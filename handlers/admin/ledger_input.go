package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"recauda-bridge/erp"
	"recauda-bridge/handlers/httperr"
)

// The ledger's request bodies: strict JSON (an unknown field is a 400 that
// names it), merge patches (RFC 7396) and the charge they describe.

// invalidBody is the 400 answer for a body that is not the JSON expected.
func invalidBody(field, rule, message string) *httperr.Error {
	return &httperr.Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "invalid body: " + field + " " + message,
		Details: []httperr.Detail{{Field: field, Rule: rule, Message: message}}}
}

// decodeJSON reads one JSON value, numbers kept exact.
func decodeJSON(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// decodeStrict reads body into in, refusing unknown fields and wrong types
// with a 400 that names the field.
func decodeStrict(body []byte, in *ledgerInput) error {
	if field := unknownField(body, reflect.TypeFor[ledgerInput](), ""); field != "" {
		return invalidBody(field, "unknown", "is not a field of a ledger charge")
	}
	err := decodeJSON(body, in)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return invalidBody(te.Field, "type", "has the wrong JSON type ("+te.Value+")")
	default:
		return invalidBody("body", "json", "must be a JSON object with the charge's fields: "+err.Error())
	}
}

// unknownField returns the path of the first key of the JSON object body
// that typ (a struct) has no field for, looking into nested objects; "" when
// there is none or body is not an object (decoding then says why).
func unknownField(body []byte, typ reflect.Type, path string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		f, ok := fieldByJSONName(typ, key)
		if !ok {
			return path + key
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			if bad := unknownField(obj[key], ft, path+key+"."); bad != "" {
				return bad
			}
		}
	}
	return ""
}

func fieldByJSONName(typ reflect.Type, name string) (reflect.StructField, bool) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// applyMergePatch applies patch to in's JSON form and reads the result back
// as a charge.
func applyMergePatch(in ledgerInput, patch map[string]any) (erp.Charge, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return erp.Charge{}, err
	}
	var doc any
	if err := decodeJSON(b, &doc); err != nil {
		return erp.Charge{}, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return erp.Charge{}, err
	}
	var out ledgerInput
	if err := decodeStrict(merged, &out); err != nil {
		return erp.Charge{}, err
	}
	return out.charge(), nil
}

// mergePatch is RFC 7396: objects merge key by key, null removes a key,
// anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergePatch(t[k], v)
		}
	}
	return t
}

// decimalText is a decimal as the body gives it: a JSON string (the admin
// API's convention) or a number. It is parsed by charge(), so that a value
// that is not a decimal is reported with the other rules.
type decimalText string

func (d *decimalText) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else if string(b) != "null" {
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		s = n.String()
	}
	*d = decimalText(s)
	return nil
}

// ledgerInput is the content of a ledger charge as the admin API takes it
// (POST body; the document a PATCH merges into).
type ledgerInput struct {
	RefPayment             string            `json:"ref_payment"`
	IDNumber               string            `json:"id_number"`
	PayerName              string            `json:"payer_name"`
	Description            string            `json:"description"`
	Amount                 decimalText       `json:"amount"`
	CurrencyType           string            `json:"currency_type"`
	LimitDate              string            `json:"limit_date,omitempty"`
	Advance                *ledgerAdvanceIn  `json:"advance,omitempty"`
	References             []string          `json:"references,omitempty"`
	Picture                string            `json:"picture,omitempty"`
	HasComments            bool              `json:"has_comments"`
	CommentsLabel          string            `json:"comments_label,omitempty"`
	Discount               *ledgerDiscountIn `json:"discount,omitempty"`
	Delivery               *ledgerDeliveryIn `json:"delivery,omitempty"`
	RequestAddressDelivery *bool             `json:"request_address_delivery,omitempty"`
	SelectedTaxes          []int64           `json:"selected_taxes,omitempty"`
	Metadata               json.RawMessage   `json:"metadata,omitempty"`
}

type ledgerAdvanceIn struct {
	Type  string      `json:"type"`
	Value decimalText `json:"value"`
}

type ledgerDiscountIn struct {
	Type     string      `json:"type"`
	Value    decimalText `json:"value"`
	BeforeOn string      `json:"before_on"`
}

type ledgerDeliveryIn struct {
	Type  string      `json:"type"`
	Value decimalText `json:"value,omitempty"`
}

// charge converts in to the domain. A decimal that cannot be read becomes a
// Defect at its Efipay field path, reported as a violation.
func (in ledgerInput) charge() erp.Charge {
	c := erp.Charge{
		RefPayment: in.RefPayment, IDNumber: in.IDNumber, PayerName: in.PayerName, Description: in.Description,
		Currency: in.CurrencyType, LimitDate: in.LimitDate, References: in.References, Picture: in.Picture,
		HasComments: in.HasComments, CommentsLabel: in.CommentsLabel, RequestAddressDelivery: in.RequestAddressDelivery,
		SelectedTaxes: in.SelectedTaxes,
	}
	if m := bytes.TrimSpace(in.Metadata); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		c.Metadata = m
	}
	num := func(t decimalText, field string, required bool) decimal.Decimal {
		if t == "" && !required {
			return decimal.Zero
		}
		d, err := decimal.NewFromString(string(t))
		if err != nil {
			msg := "must be a decimal such as \"150000.50\""
			if t == "" {
				msg = "is required"
			}
			c.Defects = append(c.Defects, erp.Defect{Field: field, Message: msg})
		}
		return d
	}
	c.Amount = num(in.Amount, "recauda_information.amount", true)
	if a := in.Advance; a != nil {
		c.Advance = &erp.Advance{Type: a.Type, Value: num(a.Value, "recauda_information.advance.value", true)}
	}
	if d := in.Discount; d != nil {
		c.Discount = &erp.Discount{Type: d.Type, BeforeOn: d.BeforeOn, Value: num(d.Value, "advanced_options.discount.value", true)}
	}
	if d := in.Delivery; d != nil {
		c.Delivery = &erp.Delivery{Type: d.Type, Value: num(d.Value, "advanced_options.delivery_service.value", false)}
	}
	return c
}

// ledgerInputFrom is c as the document a PATCH merges into.
func ledgerInputFrom(c erp.Charge) ledgerInput {
	in := ledgerInput{
		RefPayment: c.RefPayment, IDNumber: c.IDNumber, PayerName: c.PayerName, Description: c.Description,
		Amount: decimalText(c.Amount.String()), CurrencyType: c.Currency, LimitDate: c.LimitDate,
		References: c.References, Picture: c.Picture, HasComments: c.HasComments, CommentsLabel: c.CommentsLabel,
		RequestAddressDelivery: c.RequestAddressDelivery, SelectedTaxes: c.SelectedTaxes, Metadata: c.Metadata,
	}
	if a := c.Advance; a != nil {
		in.Advance = &ledgerAdvanceIn{Type: a.Type, Value: decimalText(a.Value.String())}
	}
	if d := c.Discount; d != nil {
		in.Discount = &ledgerDiscountIn{Type: d.Type, BeforeOn: d.BeforeOn, Value: decimalText(d.Value.String())}
	}
	if d := c.Delivery; d != nil {
		in.Delivery = &ledgerDeliveryIn{Type: d.Type, Value: decimalText(d.Value.String())}
	}
	return in
}
