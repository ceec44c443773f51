package store

import "recauda-bridge/models"

// The rows the store reads, as the values it hands out (models/tracked.go).

func trackedCharge(r models.ChargeRow) models.TrackedCharge {
	return models.TrackedCharge{
		RefPayment: r.RefPayment, IDNumber: r.IDNumber, PayerName: r.PayerName, Description: r.Description,
		Amount: r.Amount, CurrencyType: r.CurrencyType, AdvanceAllowed: r.AdvanceAllowed, Status: r.Status,
		SendCount: r.SendCount, FirstSentAt: r.FirstSentAt, LastSentAt: r.LastSentAt, OfferAfter: r.OfferAfter,
		PaidAmount: r.PaidAmount, PaidAt: r.PaidAt, TransactionID: r.TransactionID, ParentRef: r.ParentRef,
		DueDate: r.DueDate, LimitDate: r.LimitDate, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

func trackedCharges(rows []models.ChargeRow) []models.TrackedCharge {
	out := make([]models.TrackedCharge, len(rows))
	for i, r := range rows {
		out[i] = trackedCharge(r)
	}
	return out
}

func chargeEvents(rows []models.ChargeEventRow) []models.ChargeEvent {
	out := make([]models.ChargeEvent, len(rows))
	for i, r := range rows {
		out[i] = models.ChargeEvent{Kind: r.Kind, FromStatus: r.FromStatus, ToStatus: r.ToStatus, Detail: r.Detail, CreatedAt: r.CreatedAt}
	}
	return out
}

func webhookEvent(r models.WebhookEventRow) models.WebhookEvent {
	return models.WebhookEvent{
		ID: r.ID, ReceivedAt: r.ReceivedAt, Body: r.Body, BodyRaw: r.BodyRaw, TransactionID: r.TransactionID,
		Status: r.Status, Amount: r.Amount, CurrencyType: r.CurrencyType, Production: r.Production,
		PaymentMethod: r.PaymentMethod, RefPayment: r.RefPayment, Matched: r.ChargeID != nil, Outcome: r.Outcome, Detail: r.Detail,
		ApprovedAt: r.ApprovedAt, StatusAfter: r.StatusAfter,
	}
}

func webhookEvents(rows []models.WebhookEventRow) []models.WebhookEvent {
	out := make([]models.WebhookEvent, len(rows))
	for i, r := range rows {
		out[i] = webhookEvent(r)
	}
	return out
}
