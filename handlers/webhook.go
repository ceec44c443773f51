package handlers

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"recauda-bridge/efipay"
	"recauda-bridge/handlers/httperr"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
)

// maxWebhookBody caps a webhook body; Efipay's are a few KiB.
const maxWebhookBody = 1 << 20

type webhookHandler struct {
	svc     *recauda.Service
	token   []byte
	log     *slog.Logger
	metrics *metrics.Metrics
}

// WebhookAnswer is what Efipay gets once a webhook is stored.
type WebhookAnswer struct {
	Received bool   `json:"received"`
	EventID  int64  `json:"event_id"`
	Outcome  string `json:"outcome"`
}

// receive takes Efipay's signed payment webhook: verify, store and apply in
// one transaction, and only then answer 2xx. Anything that stops the event
// from being stored answers non-2xx so that Efipay retries.
func (h *webhookHandler) receive(c echo.Context) error {
	ctx := c.Request().Context()
	if len(h.token) == 0 {
		h.metrics.AddWebhooks(webhookDisabled, 1)
		return &httperr.Error{Status: http.StatusServiceUnavailable, Code: "webhook_disabled",
			Message: "EFIPAY_WEBHOOK_TOKEN is not configured; webhooks are refused"}
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBody+1))
	if err != nil {
		h.metrics.AddWebhooks(webhookRejected, 1)
		return &httperr.Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "the request body could not be read"}
	}
	if len(body) > maxWebhookBody {
		h.metrics.AddWebhooks(webhookRejected, 1)
		return &httperr.Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "webhook bodies are limited to 1 MiB"}
	}
	if err := efipay.Verify(body, c.Request().Header.Get(efipay.SignatureHeader), h.token); err != nil {
		h.log.WarnContext(ctx, "webhook refused: bad signature", "reason", err.Error(), "bytes", len(body))
		h.metrics.AddWebhooks(webhookInvalidSignature, 1)
		detail := httperr.Detail{Field: "Signature", Rule: "hmac_sha256", Message: "must be the hex HMAC-SHA256 of the raw body keyed with the webhook token"}
		if errors.Is(err, efipay.ErrMissingSignature) {
			detail.Rule, detail.Message = "required", "the Signature header is missing"
		}
		return &httperr.Error{Status: http.StatusUnauthorized, Code: "invalid_signature", Message: "the webhook signature is missing or wrong", Details: []httperr.Detail{detail}}
	}
	res, err := h.svc.Settle(ctx, body)
	if err != nil {
		h.metrics.AddWebhooks(webhookError, 1)
		return err
	}
	h.metrics.AddWebhooks(res.Outcome, 1)
	return c.JSON(http.StatusOK, WebhookAnswer{Received: true, EventID: res.EventID, Outcome: res.Outcome})
}
