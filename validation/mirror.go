package validation

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"recauda-bridge/models"
)

// The mirror structs below carry the validate tags, so the wire types in
// models keep only their JSON shape. Their json tags name the fields in
// violations. A mirror is filled from a models.Payment without copying any
// string and reused through a sync.Pool; what remains per call is the
// validator boxing each field it visits.

type payment struct {
	RecaudaInformation recaudaInformation `json:"recauda_information"`
	AdvancedOptions    *advancedOptions   `json:"advanced_options"`

	// today is the day in America/Bogota this validation runs on.
	today date

	// Storage the pointers above point into; unexported, so the validator
	// does not walk it.
	advance  advance
	options  advancedOptions
	results  resultURLs
	delivery deliveryService
	discount discount
	numbers  [4]number // amount, advance, delivery and discount values
}

type recaudaInformation struct {
	Description  string          `json:"description" validate:"required,min=4,max=191,control_characters"`
	Amount       numberRef       `json:"amount" validate:"positive,decimal_places=2,integer_digits=10,amount_min_length=4"`
	CurrencyType string          `json:"currency_type" validate:"required,oneof=COP USD EUR"`
	IDNumber     string          `json:"id_number" validate:"required,digits,min=5,max=20"`
	PayerName    string          `json:"payer_name" validate:"required,min=5,max=191,control_characters"`
	RefPayment   string          `json:"ref_payment" validate:"required,not_blank,max=191,trimmed,control_characters_id"`
	Advance      *advance        `json:"advance"`
	Metadata     json.RawMessage `json:"metadata" validate:"json_object_or_array"`
}

type advance struct {
	Type  string    `json:"type" validate:"required,oneof='Valor Minimo' 'Porcentaje Minimo'"`
	Value numberRef `json:"value" validate:"positive,decimal_places=2"`
}

type advancedOptions struct {
	Picture   string `json:"picture" validate:"omitempty,max=250,absolute_url"`
	LimitDate string `json:"limit_date" validate:"omitempty,date,not_before_today"`
	// The items are checked by crossField: validator's dive allocates two
	// names per item on every call.
	References      []string         `json:"references" validate:"omitempty,max=3"`
	ResultURLs      *resultURLs      `json:"result_urls"`
	DeliveryService *deliveryService `json:"delivery_service"`
	Discount        *discount        `json:"discount"`
	HasComments     *bool            `json:"has_comments" validate:"required"`
	CommentsLabel   string           `json:"comments_label" validate:"omitempty,max=100,control_characters"`
}

type resultURLs struct {
	Webhook string `json:"webhook" validate:"required,absolute_url"`
}

type deliveryService struct {
	Type  string    `json:"type" validate:"required,oneof=Gratis 'Con Valor'"`
	Value numberRef `json:"value" validate:"decimal_places=2,integer_digits=10"`
}

type discount struct {
	BeforeOn string    `json:"before_on" validate:"required,date,not_before_today"`
	Type     string    `json:"type" validate:"required,oneof=Porcentaje Valor"`
	Value    numberRef `json:"value" validate:"positive,decimal_places=2"`
}

// Limits of advanced_options.references (maxReferences is also the max=3 tag).
const (
	maxReferences      = 3
	maxReferenceLength = 50
)

// fill copies p into m (strings are shared, not copied).
func (m *payment) fill(p *models.Payment, today date) {
	m.today = today
	ri := &p.RecaudaInformation
	m.RecaudaInformation = recaudaInformation{
		Description:  ri.Description,
		Amount:       m.number(0, &ri.Amount),
		CurrencyType: ri.CurrencyType,
		IDNumber:     ri.IDNumber,
		PayerName:    ri.PayerName,
		RefPayment:   ri.RefPayment,
		Metadata:     ri.Metadata,
	}
	if a := ri.Advance; a != nil {
		m.advance = advance{Type: a.Type, Value: m.number(1, &a.Value)}
		m.RecaudaInformation.Advance = &m.advance
	}

	ao := p.AdvancedOptions
	if ao == nil {
		m.AdvancedOptions = nil
		return
	}
	m.options = advancedOptions{
		Picture:       ao.Picture,
		LimitDate:     ao.LimitDate,
		References:    ao.References,
		HasComments:   ao.HasComments,
		CommentsLabel: ao.CommentsLabel,
	}
	m.AdvancedOptions = &m.options
	if r := ao.ResultURLs; r != nil {
		m.results = resultURLs{Webhook: r.Webhook}
		m.options.ResultURLs = &m.results
	}
	if ds := ao.DeliveryService; ds != nil {
		m.delivery = deliveryService{Type: ds.Type, Value: m.number(2, ds.Value)}
		m.options.DeliveryService = &m.delivery
	}
	if d := ao.Discount; d != nil {
		m.discount = discount{BeforeOn: d.BeforeOn, Type: d.Type, Value: m.number(3, &d.Value)}
		m.options.Discount = &m.discount
	}
}

// number stores the facts of v (nil: absent) in slot i and returns a handle.
func (m *payment) number(i int, v *models.Money) numberRef {
	if v == nil {
		m.numbers[i] = number{}
	} else {
		m.numbers[i] = newNumber(v.Decimal)
	}
	return numberRef{&m.numbers[i]}
}

// crossField checks the rules that compare two fields. It runs after the
// field rules, and compares only fields that passed their own rules.
func crossField(sl validator.StructLevel) {
	m := sl.Current().Addr().Interface().(*payment)
	ri := &m.RecaudaInformation
	amount := ri.Amount.n
	amountOK := amount.moneyOK() && amount.intDigits <= 10 && amount.strLen >= 4

	if a := ri.Advance; a != nil && a.Value.n.moneyOK() {
		checkShare(sl, "recauda_information.advance.value", a.Value, amount, amountOK,
			a.Type == models.AdvanceMinimumPercent, a.Type == models.AdvanceMinimumValue)
	}

	ao := m.AdvancedOptions
	if ao == nil {
		return
	}
	if len(ao.References) <= maxReferences { // else reported as max_items
		for i, ref := range ao.References {
			field := "advanced_options.references[" + strconv.Itoa(i) + "]"
			switch {
			case ref == "":
				sl.ReportError(ref, field, field, "required", "")
			case utf8.RuneCountInString(ref) > maxReferenceLength:
				sl.ReportError(ref, field, field, "max", strconv.Itoa(maxReferenceLength))
			case !plainText(ref) || strings.ContainsFunc(ref, isBidiControl):
				sl.ReportError(ref, field, field, "control_characters_id", "")
			}
		}
	}
	if ds := ao.DeliveryService; ds != nil && ds.Value.n.places <= 2 && ds.Value.n.intDigits <= 10 {
		const field = "advanced_options.delivery_service.value"
		v := ds.Value.n
		switch ds.Type {
		case models.DeliveryPaid:
			switch {
			case !v.present:
				sl.ReportError(nil, field, field, "required", "")
			case v.sign <= 0:
				sl.ReportError(ds.Value, field, field, "positive", "")
			}
		case models.DeliveryFree:
			if v.present && v.sign != 0 {
				sl.ReportError(ds.Value, field, field, "zero_or_absent", "")
			}
		}
	}
	if d := ao.Discount; d != nil {
		if d.Value.n.moneyOK() {
			checkShare(sl, "advanced_options.discount.value", d.Value, amount, amountOK,
				d.Type == models.DiscountPercent, d.Type == models.DiscountValue)
		}
		before, ok := parseDate(d.BeforeOn)
		if ok && before >= m.today {
			if limit, ok := parseDate(ao.LimitDate); ok && before > limit {
				const field = "advanced_options.discount.before_on"
				sl.ReportError(d.BeforeOn, field, field, "not_after_limit_date", ao.LimitDate)
			}
		}
	}
}

// checkShare checks an advance or a discount value: a percentage must stay
// under 100, an amount under the item's amount.
func checkShare(sl validator.StructLevel, field string, v numberRef, amount *number, amountOK, percent, value bool) {
	switch {
	case percent:
		// A positive number with at most 2 integer digits is below 100.
		if v.n.intDigits > 2 {
			sl.ReportError(v, field, field, "below_100", "100")
		}
	case value:
		if amountOK && !less(v.n, amount) {
			sl.ReportError(v, field, field, "below_amount", amount.text())
		}
	}
}
