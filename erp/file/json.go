package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// parseJSON reads a file in Efipay's own shape, {"payments":[...]}. Only a
// problem with the whole (not JSON, no payments array) is an error; a broken
// item becomes a Charge with Defects, or is skipped when it has no readable
// id_number or ref_payment.
func parseJSON(data []byte) (*dataset, error) {
	data = bytes.TrimPrefix(data, bom)
	var top struct {
		Payments *[]json.RawMessage `json:"payments"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf(`not a JSON object {"payments":[...]}: %w`, err)
	}
	if top.Payments == nil {
		return nil, errors.New(`no "payments" array at the top level`)
	}
	var (
		records []record
		skipped []string
	)
	for i, raw := range *top.Payments {
		where := fmt.Sprintf("item %d", i+1)
		c, err := decodeItem(raw, where)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s skipped: %v", where, err))
			continue
		}
		records = append(records, record{charge: c, where: where})
	}
	return newDataset(records, skipped), nil
}

// decodeItem reads one payments[] item field by field, so that one bad field
// is reported as a Defect while the rest is still read. It fails only when
// the item cannot be tied to a customer and a ref_payment.
func decodeItem(raw json.RawMessage, where string) (erp.Charge, error) {
	var item map[string]json.RawMessage
	if err := json.Unmarshal(raw, &item); err != nil || item == nil {
		return erp.Charge{}, fmt.Errorf("not a JSON object")
	}
	var riRaw map[string]json.RawMessage
	if err := json.Unmarshal(item["recauda_information"], &riRaw); err != nil || riRaw == nil {
		return erp.Charge{}, fmt.Errorf("recauda_information is missing or not an object")
	}
	id, err := readKey(riRaw["id_number"])
	if err != nil {
		return erp.Charge{}, fmt.Errorf("id_number %v", err)
	}
	ref, err := readKey(riRaw["ref_payment"])
	if err != nil {
		return erp.Charge{}, fmt.Errorf("ref_payment %v", err)
	}

	var defects []erp.Defect
	ri := object{m: riRaw, path: "recauda_information.", where: where, defects: &defects}
	var p models.Payment
	r := &p.RecaudaInformation
	r.IDNumber, r.RefPayment = id, ref
	ri.str("description", &r.Description)
	ri.str("payer_name", &r.PayerName)
	ri.str("currency_type", &r.CurrencyType)
	ri.money("amount", &r.Amount, true)
	ri.decode("selected_taxes", &r.SelectedTaxes, "must be an array of integer tax ids or null")
	if adv, ok := ri.sub("advance"); ok {
		r.Advance = &models.Advance{}
		adv.str("type", &r.Advance.Type)
		adv.money("value", &r.Advance.Value, true)
	}
	if m, ok := riRaw["metadata"]; ok {
		r.Metadata = m // valid JSON: it came out of the decoder
	}

	if ao, ok := (object{m: item, where: where, defects: &defects}).sub("advanced_options"); ok {
		o := &models.AdvancedOptions{}
		p.AdvancedOptions = o
		ao.str("picture", &o.Picture)
		ao.str("limit_date", &o.LimitDate)
		ao.str("comments_label", &o.CommentsLabel)
		ao.decode("references", &o.References, "must be an array of strings")
		ao.decode("has_comments", &o.HasComments, "must be true or false")
		ao.decode("request_address_delivery", &o.RequestAddressDelivery, "must be true or false")
		if ds, ok := ao.sub("delivery_service"); ok {
			o.DeliveryService = &models.DeliveryService{}
			ds.str("type", &o.DeliveryService.Type)
			var v models.Money
			if ds.money("value", &v, false) {
				o.DeliveryService.Value = &v
			}
		}
		if d, ok := ao.sub("discount"); ok {
			o.Discount = &models.Discount{}
			d.str("before_on", &o.Discount.BeforeOn)
			d.str("type", &o.Discount.Type)
			d.money("value", &o.Discount.Value, true)
		}
		// result_urls is not read: the bridge sends its own webhook URL.
	}

	c := erp.ChargeFromPayment(p)
	c.Defects = defects
	return c, nil
}

// object reads the fields of one JSON object and turns each field that cannot
// be read into a Defect at path+key.
type object struct {
	m       map[string]json.RawMessage
	path    string // "recauda_information." etc.
	where   string
	defects *[]erp.Defect
}

func (o object) defect(key, format string, args ...any) {
	*o.defects = append(*o.defects, erp.Defect{
		Field:   o.path + key,
		Message: o.where + ": " + fmt.Sprintf(format, args...),
	})
}

// decode unmarshals key into dst if present; JSON null leaves dst as it is.
func (o object) decode(key string, dst any, want string) bool {
	raw, ok := o.m[key]
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.defect(key, "%s, got %s", want, kind(raw, false))
		return false
	}
	return true
}

func (o object) str(key string, dst *string) {
	o.decode(key, dst, "must be a string")
}

// money reads a decimal. A missing or null one is a Defect when required,
// since a zero amount would otherwise look like a real one.
func (o object) money(key string, dst *models.Money, required bool) bool {
	raw, ok := o.m[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if required {
			o.defect(key, "missing")
		}
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.defect(key, "must be a decimal number, got %s", kind(raw, true))
		return false
	}
	return true
}

// sub returns the object at key; absent or null is (_, false), anything
// other than an object is a Defect.
func (o object) sub(key string) (object, bool) {
	raw, ok := o.m[key]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return object{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		o.defect(key, "must be an object or null, got %s", kind(raw, false))
		return object{}, false
	}
	return object{m: m, path: o.path + key + ".", where: o.where, defects: o.defects}, true
}

// kind describes a JSON value for a message: its type and, with value, the
// start of its text. Only amounts show their value: any other field might
// hold personal data (a cédula typed into payer_name), and Defects are shown
// and logged.
func kind(raw json.RawMessage, value bool) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	var k string
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		k = "string "
	case 't', 'f':
		k = "boolean "
	case 'n':
		return "null"
	default:
		k = "number "
	}
	if !value {
		return strings.TrimSpace(k)
	}
	if len(raw) > 32 {
		return k + string(raw[:32]) + "..."
	}
	return k + string(raw)
}
