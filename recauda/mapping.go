package recauda

import (
	"slices"

	"recauda-bridge/erp"
	"recauda-bridge/models"
)

// maxReferences is Efipay's limit on advanced_options.references.
const maxReferences = 3

// PaymentFromCharge maps a domain charge to Efipay's item. The ref_payment
// joins the references when there is room, because that is where Efipay's
// webhooks echo a merchant's references; when the ERP already fills all
// three, its references are kept as they are and the webhook is matched by
// any ref_payment field it carries, or kept as unmatched for the operator.
// It reports whether the ref_payment made it into the references.
func PaymentFromCharge(c erp.Charge, webhookURL string) (models.Payment, bool) {
	info := models.RecaudaInformation{
		Description:   c.Description,
		Amount:        models.NewMoney(c.Amount),
		SelectedTaxes: c.SelectedTaxes,
		CurrencyType:  c.Currency,
		IDNumber:      c.IDNumber,
		PayerName:     c.PayerName,
		RefPayment:    c.RefPayment,
		Metadata:      c.Metadata,
	}
	if c.Advance != nil {
		info.Advance = &models.Advance{Type: c.Advance.Type, Value: models.NewMoney(c.Advance.Value)}
	}
	hasComments := c.HasComments
	opts := &models.AdvancedOptions{
		Picture:                c.Picture,
		LimitDate:              c.LimitDate,
		RequestAddressDelivery: c.RequestAddressDelivery,
		HasComments:            &hasComments,
		CommentsLabel:          c.CommentsLabel,
	}
	refs := slices.Clone(c.References)
	correlated := slices.Contains(refs, c.RefPayment)
	if !correlated && len(refs) < maxReferences && c.RefPayment != "" {
		refs = append(refs, c.RefPayment)
		correlated = true
	}
	opts.References = refs
	if webhookURL != "" {
		opts.ResultURLs = &models.ResultURLs{Webhook: webhookURL}
	}
	if c.Delivery != nil {
		d := &models.DeliveryService{Type: c.Delivery.Type}
		if !c.Delivery.Value.IsZero() || c.Delivery.Type == models.DeliveryPaid {
			v := models.NewMoney(c.Delivery.Value)
			d.Value = &v
		}
		opts.DeliveryService = d
	}
	if c.Discount != nil {
		opts.Discount = &models.Discount{BeforeOn: c.Discount.BeforeOn, Type: c.Discount.Type, Value: models.NewMoney(c.Discount.Value)}
	}
	return models.Payment{RecaudaInformation: info, AdvancedOptions: opts}, correlated
}
