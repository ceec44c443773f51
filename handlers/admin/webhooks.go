package admin

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
)

// listWebhooks answers GET /admin/api/webhooks.
func (h *adminHandler) listWebhooks(c echo.Context) error {
	p := newParams(c, "outcome", "page", "per_page", "format")
	f := recauda.WebhookEventFilter{Outcome: p.oneOf("outcome", models.WebhookOutcomes)}
	f.Page, f.PerPage = p.pagination()
	format := listFormat(p)
	if err := p.err(); err != nil {
		return err
	}
	if format == "csv" {
		return writeListCSV(c, "webhooks", func(ctx context.Context, page, perPage int) ([]models.WebhookEvent, int64, error) {
			f.Page, f.PerPage = page, perPage
			return h.svc.WebhookEvents(ctx, f)
		}, webhookFrom)
	}
	rows, total, err := h.svc.WebhookEvents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPage(rows, webhookFrom, f.Page, f.PerPage, total))
}

// getWebhook answers GET /admin/api/webhooks/{id}, with the raw body.
func (h *adminHandler) getWebhook(c echo.Context) error {
	id, err := request.ID(c)
	if err != nil {
		return err
	}
	ev, err := h.svc.WebhookEvent(c.Request().Context(), id)
	if err != nil {
		return err
	}
	dto := webhookFrom(ev)
	dto.Body = &ev.Body
	if ev.BodyRaw != nil {
		raw := base64.StdEncoding.EncodeToString(ev.BodyRaw)
		dto.BodyBase64 = &raw
	}
	return c.JSON(http.StatusOK, dto)
}
