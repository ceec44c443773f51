package erp

import (
	"bytes"
	"encoding/json"
	"slices"

	"recauda-bridge/models"
)

// ChargeFromPayment converts an item in Efipay's own shape into a Charge.
//
// It is for adapters whose ERP already speaks Efipay's shape (erp/file's
// JSON format, the demo data set). It copies every slice and pointer, so the
// Charge shares no memory with p. A nil AdvancedOptions gives the zero values
// (no limit date, HasComments false); a nil HasComments is false. The
// webhook URL (advanced_options.result_urls) is dropped: the bridge sets its
// own when it answers Efipay. A JSON null metadata becomes nil. It never adds
// Defects: those are for fields the adapter could not read at all.
func ChargeFromPayment(p models.Payment) Charge {
	ri := p.RecaudaInformation
	c := Charge{
		RefPayment:    ri.RefPayment,
		IDNumber:      ri.IDNumber,
		PayerName:     ri.PayerName,
		Description:   ri.Description,
		Amount:        ri.Amount.Decimal,
		Currency:      ri.CurrencyType,
		SelectedTaxes: slices.Clone(ri.SelectedTaxes),
		Metadata:      cloneRaw(ri.Metadata),
	}
	if ri.Advance != nil {
		c.Advance = &Advance{Type: ri.Advance.Type, Value: ri.Advance.Value.Decimal}
	}

	ao := p.AdvancedOptions
	if ao == nil {
		return c
	}
	c.LimitDate = ao.LimitDate
	c.References = slices.Clone(ao.References)
	c.Picture = ao.Picture
	c.CommentsLabel = ao.CommentsLabel
	if ao.HasComments != nil {
		c.HasComments = *ao.HasComments
	}
	if ao.RequestAddressDelivery != nil {
		v := *ao.RequestAddressDelivery
		c.RequestAddressDelivery = &v
	}
	if ao.Discount != nil {
		c.Discount = &Discount{
			BeforeOn: ao.Discount.BeforeOn,
			Type:     ao.Discount.Type,
			Value:    ao.Discount.Value.Decimal,
		}
	}
	if ao.DeliveryService != nil {
		c.Delivery = &Delivery{Type: ao.DeliveryService.Type}
		if ao.DeliveryService.Value != nil {
			c.Delivery.Value = ao.DeliveryService.Value.Decimal
		}
	}
	return c
}

// cloneRaw copies m so that the Charge does not alias the decoder's buffer;
// an absent or null value becomes nil so that it is left out when sent.
func cloneRaw(m json.RawMessage) json.RawMessage {
	t := bytes.TrimSpace(m)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return bytes.Clone(t)
}
